"""User-facing errors: one line saying what is wrong, where, and how to fix it.

The CLI turns every ``CityfocusError`` into that one line on stderr and exit code 2,
without a traceback. Anything else that escapes is a bug in cityfocus.
"""

from __future__ import annotations

from pathlib import Path


class CityfocusError(ValueError):
    """A problem with what the user gave us (a file, a parameter, a dataset)."""


class DataError(CityfocusError):
    """Bad city data: a missing or malformed file, inconsistent shapes, invalid values.

    Args:
        problem: what is wrong, e.g. ``"non-numeric value 'abc'"``.
        source: the file (or dataset name) the problem was found in.
        row: 1-based line number in a text file (header is line 1), if known.
        column: the column name or index, if known.
        hint: how to fix it, if there is a useful thing to say.
    """

    def __init__(
        self,
        problem: str,
        *,
        source: str | Path | None = None,
        row: int | None = None,
        column: str | int | None = None,
        hint: str | None = None,
    ) -> None:
        where = []
        if source is not None:
            where.append(str(source))
        if row is not None:
            where.append(f"line {row}")
        if column is not None:
            where.append(f"column {column!r}")
        message = f"{', '.join(where)}: {problem}" if where else problem
        if hint:
            message = f"{message} ({hint})"
        super().__init__(message)
        self.source = source
        self.row = row
        self.column = column

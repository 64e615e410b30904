"""CSV reading where every problem becomes a one-line DataError naming the file, line and column.

pandas pads short rows silently and reports long rows or non-numeric cells without a usable
location, so the raw bytes are scanned once (vectorised, quote-aware) before pandas parses them.
Only comma-separated files are read; a ``;``- or tab-separated one is named as such up front.
"""

from __future__ import annotations

import csv
import gzip
import io
import zlib
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cityfocus.errors import DataError

_NEWLINE, _CR, _QUOTE = 10, 13, 34
_BOM = b"\xef\xbb\xbf"
# separators that spreadsheets export instead of commas, and how a message names them
_OTHER_SEPARATORS = {";": ("';'", "semicolons"), "\t": ("tab", "tabs"), "|": ("'|'", "pipes")}


@dataclass(frozen=True)
class SourceTable:
    """A parsed table that still knows where each of its rows came from.

    Attributes:
        frame: the parsed rows (columns named by the header, or 1, 2, .. without one).
        lines: ``[rows]`` 1-based line number in the file of each row (header is line 1), or
            None for a binary table (Parquet), whose rows are then counted from 1.
        source: the file, for messages.
    """

    frame: pd.DataFrame
    lines: np.ndarray | None
    source: Path

    def error(
        self, problem: str, row: int, column: Any = None, hint: str | None = None
    ) -> DataError:
        """A DataError about data row ``row`` (0-based index into ``frame``)."""
        if self.lines is None:
            return DataError(
                f"{problem} (table row {row + 1})", source=self.source, column=column, hint=hint
            )
        return DataError(
            problem, source=self.source, row=int(self.lines[row]), column=column, hint=hint
        )

    def line(self, row: int) -> int | None:
        """The file line of data row ``row`` (0-based), or None for a binary table."""
        return None if self.lines is None else int(self.lines[row])

    def take(self, rows: slice | np.ndarray, columns: slice = slice(None)) -> SourceTable:
        """The data rows ``rows`` (numbered from 0 again) and ``columns``, keeping each row's
        file line."""
        lines = None if self.lines is None else self.lines[rows]
        return SourceTable(self.frame.iloc[rows, columns].reset_index(drop=True), lines,
                           self.source)


def read_bytes(path: str | Path) -> bytes:
    """The file's bytes, gunzipped when gzip-compressed; DataError when missing or empty."""
    path = Path(path)
    if not path.exists():
        raise DataError("file not found", source=path, hint="check the path")
    if path.is_dir():
        raise DataError("is a directory, expected a file", source=path)
    try:
        raw = path.read_bytes()
    except OSError as err:
        raise DataError(f"cannot read the file ({err.strerror})", source=path) from None
    if raw[:2] == b"\x1f\x8b":
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as err:
            raise DataError(f"corrupt gzip file ({err})", source=path) from None
    raw = raw.removeprefix(_BOM)
    if not raw.strip():
        raise DataError("file is empty", source=path)
    return raw


def scan_records(raw: bytes, source: Path, sep: str = ",") -> tuple[np.ndarray, int]:
    """Line numbers of the non-blank records and their common field count.

    A newline or separator inside double quotes belongs to the field. Raises DataError on an
    unterminated quote or on the first record whose field count differs from the first one's.
    """
    arr = np.frombuffer(raw, dtype=np.uint8)
    is_newline = arr == _NEWLINE
    is_sep = arr == ord(sep)
    quotes = np.flatnonzero(arr == _QUOTE)
    all_newlines = np.flatnonzero(is_newline)
    if len(quotes):
        if len(quotes) % 2:
            line = int(np.searchsorted(all_newlines, quotes[-1])) + 1
            raise DataError("unterminated quoted field", source=source, row=line)
        inside = (np.cumsum(arr == _QUOTE) % 2).astype(bool)
        is_newline &= ~inside
        is_sep &= ~inside
    ends = np.append(np.flatnonzero(is_newline), len(arr))
    starts = np.insert(ends[:-1] + 1, 0, 0)
    length = ends - starts
    last = np.clip(ends - 1, 0, max(len(arr) - 1, 0))
    blank = (length == 0) | ((length == 1) & (arr[last] == _CR))
    seps = np.flatnonzero(is_sep)
    fields = np.searchsorted(seps, ends) - np.searchsorted(seps, starts) + 1
    lines = np.searchsorted(all_newlines, starts) + 1
    keep = ~blank
    lines, fields = lines[keep], fields[keep]
    if len(lines) == 0:
        raise DataError("file is empty", source=source)
    ragged = np.flatnonzero(fields != fields[0])
    if len(ragged):
        i = int(ragged[0])
        raise DataError(
            f"{int(fields[i])} fields, expected {int(fields[0])} as on line {int(lines[0])}",
            source=source,
            row=int(lines[i]),
            hint="every row needs one value per column; leave a field empty for a missing value",
        )
    return lines, int(fields[0])


def read_csv(
    path: str | Path,
    *,
    header: bool = True,
    dtype: Mapping[Any, Any] | type | None = None,
    numeric: Sequence[str] | None = None,
    reserved: Sequence[str] = (),
) -> SourceTable:
    """Read a comma-separated CSV (optionally gzipped) after checking its layout.

    Args:
        path: the file.
        header: whether line 1 holds column names (unique once the spaces around them are
            stripped).
        dtype: explicit pandas dtypes, per column or for all (``str`` keeps ids as written).
        numeric: columns that must be numeric; the first non-numeric cell is reported by line
            and column. Empty cells and ``NA``-like strings become NaN.
        reserved: column names with a meaning to the reader (``timestamp``, ``zone``); the
            header may spell them in any letter case and they are renamed to these spellings.

    Raises:
        DataError: missing, empty, malformed or ragged file, a ``;``- or tab-separated file,
            duplicated column names, a header without data rows, or a non-numeric cell in a
            ``numeric`` column.
    """
    source = Path(path)
    raw = read_bytes(source)
    _check_separator(raw, source)
    lines, _ = scan_records(raw, source)
    names: list[str] | None = None
    if header:
        names = canonical_columns(
            _header_fields(raw, source, int(lines[0])), reserved, source, int(lines[0])
        )
        if len(lines) < 2:
            raise DataError("no data rows after the header", source=source)
    try:
        try:
            frame = _parse(raw, names, dtype)
        except ValueError as err:
            if dtype is None or isinstance(err, pd.errors.ParserError | UnicodeDecodeError):
                raise
            # a cell that does not fit its dtype: re-read untyped, numeric_matrix names the cell
            frame = _parse(raw, names, None)
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", source=source) from None
    except ValueError as err:
        raise DataError(f"malformed CSV ({_first_line(err)})", source=source) from None
    # header-less columns are numbered from 1, as a person counts fields
    frame.columns = pd.Index(names) if names is not None else pd.RangeIndex(1, frame.shape[1] + 1)
    row_lines = lines[1:] if header else lines
    if len(row_lines) != len(frame):
        raise DataError(
            f"malformed CSV ({len(frame)} rows parsed, {len(row_lines)} lines)", source=source
        )
    table = SourceTable(frame=frame, lines=row_lines, source=source)
    if numeric is not None:
        numeric_matrix(table, numeric)
    return table


def numeric_matrix(table: SourceTable, columns: Collection[Any]) -> np.ndarray:
    """``[rows, len(columns)]`` float64 (NaN where empty); DataError naming the line and column
    of the first non-number or infinite number."""
    out = np.empty((len(table.frame), len(columns)), dtype=np.float64)
    for k, column in enumerate(columns):
        series = table.frame[column]
        if pd.api.types.is_bool_dtype(series) or not pd.api.types.is_numeric_dtype(series):
            converted = pd.to_numeric(series, errors="coerce")
            bad = np.flatnonzero(converted.isna().to_numpy() & series.notna().to_numpy())
            if len(bad) or pd.api.types.is_bool_dtype(series):
                i = int(bad[0]) if len(bad) else 0
                raise table.error(
                    f"non-numeric value {str(series.iloc[i])!r}",
                    i,
                    column=column,
                    hint="use a number, or leave the field empty for a missing value",
                )
            series = converted
        out[:, k] = series.to_numpy(dtype=np.float64, na_value=np.nan)
        infinite = np.flatnonzero(np.isinf(out[:, k]))
        if len(infinite):
            i = int(infinite[0])
            raise table.error(
                f"infinite value {str(table.frame[column].iloc[i])!r}",
                i,
                column=column,
                hint="leave the field empty for a missing value",
            )
    return out


def canonical_columns(
    names: Sequence[Any], reserved: Sequence[str], source: Path, line: int | None = None
) -> list[str]:
    """Header names stripped of surrounding spaces, with ``reserved`` names matched ignoring
    letter case and renamed to their spelling there; DataError naming every name that then
    appears more than once (with its column numbers), and on an empty name."""
    spelling = {name.lower(): name for name in reserved}
    out = []
    for k, raw in enumerate(names, start=1):
        name = str(raw).strip()
        if name == "":
            raise DataError(f"empty column name (column {k})", source=source, row=line)
        out.append(spelling.get(name.lower(), name))
    repeated = repeated_positions(out)
    if repeated:
        described = "; ".join(
            _describe_repeat(name, [k + 1 for k in ks], names) for name, ks in repeated.items()
        )
        raise DataError(
            f"column names appear more than once in the header: {described}",
            source=source,
            row=line,
            hint="give each column its own name; in a wide matrix each zone id heads one column",
        )
    return out


def repeated_positions(labels: Sequence[str]) -> dict[str, list[int]]:
    """Each label that occurs more than once, with its 0-based positions (first seen first)."""
    positions: dict[str, list[int]] = {}
    for k, label in enumerate(labels):
        positions.setdefault(label, []).append(k)
    return {label: ks for label, ks in positions.items() if len(ks) > 1}


def _describe_repeat(name: str, columns: list[int], raw: Sequence[Any]) -> str:
    spellings = list(dict.fromkeys(str(raw[k - 1]).strip() for k in columns))
    numbers = ", ".join(str(k) for k in columns)
    if len(spellings) == 1:
        return f"{name!r} (columns {numbers})"
    both = ", ".join(repr(s) for s in spellings)
    return f"{both} (columns {numbers}, all read as {name!r}: names are matched ignoring case)"


def _check_separator(raw: bytes, source: Path) -> None:
    """DataError when the first record has no comma but another common separator."""
    body = raw.lstrip(b"\r\n")
    line = raw[: len(raw) - len(body)].count(b"\n") + 1
    first = body.split(b"\n", 1)[0]
    unquoted = b"".join(first.split(b'"')[::2])  # drop what is between double quotes
    if b"," in unquoted:
        return
    counts = {sep: unquoted.count(sep.encode()) for sep in _OTHER_SEPARATORS}
    sep = max(counts, key=counts.__getitem__)
    if counts[sep] == 0:
        return
    name, plural = _OTHER_SEPARATORS[sep]
    found = f"{counts[sep]} {plural if counts[sep] > 1 else name}"
    raise DataError(
        f"the file looks {name}-separated (line {line} has {found} and no comma); "
        "cityfocus reads comma-separated CSV",
        source=source,
        row=line,
        hint=f"convert it, e.g. pandas.read_csv({str(source)!r}, sep={sep!r})"
        ".to_csv('converted.csv', index=False), or save it from a spreadsheet as "
        "'CSV (comma delimited)'",
    )


def _parse(
    raw: bytes, names: list[str] | None, dtype: Mapping[Any, Any] | type | None
) -> pd.DataFrame:
    return pd.read_csv(
        io.BytesIO(raw),
        header=None if names is None else 0,
        names=names,
        dtype=dict(dtype) if isinstance(dtype, Mapping) else dtype,
        skip_blank_lines=True,
        low_memory=False,
    )


def _header_fields(raw: bytes, source: Path, line: int) -> list[str]:
    """Column names as written in the header record (pandas would rename duplicates)."""
    body = raw.lstrip(b"\r\n")
    end = body.find(b"\n")
    first = body if end < 0 else body[:end]
    try:
        text = first.decode("utf-8").rstrip("\r")
    except UnicodeDecodeError:
        raise DataError("header is not UTF-8 text", source=source, row=line) from None
    return next(csv.reader([text]))


def _first_line(err: Exception) -> str:
    return str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__

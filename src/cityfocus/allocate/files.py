"""Allocation files: the demand file ``cityfocus allocate --demand`` reads, and an allocation
as CSV or JSON text (written by the caller, e.g. through ``cityfocus.outputs``)."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import numpy as np

from cityfocus.allocate.problem import Allocation
from cityfocus.errors import CityfocusError, DataError

ALLOCATION_FORMATS = ("csv", "json")


def read_demand_file(path: Path) -> tuple[list[str], np.ndarray]:
    """Zone ids and demand ``[N]`` from a CSV with columns ``zone,demand`` (header line first,
    any letter case, other columns ignored, so ``cityfocus predict --out`` files read as they
    are) or from one number per line (zones are then numbered from 0). Blank lines and lines
    starting with ``#`` are skipped.

    Raises:
        DataError: missing file, another delimiter, missing column, a zone listed twice, or
            a value that is not a finite number >= 0 (with the line number and zone).
    """
    lines = _content_lines(path)
    first_line, first = lines[0]
    if "," not in first and _is_number(first):
        zones = [str(k) for k in range(len(lines))]
        return zones, np.array([_demand(ln, path, i, z) for (i, ln), z in zip(lines, zones,
                                                                          strict=True)])
    for sep in (";", "\t", "|"):
        if sep in first and "," not in first:
            shown = "tab" if sep == "\t" else repr(sep)
            raise DataError(f"the header {first!r} is {shown}-separated; cityfocus reads "
                            "comma-separated files", source=path, row=first_line,
                            hint="write it as zone,demand with commas")
    header = [h.strip().lower() for h in next(csv.reader([first]))]
    for col in ("zone", "demand"):
        if col not in header:
            raise DataError(
                f"no {col!r} column (header is {','.join(header)})",
                source=path,
                row=first_line,
                hint="use columns zone,demand or one number per line",
            )
    iz, idem = header.index("zone"), header.index("demand")
    zones, values = [], []
    line_of: dict[str, int] = {}
    for i, ln in lines[1:]:
        cells = next(csv.reader([ln]))
        if len(cells) <= max(iz, idem):
            raise DataError(f"expected {len(header)} cells, got {len(cells)}", source=path, row=i)
        zone = cells[iz].strip()
        if zone in line_of:
            raise DataError(f"zone {zone!r} is listed twice (lines {line_of[zone]} and {i})",
                            source=path, row=i, column="zone",
                            hint="give each zone once")
        line_of[zone] = i
        zones.append(zone)
        values.append(_demand(cells[idem], path, i, zone, column="demand"))
    if not zones:
        raise DataError("no demand values after the header", source=path)
    return zones, np.array(values)


def _content_lines(path: Path) -> list[tuple[int, str]]:
    """``(line number, stripped text)`` of the non-blank, non-comment lines; at least one."""
    if path.is_dir():
        raise DataError("is a folder", source=path, hint="give a CSV file")
    if not path.is_file():
        raise DataError(
            "file not found", source=path, hint="give a CSV or a one-number-per-line file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError("is not a UTF-8 text file", source=path,
                        hint="give a CSV with columns zone,demand") from None
    lines = [(i, ln.strip()) for i, ln in enumerate(text.splitlines(), 1)]
    lines = [(i, ln) for i, ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise DataError("no demand values", source=path)
    return lines


def _demand(text: str, path: Path, row: int, zone: str, column: str | None = None) -> float:
    """One demand cell as a finite number >= 0, or a DataError naming line and zone."""
    if not _is_number(text):
        raise DataError(f"{text.strip()!r} is not a number", source=path, row=row,
                        column=column)
    value = float(text)
    if not np.isfinite(value) or value < 0:
        raise DataError(f"demand {text.strip()} of zone {zone!r} is not a finite number >= 0",
                        source=path, row=row, column=column)
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def allocation_rows(zones: list[str], demand: np.ndarray,
                    allocation: Allocation) -> list[dict[str, str | float]]:
    """One row per zone: ``zone``, ``demand``, ``units`` (whole units) or ``share``, and
    ``marginal`` (the zone's marginal value), in zone order."""
    col = "units" if allocation.units else "share"
    return [
        {"zone": z, "demand": float(d), col: float(w), "marginal": float(m)}
        for z, d, w, m in zip(zones, demand, allocation.w, allocation.marginal, strict=True)
    ]


def format_allocation(zones: list[str], demand: np.ndarray, allocation: Allocation,
                      budget: float, fmt: str) -> str:
    """An allocation (one, not batched) as file text.

    Args:
        zones: ``[N]`` zone ids; demand: ``[N]`` the demand it was solved for.
        allocation: the solution; budget: the total that was split.
        fmt: ``"csv"`` (the ``allocation_rows``, header first) or ``"json"`` (the family,
            sense, budget, units, objective and shadow price, then the rows under ``zones``).
    """
    rows = allocation_rows(zones, demand, allocation)
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
        return buffer.getvalue()
    if fmt == "json":
        return json.dumps(
            {
                "family": allocation.family,
                "sense": allocation.sense,
                "budget": budget,
                "units": allocation.units,
                "objective": allocation.objective,
                "shadow_price": allocation.shadow_price,
                "zones": rows,
            },
            indent=2,
        ) + "\n"
    raise CityfocusError(f"unknown allocation format {fmt!r}; use one of "
                         f"{', '.join(ALLOCATION_FORMATS)}")

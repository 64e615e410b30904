"""The two side files a city gives about its zones: a zone table and an adjacency matrix.

Both are matched to the zone ids of the data file they accompany; every problem is a one-line
DataError naming the file, line and zone. Guide: docs/data-format.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from cityfocus.data.citydata import ZONE_COLUMNS
from cityfocus.data.readers.checked_csv import (
    SourceTable,
    numeric_matrix,
    read_csv,
    repeated_positions,
)
from cityfocus.errors import DataError

COORDINATE_RANGE = {"lat": 90.0, "lon": 180.0}  # WGS84 degrees
_LISTED = 10  # zone ids named in one message before "and k more"


def read_zones_csv(path: str | Path, zone_ids: Sequence[str]) -> pd.DataFrame:
    """The zone table for ``zone_ids`` (in that order) from a CSV with columns ``id``
    (required) and optionally ``name``, ``lat``, ``lon`` (WGS84 degrees).

    Column names are matched ignoring letter case; other columns are ignored, and so are rows
    for zones the data does not have. An empty ``name`` becomes the id; an empty ``lat``/``lon``
    is an unknown position.

    Returns:
        ``[N]`` rows with columns ``id, name, lat, lon``.

    Raises:
        DataError: no ``id`` column, an empty or repeated id, ``lat`` without ``lon`` (or the
            reverse), a coordinate that is not a number or out of range, or a zone of the
            data missing from the file.
    """
    path = Path(path)
    table = read_csv(path, dtype={"id": str, "name": str}, reserved=ZONE_COLUMNS)
    frame = table.frame
    if "id" not in frame.columns:
        raise DataError(
            f"no 'id' column; columns are {list(frame.columns)}",
            source=path,
            row=1,
            hint="a zones file has columns id (required), name, lat, lon",
        )
    ids = frame["id"].str.strip()
    empty = np.flatnonzero((ids.isna() | (ids == "")).to_numpy())
    if len(empty):
        raise table.error("empty zone id", int(empty[0]), column="id")
    _refuse_repeated_ids(table, ids)
    coordinates = [c for c in ("lat", "lon") if c in frame.columns]
    if len(coordinates) == 1:
        raise DataError(
            f"column {coordinates[0]!r} without its partner",
            source=path,
            row=1,
            hint="give both lat and lon, or neither",
        )
    row_of = pd.Series(np.arange(len(ids)), index=ids.to_numpy())
    missing = [z for z in zone_ids if z not in row_of.index]
    if missing:
        raise DataError(
            f"zones of the data missing from the zones file: {_ids(missing)}",
            source=path,
            hint="add a row for each, with its id exactly as in the data, in the same letter case",
        )
    rows = row_of[list(zone_ids)].to_numpy()
    picked = table.take(rows)
    out = pd.DataFrame({"id": list(zone_ids)})
    out["name"] = out["id"]
    if "name" in frame.columns:
        names = picked.frame["name"].str.strip()
        out["name"] = names.where(names.notna() & (names != ""), out["id"]).to_numpy(dtype=object)
    for column in ("lat", "lon"):
        out[column] = _coordinate(picked, column) if coordinates else np.nan
    return out


def read_adjacency_csv(path: str | Path, zone_ids: Sequence[str]) -> np.ndarray:
    """``[N, N]`` non-negative weights for ``zone_ids`` from a CSV, with or without a header of
    zone ids (row i, column j: the link from zone i to zone j).

    Without a header the file has N rows of N numbers, in zone order. With a header (N + 1
    rows) line 1 names the zones of the columns, in any order, and rows follow the same order;
    a first column of row labels is allowed (then the header has N + 1 fields).
    """
    path = Path(path)
    table = read_csv(path, header=False, dtype=str)
    n = len(zone_ids)
    rows, cols = table.frame.shape
    first = table.frame.iloc[0]
    has_header = rows == n + 1 or bool(
        (pd.to_numeric(first, errors="coerce").isna() & first.notna()).any()
    )
    size = f"{rows - 1} x {cols} plus a header row" if has_header else f"{rows} x {cols}"
    if rows - has_header != n or cols not in ((n, n + 1) if has_header else (n,)):
        raise DataError(
            f"adjacency is {size}, expected {n} x {n} for {n} zones "
            "(optionally with a header row of zone ids and a row-label column)",
            source=path,
        )
    body = table.take(slice(rows - n, None), slice(cols - n, None))
    matrix = numeric_matrix(body, body.frame.columns)
    header = [str(v).strip() for v in table.frame.iloc[0, cols - n :]] if has_header else None
    if header is not None:
        _check_adjacency_header(table, header, zone_ids)
    order = list(zone_ids) if header is None else header
    negative = np.argwhere(matrix < 0)
    if len(negative):
        i, j = (int(k) for k in negative[0])
        raise body.error(
            f"negative weight {matrix[i, j]:g} from zone {order[i]!r} to zone {order[j]!r}",
            i,
            column=int(body.frame.columns[j]),
            hint="weights are >= 0; 0 means no link",
        )
    if header is None:
        return matrix
    if cols == n + 1:
        labels = [str(v).strip() for v in table.frame.iloc[1:, 0]]
        for k, (label, zone) in enumerate(zip(labels, header, strict=True)):
            if label != zone:
                raise DataError(
                    f"row label {label!r} should be {zone!r} (rows follow the header's order)",
                    source=path,
                    row=table.line(k + 1),
                    column=1,
                )
    position = {zone: i for i, zone in enumerate(zone_ids)}
    placed = np.array([position[z] for z in header])
    out = np.empty_like(matrix)
    out[np.ix_(placed, placed)] = matrix
    return out


def _check_adjacency_header(table: SourceTable, header: list[str], zone_ids: Sequence[str]) -> None:
    """Every header id is a zone of the data, once."""
    first_column = len(table.frame.columns) - len(header) + 1
    line = table.line(0)
    known = set(zone_ids)
    for k, zone in enumerate(header):
        if zone not in known:
            raise DataError(
                f"unknown zone {zone!r} in the header",
                source=table.source,
                row=line,
                column=first_column + k,
                hint="the header names the data's zone ids, in the same letter case",
            )
    repeated = repeated_positions(header)
    if repeated:
        described = "; ".join(
            f"{zone!r} (columns {', '.join(str(first_column + k) for k in ks)})"
            for zone, ks in repeated.items()
        )
        missing = [z for z in zone_ids if z not in header]
        raise DataError(
            f"zone ids appear more than once in the header: {described}",
            source=table.source,
            row=line,
            hint=f"each zone heads one column; missing: {_ids(missing)}",
        )


def _refuse_repeated_ids(table: SourceTable, ids: pd.Series) -> None:
    repeated = repeated_positions(ids.tolist())
    if not repeated:
        return
    lines = table.lines if table.lines is not None else np.arange(1, len(ids) + 1)
    described = "; ".join(
        f"{zone!r} (lines {', '.join(str(int(lines[i])) for i in rows)})"
        for zone, rows in repeated.items()
    )
    raise DataError(
        f"zone ids appear more than once: {described}",
        source=table.source,
        hint="give each zone one row",
    )


def _coordinate(table: SourceTable, column: str) -> np.ndarray:
    """``[N]`` degrees (NaN where empty); DataError naming a non-number or one out of range."""
    values = numeric_matrix(table, [column])[:, 0]
    limit = COORDINATE_RANGE[column]
    outside = np.flatnonzero(np.abs(values) > limit)
    if len(outside):
        i = int(outside[0])
        raise table.error(
            f"{column} {values[i]:g} is outside -{limit:g}..{limit:g}",
            i,
            column=column,
            hint="lat and lon are WGS84 degrees; check for swapped or projected coordinates",
        )
    return values


def _ids(ids: Sequence[str]) -> str:
    shown = ", ".join(repr(z) for z in ids[:_LISTED])
    return shown if len(ids) <= _LISTED else f"{shown} and {len(ids) - _LISTED} more"

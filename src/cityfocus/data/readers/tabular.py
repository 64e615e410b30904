"""The two general formats a city hands over: a long table and a wide matrix.

Long table (CSV or Parquet): columns ``timestamp, zone, <feature>...``, one row per time step
and zone. Wide matrix (CSV): column ``timestamp`` (optional) then one column per zone, one
feature. Either may come with a zones file (ids, names, coordinates) and an adjacency CSV.
Missing rows or empty cells become ``mask == False``; gaps in the time index become fully
unobserved steps. Guide: docs/data-format.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.data.readers.checked_csv import (
    SourceTable,
    canonical_columns,
    numeric_matrix,
    read_csv,
)
from cityfocus.data.readers.time_grid import (
    TIMESTAMP,
    parse_timestamps,
    place_rows,
    regular_grid,
)
from cityfocus.data.readers.zone_files import read_adjacency_csv, read_zones_csv
from cityfocus.data.timestep import format_freq, parse_freq
from cityfocus.errors import DataError

ZONE = "zone"
WIDE_FEATURE = "value"  # the feature name of a wide matrix when no target is given
MAX_ENTRIES = 500_000_000  # T x N x F cells; beyond this the timestamps are almost surely wrong

__all__ = ["read_adjacency_csv", "read_long_table", "read_table", "read_wide_matrix"]


def read_table(
    path: str | Path,
    *,
    target: str | None = None,
    start: str | None = None,
    freq: str | None = None,
    zones: str | Path | None = None,
    adjacency: str | Path | None = None,
    name: str | None = None,
) -> CityData:
    """A long table (has ``timestamp`` and ``zone`` columns) or else a wide matrix.

    Args:
        path: ``.csv`` (optionally gzipped) or ``.parquet``.
        target: long table: the target feature (default: the first feature column); wide
            matrix: the name of its one feature (default ``value``).
        start: wide matrix without a timestamp column: the first time stamp.
        freq: the step (``5min``, ``h``, ``D``, ``7D``). Default: the most common gap between
            timestamps, and a timestamp off that grid is an error. When given, timestamps are
            floored onto its grid and rows sharing a step (and zone) are averaged.
        zones: optional zones CSV (``id``, ``name``, ``lat``, ``lon``; see ``read_zones_csv``).
        adjacency: optional ``[N, N]`` adjacency CSV (see ``read_adjacency_csv``).
        name: dataset name (default: the file's stem).
    """
    path = Path(path)
    table = _load(path)
    columns = list(table.frame.columns)
    if TIMESTAMP in columns and ZONE in columns:
        if start is not None:
            raise DataError(
                "option 'start' is for wide matrices without timestamps; this is a long table",
                source=path,
            )
        return _long(table, target=target, freq=freq, zones=zones, adjacency=adjacency, name=name)
    if ZONE in columns:
        raise DataError(
            f"a 'zone' column but no 'timestamp' column; columns are {columns}",
            source=path,
            row=1,
            hint="a long table needs columns timestamp, zone, then features",
        )
    return _wide(
        table, target=target, start=start, freq=freq, zones=zones, adjacency=adjacency, name=name
    )


def read_long_table(
    path: str | Path,
    *,
    target: str | None = None,
    freq: str | None = None,
    zones: str | Path | None = None,
    adjacency: str | Path | None = None,
    name: str | None = None,
) -> CityData:
    """A long table ``timestamp, zone, <feature>...`` (CSV or Parquet) as CityData.

    Zones keep the order of first appearance; every column other than ``timestamp`` and
    ``zone`` is a numeric feature. A missing (timestamp, zone) row or an empty cell is
    unobserved. Options as in ``read_table``. Raises DataError on a missing column, a bad date,
    a timestamp off the grid, a non-number, a duplicated (timestamp, zone) pair, or a zones or
    adjacency file that does not match the zones.
    """
    path = Path(path)
    return _long(_load(path), target=target, freq=freq, zones=zones, adjacency=adjacency, name=name)


def read_wide_matrix(
    path: str | Path,
    *,
    target: str | None = None,
    start: str | None = None,
    freq: str | None = None,
    zones: str | Path | None = None,
    adjacency: str | Path | None = None,
    name: str | None = None,
) -> CityData:
    """A wide matrix CSV (rows = time, columns = zones, one feature) as CityData ``[T, N, 1]``.

    The first column is ``timestamp``; without it, ``start`` and ``freq`` give the time stamps.
    ``target`` names the one feature (default ``value``); other options as in ``read_table``.
    Raises DataError on repeated zone ids or timestamps, non-numbers, a timestamp off the grid,
    or a zones or adjacency file that does not match the zones.
    """
    path = Path(path)
    return _wide(
        _load(path),
        target=target,
        start=start,
        freq=freq,
        zones=zones,
        adjacency=adjacency,
        name=name,
    )


# -- builders --------------------------------------------------------------------------------
def _load(path: Path) -> SourceTable:
    if path.suffix.lower() == ".parquet":
        return _load_parquet(path)
    return read_csv(path, dtype={TIMESTAMP: str, ZONE: str}, reserved=(TIMESTAMP, ZONE))


def _load_parquet(path: Path) -> SourceTable:
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.exists():
        raise DataError("file not found", source=path, hint="check the path")
    try:
        frame = pq.read_table(path).to_pandas()
    except (OSError, pa.ArrowException) as err:
        raise DataError(f"not a readable Parquet file ({err})", source=path) from None
    if frame.empty:
        raise DataError("table has no rows", source=path)
    frame.columns = pd.Index(canonical_columns(list(frame.columns), (TIMESTAMP, ZONE), path))
    if ZONE in frame.columns:
        frame[ZONE] = frame[ZONE].astype("str").where(frame[ZONE].notna())
    return SourceTable(frame=frame, lines=None, source=path)


def _long(
    table: SourceTable,
    *,
    target: str | None,
    freq: str | None,
    zones: str | Path | None,
    adjacency: str | Path | None,
    name: str | None,
) -> CityData:
    frame = table.frame
    for column in (TIMESTAMP, ZONE):
        if column not in frame.columns:
            raise DataError(
                f"no {column!r} column; columns are {list(frame.columns)}",
                source=table.source,
                hint="a long table needs timestamp, zone, features",
            )
    features = [str(c) for c in frame.columns if c not in (TIMESTAMP, ZONE)]
    if not features:
        raise DataError("no feature columns besides timestamp and zone", source=table.source)
    if target is not None and target not in features:
        raise DataError(
            f"target {target!r} is not a column; features are {features}",
            source=table.source,
            hint=_case_hint(target, features),
        )
    numbers = numeric_matrix(table, features)
    zone = frame[ZONE]
    missing_zone = np.flatnonzero(zone.isna().to_numpy())
    if len(missing_zone):
        raise table.error("missing zone", int(missing_zone[0]), column=ZONE)
    zone_codes, zone_ids = pd.factorize(zone.astype(str).str.strip())
    stamps = parse_timestamps(table, TIMESTAMP)
    _check_unique_pairs(table, stamps, zone_codes)
    grid, step_of_row = regular_grid(stamps, freq, table)
    T, N, F = len(grid), len(zone_ids), len(features)
    _check_size(T, N, F, table.source)
    values = place_rows(numbers, step_of_row, zone_codes, T, N)
    return _city(
        table,
        values,
        grid,
        stamps,
        step_of_row,
        [str(z) for z in zone_ids],
        features,
        target=target,
        zones=zones,
        adjacency=adjacency,
        name=name,
        layout="long table",
    )


def _wide(
    table: SourceTable,
    *,
    target: str | None,
    start: str | None,
    freq: str | None,
    zones: str | Path | None,
    adjacency: str | Path | None,
    name: str | None,
) -> CityData:
    frame = table.frame
    columns = [str(c) for c in frame.columns]
    has_time = columns[0] == TIMESTAMP
    if TIMESTAMP in columns[1:]:
        raise DataError(
            f"'timestamp' is column {columns.index(TIMESTAMP) + 1}; in a wide matrix it must "
            "come first",
            source=table.source,
            row=1,
            hint="move it to the first column, or add a 'zone' column for a long table",
        )
    zone_ids = columns[1:] if has_time else columns
    if not zone_ids:
        raise DataError("no zone columns besides the timestamp", source=table.source, row=1)
    numbers = numeric_matrix(table, list(frame.columns[1:] if has_time else frame.columns))
    if has_time:
        if start is not None:
            raise DataError(
                "the file has a timestamp column; drop the 'start' option", source=table.source
            )
        stamps = parse_timestamps(table, frame.columns[0])
        _check_unique_stamps(table, stamps)
        grid, step_of_row = regular_grid(stamps, freq, table)
    else:
        if start is None or freq is None:
            raise DataError(
                f"no 'timestamp' column (first column is {frame.columns[0]!r})",
                source=table.source,
                row=1,
                hint="add a timestamp column, or give start and freq",
            )
        step = parse_freq(freq, table.source)
        try:
            first = pd.Timestamp(start)
        except ValueError:
            raise DataError(
                f"start {start!r} is not a date", source=table.source, hint="e.g. 2024-03-01 08:00"
            ) from None
        grid = pd.date_range(first, periods=len(frame), freq=step)
        stamps, step_of_row = grid, np.arange(len(frame))
    T, N = len(grid), len(zone_ids)
    _check_size(T, N, 1, table.source)
    values = place_rows(numbers, step_of_row, None, T, N)
    return _city(
        table,
        values,
        grid,
        stamps,
        step_of_row,
        zone_ids,
        [target or WIDE_FEATURE],
        target=target,
        zones=zones,
        adjacency=adjacency,
        name=name,
        layout="wide matrix",
    )


def _city(
    table: SourceTable,
    values: np.ndarray,
    grid: pd.DatetimeIndex,
    stamps: pd.DatetimeIndex,
    step_of_row: np.ndarray,
    zone_ids: list[str],
    features: list[str],
    *,
    target: str | None,
    zones: str | Path | None,
    adjacency: str | Path | None,
    name: str | None,
    layout: str,
) -> CityData:
    """CityData from a placed ``[T, N, F]`` array, with the zones and adjacency files read
    against ``zone_ids`` and provenance in ``meta``."""
    assert grid.freq is not None  # both callers build the grid with a fixed step
    step = pd.Timedelta(grid.freq.nanos)
    meta: dict[str, object] = {"source": str(table.source), "format": layout}
    floored = int((stamps.as_unit("ns").asi8 != grid.as_unit("ns").asi8[step_of_row]).sum())
    if floored:
        meta["resampled"] = (
            f"{floored} row{'s' * (floored > 1)} floored onto the {format_freq(step)} grid; "
            "rows sharing a step averaged"
        )
    if zones is not None:
        meta["zones_file"] = str(zones)
    if adjacency is not None:
        meta["adjacency_file"] = str(adjacency)
    return CityData(
        values,
        grid,
        zones=zone_ids if zones is None else read_zones_csv(zones, zone_ids),
        features=features,
        target=target,
        adjacency=None if adjacency is None else read_adjacency_csv(adjacency, zone_ids),
        freq=step,
        name=name or table.source.stem,
        meta=meta,
    )


# -- checks ----------------------------------------------------------------------------------
def _case_hint(name: str, choices: list[str]) -> str | None:
    same = [c for c in choices if c.lower() == name.lower()]
    return f"did you mean {same[0]!r}? feature names are case-sensitive" if same else None


def _check_unique_stamps(table: SourceTable, stamps: pd.DatetimeIndex) -> None:
    repeated = np.flatnonzero(stamps.duplicated())
    if len(repeated):
        i = int(repeated[0])
        first = int(np.flatnonzero(stamps == stamps[i])[0])
        raise table.error(
            f"duplicated timestamp {stamps[i]} (first on line {table.lines[first]})"
            if table.lines is not None
            else f"duplicated timestamp {stamps[i]}",
            i,
            column=table.frame.columns[0],
        )


def _check_unique_pairs(
    table: SourceTable, stamps: pd.DatetimeIndex, zone_codes: np.ndarray
) -> None:
    pairs = pd.DataFrame({"t": stamps.as_unit("ns").asi8, "zone": zone_codes})
    repeated = np.flatnonzero(pairs.duplicated().to_numpy())
    if len(repeated):
        i = int(repeated[0])
        same = (pairs["t"] == pairs["t"].iloc[i]) & (pairs["zone"] == pairs["zone"].iloc[i])
        first = int(np.flatnonzero(same.to_numpy())[0])
        zone = table.frame[ZONE].iloc[i]
        where = f", first on line {table.lines[first]}" if table.lines is not None else ""
        raise table.error(
            f"duplicated row for timestamp {stamps[i]} and zone {zone!r}{where}",
            i,
            column=TIMESTAMP,
            hint="give one row per timestamp and zone",
        )


def _check_size(T: int, N: int, F: int, source: Path) -> None:
    if T * N * F > MAX_ENTRIES:
        raise DataError(
            f"{T} steps x {N} zones x {F} features is too large; the timestamps "
            "are probably at the wrong step",
            source=source,
            hint="give 'freq'",
        )

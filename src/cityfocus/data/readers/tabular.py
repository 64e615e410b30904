"""The two general formats a city hands over: a long table and a wide matrix.

Long table (CSV or Parquet): columns ``timestamp, zone, <feature>...``, one row per time step
and zone. Wide matrix (CSV): column ``timestamp`` (optional) then one column per zone, one
feature. Either may come with an adjacency CSV. Missing rows or empty cells become
``mask == False``; gaps in the time index become fully unobserved steps. Guide: docs/data-format.md.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.data.readers.checked_csv import SourceTable, numeric_matrix, read_csv
from cityfocus.errors import DataError

TIMESTAMP, ZONE = "timestamp", "zone"
MAX_ENTRIES = 500_000_000  # T x N x F cells; beyond this the timestamps are almost surely wrong


def read_table(
    path: str | Path,
    *,
    target: str | None = None,
    feature: str | None = None,
    start: str | None = None,
    freq: str | None = None,
    adjacency: str | Path | None = None,
    name: str | None = None,
) -> CityData:
    """A long table (has ``timestamp`` and ``zone`` columns) or else a wide matrix.

    Args:
        path: ``.csv`` (optionally gzipped) or ``.parquet`` (long table only).
        target: long table: the target feature (default: the first feature column).
        feature: wide matrix: the name of its single feature (default ``value``).
        start, freq: wide matrix without a timestamp column: first time stamp and step.
            ``freq`` also fixes the step of timestamped files (default: the smallest step seen).
        adjacency: optional ``[N, N]`` adjacency CSV (see ``read_adjacency_csv``).
        name: dataset name (default: the file's stem).
    """
    path = Path(path)
    table = _load(path)
    if TIMESTAMP in table.frame.columns and ZONE in table.frame.columns:
        for option, value in (("feature", feature), ("start", start)):
            if value is not None:
                raise DataError(
                    f"option {option!r} is for wide matrices; this is a long table", source=path
                )
        return _long(table, target=target, freq=freq, adjacency=adjacency, name=name)
    if target is not None:
        raise DataError(
            "option 'target' is for long tables; a wide matrix has one feature "
            "(name it with 'feature')",
            source=path,
        )
    return _wide(
        table, feature=feature or "value", start=start, freq=freq, adjacency=adjacency, name=name
    )


def read_long_table(
    path: str | Path,
    *,
    target: str | None = None,
    freq: str | None = None,
    adjacency: str | Path | None = None,
    name: str | None = None,
) -> CityData:
    """A long table ``timestamp, zone, <feature>...`` (CSV or Parquet) as CityData.

    Zones keep the order of first appearance; every column other than ``timestamp`` and
    ``zone`` is a numeric feature. A missing (timestamp, zone) row or an empty cell is
    unobserved. Raises DataError on a missing column, a bad date, a non-number, a duplicated
    (timestamp, zone) pair, or an adjacency of the wrong size.
    """
    path = Path(path)
    return _long(_load(path), target=target, freq=freq, adjacency=adjacency, name=name)


def read_wide_matrix(
    path: str | Path,
    *,
    feature: str = "value",
    start: str | None = None,
    freq: str | None = None,
    adjacency: str | Path | None = None,
    name: str | None = None,
) -> CityData:
    """A wide matrix CSV (rows = time, columns = zones, one feature) as CityData ``[T, N, 1]``.

    The first column is ``timestamp``; without it, ``start`` and ``freq`` give the time stamps.
    Raises DataError on duplicated timestamps, non-numbers, or an adjacency of the wrong size.
    """
    path = Path(path)
    return _wide(
        _load(path), feature=feature, start=start, freq=freq, adjacency=adjacency, name=name
    )


def read_adjacency_csv(path: str | Path, zone_ids: list[str]) -> np.ndarray:
    """``[N, N]`` weights for ``zone_ids`` from a CSV, with or without a header of zone ids.

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
    body = SourceTable(
        table.frame.iloc[rows - n :, cols - n :].reset_index(drop=True),
        table.lines[rows - n :],
        path,
    )
    matrix = numeric_matrix(body, body.frame.columns)
    if not has_header:
        return matrix
    header = [str(v).strip() for v in table.frame.iloc[0, cols - n :]]
    position = {zone: i for i, zone in enumerate(zone_ids)}
    for k, zone in enumerate(header):
        if zone not in position:
            raise DataError(
                f"unknown zone {zone!r} in the header",
                source=path,
                row=int(table.lines[0]),
                column=int(table.frame.columns[k + cols - n]),
            )
    if len(set(header)) != n:
        raise DataError("a zone appears twice in the header", source=path, row=int(table.lines[0]))
    if cols == n + 1:
        labels = [str(v).strip() for v in table.frame.iloc[1:, 0]]
        for k, (label, zone) in enumerate(zip(labels, header, strict=True)):
            if label != zone:
                raise DataError(
                    f"row label {label!r} should be {zone!r} (rows follow the header's order)",
                    source=path,
                    row=int(table.lines[k + 1]),
                    column=1,
                )
    order = np.array([position[z] for z in header])
    out = np.empty_like(matrix)
    out[np.ix_(order, order)] = matrix
    return out


# -- builders --------------------------------------------------------------------------------
def _load(path: Path) -> SourceTable:
    if path.suffix.lower() == ".parquet":
        return _load_parquet(path)
    return read_csv(path, dtype={TIMESTAMP: str, ZONE: str})


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
    if ZONE in frame.columns:
        frame[ZONE] = frame[ZONE].astype("str").where(frame[ZONE].notna())
    return SourceTable(frame=frame, lines=None, source=path)


def _long(
    table: SourceTable,
    *,
    target: str | None,
    freq: str | None,
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
            f"target {target!r} is not a column; features are {features}", source=table.source
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
    values = np.full((T, N, F), np.nan, dtype=np.float32)
    values[step_of_row, zone_codes] = numbers
    ids = [str(z) for z in zone_ids]
    return CityData(
        values,
        grid,
        zones=ids,
        features=features,
        target=target,
        adjacency=None if adjacency is None else read_adjacency_csv(adjacency, ids),
        freq=pd.Timedelta(grid.freq),
        name=name or table.source.stem,
        meta={"source": str(table.source), "format": "long table"},
    )


def _wide(
    table: SourceTable,
    *,
    feature: str,
    start: str | None,
    freq: str | None,
    adjacency: str | Path | None,
    name: str | None,
) -> CityData:
    frame = table.frame
    has_time = str(frame.columns[0]).strip().lower() == TIMESTAMP
    zones = (
        [str(c).strip() for c in frame.columns[1:]] if has_time else [str(c) for c in frame.columns]
    )
    if not zones:
        raise DataError("no zone columns besides the timestamp", source=table.source, row=1)
    numbers = numeric_matrix(table, list(frame.columns[1:] if has_time else frame.columns))
    if has_time:
        if start is not None:
            raise DataError(
                "the file has a timestamp column; drop the 'start' option", source=table.source
            )
        stamps = parse_timestamps(table, frame.columns[0])
        repeated = np.flatnonzero(stamps.duplicated())
        if len(repeated):
            i = int(repeated[0])
            first = int(np.flatnonzero(stamps == stamps[i])[0])
            raise table.error(
                f"duplicated timestamp {stamps[i]} (first on line {table.lines[first]})"
                if table.lines is not None
                else f"duplicated timestamp {stamps[i]}",
                i,
                column=frame.columns[0],
            )
        grid, step_of_row = regular_grid(stamps, freq, table)
    else:
        if start is None or freq is None:
            raise DataError(
                f"no 'timestamp' column (first column is {frame.columns[0]!r})",
                source=table.source,
                row=1,
                hint="add a timestamp column, or give start and freq",
            )
        step = _fixed_step(freq, table.source)
        grid = pd.date_range(pd.Timestamp(start), periods=len(frame), freq=step)
        step_of_row = np.arange(len(frame))
    T, N = len(grid), len(zones)
    _check_size(T, N, 1, table.source)
    values = np.full((T, N, 1), np.nan, dtype=np.float32)
    values[step_of_row, :, 0] = numbers
    return CityData(
        values,
        grid,
        zones=zones,
        features=[feature],
        target=feature,
        adjacency=None if adjacency is None else read_adjacency_csv(adjacency, zones),
        freq=pd.Timedelta(grid.freq),
        name=name or table.source.stem,
        meta={"source": str(table.source), "format": "wide matrix"},
    )


# -- time ------------------------------------------------------------------------------------
def parse_timestamps(table: SourceTable, column: str) -> pd.DatetimeIndex:
    """The column as dates; DataError naming the line of the first empty or unreadable one."""
    raw = table.frame[column]
    empty = np.flatnonzero(raw.isna().to_numpy())
    if len(empty):
        raise table.error("missing timestamp", int(empty[0]), column=column)
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.DatetimeIndex(raw)
    text = raw.astype(str).str.strip()
    stamps = pd.to_datetime(text, format="ISO8601", errors="coerce")
    if stamps.isna().any():
        stamps = pd.to_datetime(text, format="mixed", errors="coerce")
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        raise table.error(
            f"not a date: {text.iloc[i]!r}",
            i,
            column=column,
            hint="use ISO dates such as 2024-03-01 08:00",
        )
    try:
        return pd.DatetimeIndex(stamps)
    except (TypeError, ValueError) as err:  # e.g. a mix of time zones
        raise DataError(
            f"inconsistent timestamps ({err})", source=table.source, column=column
        ) from None


def regular_grid(
    stamps: pd.DatetimeIndex, freq: str | None, table: SourceTable
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The regular time grid covering ``stamps`` and each row's step on it.

    The step is ``freq`` or the smallest gap between distinct timestamps; a timestamp off the
    grid is a DataError naming its line.
    """
    ns = stamps.as_unit("ns").asi8
    distinct = np.unique(ns)
    if freq is not None:
        step = _fixed_step(freq, table.source)
    elif len(distinct) > 1:
        step = pd.Timedelta(int(np.diff(distinct).min()), unit="ns")
    else:
        raise DataError("a single time step needs the 'freq' option", source=table.source)
    offset = ns - distinct[0]
    off_grid = np.flatnonzero(offset % step.value != 0)
    if len(off_grid):
        i = int(off_grid[0])
        raise table.error(
            f"timestamp {stamps[i]} is not a whole number of {step} steps after "
            f"{stamps[int(np.argmin(ns))]}",
            i,
            column=TIMESTAMP,
            hint="resample to a fixed frequency or give 'freq'",
        )
    step_of_row = offset // step.value
    first = stamps[int(np.argmin(ns))]
    grid = pd.date_range(first, periods=int(step_of_row.max()) + 1, freq=step)
    return grid, step_of_row


def _fixed_step(freq: str, source: Path) -> pd.Timedelta:
    try:
        step = pd.Timedelta(pd.tseries.frequencies.to_offset(freq))
    except (TypeError, ValueError):
        raise DataError(
            f"freq {freq!r} is not a fixed step", source=source, hint="use e.g. 5min, h, D, 7D"
        ) from None
    if step <= pd.Timedelta(0):
        raise DataError(f"freq {freq!r} must be positive", source=source)
    return step


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

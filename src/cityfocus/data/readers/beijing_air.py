"""Reader for Beijing Multi-Site Air Quality (UCI PRSA): 12 stations, hourly, 2013-03 .. 2017-02.

One gzipped CSV per station (``PRSA_Data_<Station>_20130301-20170228.csv.gz``), each one row per
hour with year/month/day/hour, six pollutants, five weather variables, and the wind direction.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.data.readers.checked_csv import SourceTable, numeric_matrix, read_csv
from cityfocus.errors import DataError

FEATURES = ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3", "TEMP", "PRES", "DEWP", "RAIN", "WSPM")
TIME_COLUMNS = ("year", "month", "day", "hour")
UNITS = {
    **{f: "ug/m3" for f in ("PM2.5", "PM10", "SO2", "NO2", "CO", "O3")},
    "TEMP": "degC",
    "PRES": "hPa",
    "DEWP": "degC",
    "RAIN": "mm",
    "WSPM": "m/s",
}
PATTERN = "PRSA_Data_*.csv*"


def read_beijing_air(directory: str | Path) -> CityData:
    """The 12 stations as CityData ``[35064, 12, 11]``, target ``PM2.5``, hourly.

    The wind direction ``wd`` (a compass string) is dropped; gaps (empty fields) become
    ``mask == False``. Stations are ordered by file name; they have no coordinates (lat/lon
    NaN) and no adjacency: build the graph yourself.

    Args:
        directory: the ``beijing_air_prsa`` folder.

    Raises:
        DataError: no station files, a malformed file, a missing column, a non-numeric value,
            or stations whose hours differ.
    """
    directory = Path(directory)
    paths = sorted(directory.glob(PATTERN))
    if not paths:
        raise DataError(f"no station files matching {PATTERN!r}", source=directory)
    dtype = {c: "float64" for c in (*FEATURES, *TIME_COLUMNS)} | {"wd": "str", "station": "str"}
    stations: list[str] = []
    blocks: list[np.ndarray] = []
    timestamps: pd.DatetimeIndex | None = None
    for path in paths:
        table = read_csv(path, dtype=dtype)
        _require_columns(table, (*TIME_COLUMNS, *FEATURES))
        stamps = _hours(table)
        if timestamps is None:
            timestamps = stamps
        elif not stamps.equals(timestamps):
            raise DataError(
                f"hours differ from those of {paths[0].name} "
                f"({len(stamps)} vs {len(timestamps)} rows)",
                source=path,
            )
        stations.append(_station_name(table, path))
        blocks.append(numeric_matrix(table, FEATURES))
    assert timestamps is not None
    values = np.stack(blocks, axis=1)  # [T, N, F]
    return CityData(
        values,
        timestamps,
        zones=pd.DataFrame({"id": stations, "name": stations}),
        features=list(FEATURES),
        target="PM2.5",
        adjacency=None,
        freq="h",
        name="beijing_air_prsa",
        meta={
            "source": [str(p) for p in paths],
            "units": UNITS,
            "dropped_columns": {
                "wd": "wind direction (compass string), not numeric",
                "No": "row number",
            },
            "timestamps": "Beijing local time, from the year/month/day/hour columns",
            "zones": "monitoring stations; no coordinates in the data (lat/lon NaN)",
            "adjacency": "none in the data: build the graph (correlation or site locations)",
        },
    )


def _require_columns(table: SourceTable, columns: tuple[str, ...]) -> None:
    missing = [c for c in columns if c not in table.frame.columns]
    if missing:
        raise DataError(
            f"missing column(s) {missing}; found {list(table.frame.columns)}",
            source=table.source,
            row=1,
        )


def _hours(table: SourceTable) -> pd.DatetimeIndex:
    parts = numeric_matrix(table, TIME_COLUMNS)
    bad = np.flatnonzero(~np.isfinite(parts).all(axis=1))
    if len(bad):
        i = int(bad[0])
        column = TIME_COLUMNS[int(np.flatnonzero(~np.isfinite(parts[i]))[0])]
        raise table.error("missing time field", i, column=column)
    frame = pd.DataFrame(parts.astype(np.int64), columns=list(TIME_COLUMNS))
    stamps = pd.to_datetime(frame, errors="coerce")
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if len(bad):
        raise table.error("invalid date", int(bad[0]), column="year")
    index = pd.DatetimeIndex(stamps)
    repeated = np.flatnonzero(index.duplicated())
    if len(repeated):
        i = int(repeated[0])
        raise table.error(f"duplicated timestamp {index[i]}", i, column="hour")
    return index


def _station_name(table: SourceTable, path: Path) -> str:
    if "station" in table.frame.columns and len(table.frame):
        names = table.frame["station"].dropna().unique()
        if len(names) == 1:
            return str(names[0])
    # file names are PRSA_Data_<Station>_<start>-<end>.csv.gz
    return path.name.split("_")[2] if path.name.count("_") >= 3 else path.name.split(".")[0]

"""Reader for Los-loop: 207 Los Angeles highway detectors, speed (mph) every 5 minutes.

Files (``los_loop/``): ``los_speed.csv`` (header = detector ids, 2016 rows x 207 columns) and
``los_adj.csv`` (207 x 207 weighted adjacency, no header, same detector order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.data.readers.checked_csv import numeric_matrix, read_csv
from cityfocus.errors import DataError

NOMINAL_START = "2012-03-01 00:00"
FREQ = "5min"


def read_los_loop(directory: str | Path) -> CityData:
    """Los-loop as CityData ``[2016, 207, 1]`` (feature ``speed``, mph) with its adjacency.

    The files hold no timestamps; they are nominal, 5-minute steps from 2012-03-01 00:00 (the
    T-GCN README gives Mar 1-7, 2012), and ``meta`` says so.

    Args:
        directory: the ``los_loop`` folder holding ``los_speed.csv`` and ``los_adj.csv``.

    Raises:
        DataError: a missing or malformed file, a non-numeric speed, or an adjacency whose size
            does not match the detector count.
    """
    directory = Path(directory)
    speed_path, adj_path = directory / "los_speed.csv", directory / "los_adj.csv"
    speed_table = read_csv(speed_path)
    detectors = [str(c) for c in speed_table.frame.columns]
    speed = numeric_matrix(speed_table, speed_table.frame.columns)
    adjacency = read_square_matrix(adj_path, len(detectors))
    T = speed.shape[0]
    return CityData(
        speed[:, :, None],
        pd.date_range(NOMINAL_START, periods=T, freq=FREQ),
        zones=pd.DataFrame({"id": detectors, "name": detectors}),
        features=["speed"],
        target="speed",
        adjacency=adjacency,
        freq=FREQ,
        name="los_loop",
        meta={
            "source": [str(speed_path), str(adj_path)],
            "units": {"speed": "mph"},
            "timestamps": f"nominal: not in the file; {FREQ} steps from {NOMINAL_START} "
            "(T-GCN README: Mar 1-7, 2012)",
            "zones": "METR-LA loop detector ids; no coordinates in the files",
        },
    )


def read_square_matrix(path: Path, n: int) -> np.ndarray:
    """An ``[n, n]`` numeric matrix from a header-less CSV; DataError when the size differs."""
    table = read_csv(path, header=False)
    rows, cols = table.frame.shape
    if (rows, cols) != (n, n):
        raise DataError(
            f"adjacency is {rows} x {cols}, expected {n} x {n} (one row and column per zone)",
            source=path,
        )
    return numeric_matrix(table, table.frame.columns)

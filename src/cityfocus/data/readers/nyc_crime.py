"""Reader for NYC-Crimes: daily crime counts per ~3 km grid cell, 2014-2015, four categories.

Target choice: besides the four categories (``burglary, larceny, robbery, assault``) the reader
adds a fifth, derived feature ``total`` (their sum) and makes it the target: a patrol budget
answers to all felonies in a cell, and the total is far less sparse than any one category.
Pass ``target="larceny"`` (or another category) to drive allocations by one category instead.

Another city laid out the same way (a folder holding ``nyc_crime_counts.npz`` with a
``counts`` array ``[rows, cols, days, categories]``) reads the same: the archive may name its
categories (``categories``, strings) and its first day (``start``); the dataset is named
after its folder.

Zones are the grid cells flattened row-major (``reshape(256, 730, 4)`` as the ST-SHN/ST-HSL
code does), named ``r{row}c{col}``, with the approximate cell centre from the gridding rule.
Adjacency: 8-neighbour (king's move) grid adjacency among the kept cells, weight 1, no
self-loops.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError

CATEGORIES = ("burglary", "larceny", "robbery", "assault")
START = "2014-01-01"
# the ST-SHN gridding rule: row = int((lat - LAT0) * 111 / 3), col = int((lon - LON0) * 84 / 3)
LAT0, LON0 = 40.50021598, -74.25310996
CELL_LAT, CELL_LON = 3 / 111, 3 / 84


def read_nyc_crime(
    directory: str | Path, drop_empty: bool = True, target: str = "total"
) -> CityData:
    """NYC crime counts as CityData ``[730, N, 5]`` (4 categories + ``total``), daily.

    Args:
        directory: the ``nyc_crime`` folder (or a folder laid out like it) holding
            ``nyc_crime_counts.npz``.
        drop_empty: drop the cells with no event in two years (water / outside the city;
            129 of 256), keeping 127. The dropped ids and the kept cells' original flat
            indices are recorded in ``meta["flagged"]``.
        target: the feature allocations are driven by: ``total`` or one category.

    Raises:
        DataError: a missing or unreadable file, no ``counts`` array, or a wrong shape.
    """
    path = Path(directory) / "nyc_crime_counts.npz"
    counts, categories, start = _load_counts(path)
    rows, cols, days, _ = counts.shape
    flat = counts.reshape(rows * cols, days, len(categories)).transpose(1, 0, 2)  # [T, N, C]
    values = np.concatenate([flat, flat.sum(axis=2, keepdims=True, dtype=np.int64)], axis=2)
    cell_row, cell_col = np.divmod(np.arange(rows * cols), cols)
    ids = [f"r{r}c{c}" for r, c in zip(cell_row, cell_col, strict=True)]
    kept = np.arange(rows * cols)
    if drop_empty:
        kept = np.flatnonzero(flat.sum(axis=(0, 2)) > 0)
    dropped = sorted(set(range(rows * cols)) - set(kept.tolist()))
    zones = pd.DataFrame(
        {
            "id": [ids[i] for i in kept],
            "name": [ids[i] for i in kept],
            "lat": LAT0 + (cell_row[kept] + 0.5) * CELL_LAT,
            "lon": LON0 + (cell_col[kept] + 0.5) * CELL_LON,
        }
    )
    return CityData(
        values[:, kept].astype(np.float32),
        pd.date_range(start, periods=days, freq="D"),
        zones=zones,
        features=[*categories, "total"],
        target=target,
        adjacency=grid_adjacency(cell_row[kept], cell_col[kept]),
        freq="D",
        name=Path(directory).resolve().name,
        meta={
            "source": str(path),
            "units": "crime events per cell per day",
            "categories": ("burglary=BURGLARY, larceny=GRAND LARCENY, robbery=ROBBERY, "
                           "assault=FELONY ASSAULT" if categories == CATEGORIES
                           else ", ".join(categories))
            + "; total = their sum (the default target)",
            "zones": "grid cells r{row}c{col} of 1/37 deg lat x 1/28 deg lon; lat/lon = "
            "approximate cell centre",
            "adjacency": "8-neighbour grid adjacency among kept cells, weight 1, no self-loops",
            "flagged": {
                "drop_empty": drop_empty,
                "dropped_zone_ids": [ids[i] for i in dropped],
                "kept_cell_index": kept.tolist(),
            },
        },
    )


def grid_adjacency(row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """``[N, N]`` 8-neighbour adjacency of grid cells at (row, col): 1 when both differ by <= 1."""
    near = (np.abs(row[:, None] - row[None, :]) <= 1) & (np.abs(col[:, None] - col[None, :]) <= 1)
    np.fill_diagonal(near, False)
    return near.astype(np.float32)


def _load_counts(path: Path) -> tuple[np.ndarray, tuple[str, ...], str]:
    """The counts ``[rows, cols, days, categories]``, the category names and the first day."""
    if not path.exists():
        raise DataError("file not found", source=path, hint="check the path")
    try:
        with np.load(path, allow_pickle=False) as archive:
            if "counts" not in archive.files:
                raise DataError(f"no 'counts' array (found {archive.files})", source=path)
            counts = archive["counts"]
            categories = tuple(str(c) for c in archive["categories"]) if (
                "categories" in archive.files) else CATEGORIES
            start = str(archive["start"]) if "start" in archive.files else START
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as err:
        raise DataError(f"not a readable .npz file ({err})", source=path) from None
    if counts.ndim != 4 or counts.shape[3] != len(categories) or 0 in counts.shape:
        raise DataError(
            f"counts must be [rows, cols, days, {len(categories)}] for the categories "
            f"{', '.join(categories)}, got {counts.shape}", source=path
        )
    if len(set(categories)) != len(categories) or "total" in categories:
        raise DataError(f"category names must differ and not be 'total', got {categories}",
                        source=path)
    if not np.issubdtype(counts.dtype, np.integer):
        raise DataError(f"counts must be integers, got {counts.dtype}", source=path)
    if (counts < 0).any():
        raise DataError("negative counts", source=path)
    return counts, categories, start

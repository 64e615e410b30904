"""Readers and writers: every way city data enters cityfocus ends in ``load_dataset``.

A name loads a built-in dataset from the shared data directory (``$CITYFOCUS_DATA_DIR``, else
``../shared/data`` beside the repository) or builds the synthetic city; a path is read by its
suffix: ``.parquet`` (a cityfocus file, else a long table), ``.csv``/``.csv.gz`` (a long table
when it has ``timestamp`` and ``zone`` columns, else a wide matrix), or a directory holding
one of the built-in datasets.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cityfocus.data.citydata import CityData
from cityfocus.data.readers.beijing_air import read_beijing_air
from cityfocus.data.readers.los_loop import read_los_loop
from cityfocus.data.readers.nyc_crime import read_nyc_crime
from cityfocus.data.readers.parquet import cityfocus_metadata, read_parquet, write_parquet
from cityfocus.data.readers.pyg_json import read_montevideo_bus, read_pedalme_london
from cityfocus.data.readers.simbench_grid import SIMBENCH_DATASETS, read_simbench
from cityfocus.data.readers.tabular import read_long_table, read_table, read_wide_matrix
from cityfocus.data.readers.zone_files import read_adjacency_csv, read_zones_csv
from cityfocus.errors import DataError

DATA_DIR_ENV = "CITYFOCUS_DATA_DIR"

DATASETS: dict[str, str] = {
    "los_loop": "LA highway speed (mph), 207 detectors, 5 min, 7 days of Mar 2012, road graph",
    "beijing_air_prsa": "Beijing air quality + weather, 12 stations, hourly, 2013-03..2017-02",
    "nyc_crime": "NYC daily crime counts per 3 km cell, 4 categories + total, 2014-2015, grid",
    "montevideo_bus": "Montevideo hourly boardings at 675 bus stops, Oct 2020, line graph",
    "pedalme_london": "London cargo-bike delivery demand (transformed), 15 localities, weekly",
    "synthetic": "the embedded synthetic city (no files needed), seed 0",
    "simbench_lv": "SimBench LV grid 1-LV-rural1--2-sw, node net load (MW), 15 min, Apr-Aug",
    "simbench_mv": "SimBench MV grid 1-MV-rural--2-sw, node net load (MW), 15 min, Apr-Aug",
}

_READERS: dict[str, Callable[..., CityData]] = {
    "los_loop": read_los_loop,
    "beijing_air_prsa": read_beijing_air,
    "nyc_crime": read_nyc_crime,
    "montevideo_bus": read_montevideo_bus,
    "pedalme_london": read_pedalme_london,
}

# a file that identifies each dataset folder, for directories not named after the dataset
_SIGNATURES = {
    "los_loop": "los_speed.csv",
    "nyc_crime": "nyc_crime_counts.npz",
    "montevideo_bus": "montevideo_bus.json",
    "pedalme_london": "pedalme_london.json",
}

__all__ = [
    "DATASETS",
    "data_dir",
    "load_dataset",
    "read_adjacency_csv",
    "read_beijing_air",
    "read_long_table",
    "read_los_loop",
    "read_montevideo_bus",
    "read_nyc_crime",
    "read_parquet",
    "read_pedalme_london",
    "read_simbench",
    "read_table",
    "read_wide_matrix",
    "read_zones_csv",
    "write_parquet",
]


def load_dataset(name_or_path: str | Path, **options: Any) -> CityData:
    """Load a built-in dataset by name, or a file or dataset folder by path.

    Args:
        name_or_path: one of ``DATASETS``, or a path (``.parquet``, ``.csv``, ``.csv.gz``,
            or a dataset folder).
        **options: passed to the reader; an option set to None counts as not given. Your own
            CSV and Parquet tables take ``target``, ``freq``, ``zones`` (zones CSV),
            ``adjacency`` (adjacency CSV), ``name`` and, for a wide matrix without
            timestamps, ``start`` (see ``read_table``); ``nyc_crime`` takes ``target`` and
            ``drop_empty``; the other built-in datasets take none.

    Raises:
        DataError: an unknown name, a data directory or file not found, an option the reader
            does not take, or any problem in the data itself.
    """
    options = {option: value for option, value in options.items() if value is not None}
    text = str(name_or_path)
    if isinstance(name_or_path, str) and text in DATASETS:
        if text == "synthetic":
            from cityfocus.data.synthetic import synthetic_city  # being written alongside

            return _call(
                lambda: synthetic_city(seed=0).data, "the built-in dataset synthetic", options
            )
        if text in SIMBENCH_DATASETS:  # shipped inside the simbench package
            grid = SIMBENCH_DATASETS[text]
            return _call(lambda: read_simbench(**grid, name=text),
                         f"the built-in dataset {text}", options)
        reader = _READERS[text]  # options are checked before the data folder is looked for
        return _call(lambda: reader(data_dir() / text, **options),
                     f"the built-in dataset {text}", options, reader)
    path = Path(name_or_path)
    if path.is_dir():
        dataset = _dataset_of_folder(path)
        return _call_reader(_READERS[dataset], path, f"the built-in dataset {dataset}", options)
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes[-1:] == [".parquet"]:
        if cityfocus_metadata(path) is not None:
            return _call_reader(read_parquet, path, "a cityfocus Parquet file", options)
        return _call_reader(read_long_table, path, "a Parquet long table", options)
    if suffixes[-1:] == [".csv"] or suffixes[-2:] == [".csv", ".gz"]:
        return _call_reader(read_table, path, "a CSV table", options)
    if not path.exists() and not path.suffix:
        raise DataError(
            f"unknown dataset {text!r}; valid names are {', '.join(DATASETS)}",
            hint="or give a path to a .csv, .parquet file or a dataset folder",
        )
    if not path.exists():
        raise DataError("file not found", source=path, hint="check the path")
    raise DataError(
        f"cannot read {path.suffix or 'this file'}: expected .csv, .csv.gz, .parquet or a "
        "dataset folder",
        source=path,
    )


def data_dir() -> Path:
    """The shared data directory: ``$CITYFOCUS_DATA_DIR``, else ``shared/data`` beside the
    repository (``<repo>/../shared/data``, for a source checkout).

    Raises:
        DataError: the variable names no folder, or it is unset and the folder beside the
            repository does not exist (the message names where it looked and the variable).
    """
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataError(f"{DATA_DIR_ENV}={env} is not a directory",
                            hint=f"set {DATA_DIR_ENV} to the folder holding the dataset folders")
        return path
    repo_root = Path(__file__).resolve().parents[4]  # src/cityfocus/data/readers/__init__.py
    beside = repo_root.parent / "shared" / "data"
    if beside.is_dir():
        return beside
    raise DataError(
        f"shared data directory not found (looked in {beside}; {DATA_DIR_ENV} is not set)",
        hint=f"set {DATA_DIR_ENV} to the folder holding the dataset folders",
    )


def _dataset_of_folder(path: Path) -> str:
    if path.name in _READERS:
        return path.name
    for dataset, signature in _SIGNATURES.items():
        if (path / signature).is_file():
            return dataset
    if any(path.glob("PRSA_Data_*.csv*")):
        return "beijing_air_prsa"
    raise DataError(
        f"not a known dataset folder; the built-in folders are {', '.join(_READERS)}",
        source=path,
    )


def _call_reader(
    reader: Callable[..., CityData], path: Path, label: str, options: dict
) -> CityData:
    return _call(lambda: reader(path, **options), label, options, reader)


def _call(
    load: Callable[[], CityData],
    label: str,
    options: dict[str, Any],
    reader: Callable[..., CityData] | None = None,
) -> CityData:
    accepted = [] if reader is None else list(inspect.signature(reader).parameters)[1:]
    unknown = [o for o in options if o not in accepted]
    if unknown:
        takes = f"it takes {', '.join(accepted)}" if accepted else "it takes no options"
        raise DataError(f"option {unknown[0]!r} does not apply to {label}; {takes}")
    return load()

"""Readers for the two PyTorch Geometric Temporal JSON datasets: Montevideo bus, PedalMe London.

Both files are JSON; ``montevideo_bus.json`` is a networkx node-link dict (nodes with series,
links with distances), ``pedalme_london.json`` a dict of ``X``, ``edges`` and ``weights``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.data.readers.checked_csv import read_bytes
from cityfocus.errors import DataError

MONTEVIDEO_START = "2020-10-01 00:00"
PEDALME_NOMINAL_START = "2020-01-06"  # a Monday; the real start date is not in the data


def read_montevideo_bus(directory: str | Path) -> CityData:
    """Hourly passenger inflow at 675 bus stops as CityData ``[744, 675, 1]`` (``inflow``).

    Zones are the stops (id = ``bus_stop``); ``lat``/``lon`` hold the file's projected
    coordinates **in metres** as given (UTM zone 21S, EPSG:32721, inferred), not degrees.
    Adjacency: 1 for each directed link between consecutive stops of a line; the road
    distances in metres are kept in ``meta["link_distance_m"]`` as ``[source, target, m]``.

    Args:
        directory: the ``montevideo_bus`` folder holding ``montevideo_bus.json``.

    Raises:
        DataError: missing or malformed JSON, a missing key, series of different lengths,
            non-numeric counts, or a link to an unknown stop.
    """
    path = Path(directory) / "montevideo_bus.json"
    doc = _load_json(path)
    nodes = _require(doc, "nodes", list, path)
    links = _require(doc, "links", list, path)
    if not nodes:
        raise DataError("no nodes", source=path)
    ids: list[str] = []
    series: list[list[Any]] = []
    coords: list[tuple[float, float]] = []
    for i, node in enumerate(nodes):
        where = f"nodes[{i}]"
        stop = _require(node, "bus_stop", (int, str), path, where)
        y = _require(node, "y", list, path, where)
        if series and len(y) != len(series[0]):
            raise DataError(
                f"{where} (bus_stop {stop}) has {len(y)} hourly values, expected {len(series[0])}",
                source=path,
            )
        ids.append(str(stop))
        series.append(y)
        coords.append(
            (_number(node.get("lat"), path, where), _number(node.get("lon"), path, where))
        )
    duplicated = pd.Index(ids)[pd.Index(ids).duplicated()]
    if len(duplicated):
        raise DataError(f"bus_stop {duplicated[0]} appears twice in nodes", source=path)
    values = _numeric_array(series, path, "nodes[*].y").T  # [T, N]
    position = {stop: k for k, stop in enumerate(ids)}
    adjacency = np.zeros((len(ids), len(ids)), dtype=np.float32)
    distances: list[list[Any]] = []
    for k, link in enumerate(links):
        where = f"links[{k}]"
        source = str(_require(link, "source", (int, str), path, where))
        target = str(_require(link, "target", (int, str), path, where))
        for end in (source, target):
            if end not in position:
                raise DataError(f"{where} refers to unknown bus_stop {end}", source=path)
        adjacency[position[source], position[target]] = 1.0
        distances.append([source, target, _number(link.get("weight"), path, where)])
    lat, lon = np.array(coords, dtype=np.float64).T
    return CityData(
        values[:, :, None],
        pd.date_range(MONTEVIDEO_START, periods=values.shape[0], freq="h"),
        zones=pd.DataFrame({"id": ids, "name": ids, "lat": lat, "lon": lon}),
        features=["inflow"],
        target="inflow",
        adjacency=adjacency,
        freq="h",
        name="montevideo_bus",
        meta={
            "source": str(path),
            "units": {"inflow": "boardings per hour"},
            "timestamps": f"hour 0 = {MONTEVIDEO_START} local time (dataset README)",
            "coordinates": "lat/lon columns hold projected metres as given in the file "
            "(northing, easting), UTM zone 21S, EPSG:32721 inferred; not degrees",
            "crs": "EPSG:32721 (inferred)",
            "adjacency": "directed, 1 per link between consecutive stops of a line",
            "link_distance_m": distances,
        },
    )


def read_pedalme_london(directory: str | Path) -> CityData:
    """Weekly delivery demand in 15 London localities as CityData ``[35, 15, 1]`` (``demand``).

    The values are already transformed in the file (per-locality mean ~0), not raw counts.
    Timestamps are nominal weekly steps from 2020-01-06 (the file holds no dates). Adjacency
    ``[15, 15]`` from ``edges`` and ``weights`` (spatial proximity, self-loops 1).

    Args:
        directory: the ``pedalme_london`` folder holding ``pedalme_london.json``.

    Raises:
        DataError: missing or malformed JSON, a missing key, a ragged ``X``, or edges that do
            not match the weights or the localities.
    """
    path = Path(directory) / "pedalme_london.json"
    doc = _load_json(path)
    rows = _require(doc, "X", list, path)
    edges = _require(doc, "edges", list, path)
    weights = _require(doc, "weights", list, path)
    values = _numeric_array(rows, path, "X")
    if values.ndim != 2:
        raise DataError(f"X must be [weeks, localities], got shape {values.shape}", source=path)
    n = values.shape[1]
    if len(edges) != len(weights):
        raise DataError(f"{len(edges)} edges but {len(weights)} weights", source=path)
    pairs = _numeric_array(edges, path, "edges")
    w = _numeric_array(weights, path, "weights")
    if len(pairs) and (pairs.ndim != 2 or pairs.shape[1] != 2):
        raise DataError("edges must be [i, j] pairs", source=path)
    if len(pairs) and (pairs.min() < 0 or pairs.max() >= n or (pairs % 1).any()):
        raise DataError(f"an edge refers to a locality outside 0..{n - 1}", source=path)
    adjacency = np.zeros((n, n), dtype=np.float32)
    for (i, j), weight in zip(pairs.astype(np.int64), w, strict=True):
        adjacency[i, j] = weight
    ids = [str(i) for i in range(n)]
    return CityData(
        values[:, :, None],
        pd.date_range(PEDALME_NOMINAL_START, periods=values.shape[0], freq="7D"),
        zones=pd.DataFrame({"id": ids, "name": [f"locality {i}" for i in ids]}),
        features=["demand"],
        target="demand",
        adjacency=adjacency,
        freq="7D",
        name="pedalme_london",
        meta={
            "source": str(path),
            "units": {"demand": "transformed delivery demand (transform undocumented)"},
            "timestamps": f"nominal: weekly from {PEDALME_NOMINAL_START}; the file has no dates "
            "(README: 2020-2021)",
            "zones": "London localities, unnamed in the data",
            "adjacency": "edges + weights from the file (spatial proximity, self-loops 1)",
        },
    )


def _load_json(path: Path) -> Any:
    raw = read_bytes(path)
    try:
        return json.loads(raw)
    except UnicodeDecodeError:
        raise DataError("not UTF-8 text", source=path) from None
    except json.JSONDecodeError as err:
        raise DataError(
            f"malformed JSON ({err.msg}, column {err.colno})", source=path, row=err.lineno
        ) from None


def _require(doc: Any, key: str, kind: type | tuple[type, ...], path: Path, where: str = "") -> Any:
    """``doc[key]`` checked to be of ``kind``; DataError naming the key otherwise."""
    label = f"{where}.{key}" if where else key
    if not isinstance(doc, dict) or key not in doc:
        raise DataError(f"missing key {label!r}", source=path)
    value = doc[key]
    if not isinstance(value, kind) or isinstance(value, bool):
        raise DataError(f"{label!r} has the wrong type ({type(value).__name__})", source=path)
    return value


def _number(value: Any, path: Path, where: str) -> float:
    if value is None:
        return float("nan")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise DataError(f"{where}: non-numeric value {value!r}", source=path)
    return float(value)


def _numeric_array(nested: list[Any], path: Path, label: str) -> np.ndarray:
    """A float64 array from nested lists; DataError when ragged or non-numeric."""
    try:
        array = np.array(nested, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise DataError(f"{label} is ragged or non-numeric ({err})", source=path) from None
    return array

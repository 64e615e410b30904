"""Reader for SimBench distribution grids: a grid's year of 15-minute node profiles as CityData.

SimBench (simbench.de, the ``simbench`` package with its data inside the wheel) ships complete
benchmark grids with one year (2016) of 15-minute load and generation profiles per element.
A zone is a bus that holds a load or a generator; its features are the active power of its
loads, its PV, its wind and its other generation (biomass, hydro), and the target is the net
load (load minus all generation, MW; negative when the node feeds into the grid). Storage
units are left out (their SimBench profiles are zero). The grid graph (lines and
transformers) becomes the zones' adjacency: two zones are linked when a path joins them
through buses that are not zones.
"""

from __future__ import annotations

import json
import warnings
from collections import deque
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.errors import CityfocusError, DataError

FREQ = "15min"
YEAR_START = "2016-01-01 00:00"
STEPS_PER_DAY = 96
FEATURES = ("load", "pv", "wind", "other_gen", "net_load")
TARGET = "net_load"

SIMBENCH_DATASETS: dict[str, dict[str, Any]] = {
    "simbench_lv": {"code": "1-LV-rural1--2-sw", "first_day": 91, "days": 153},
    "simbench_mv": {"code": "1-MV-rural--2-sw", "first_day": 91, "days": 153},
}
"""The built-in energy datasets: a SimBench grid code and the period read (days of 2016,
0-based; 91..243 is 1 April .. 31 August, the months in which the grids' PV overloads them).
Grid codes follow SimBench: ``1-LV-rural1--2-sw`` is the rural low-voltage grid 1 in the 2034
scenario (``--2-``, more PV), switches as in the data (``sw``)."""

INSTALL_HINT = "install the energy extra: .venv/bin/pip install -e '.[energy]'"


def simbench_net(code: str) -> Any:
    """The pandapower net of SimBench grid ``code`` (read once per process, then copied).

    Raises:
        DataError: simbench is not installed, or ``code`` is not a SimBench grid code.
    """
    import copy

    return copy.deepcopy(_cached_net(code))


@lru_cache(maxsize=4)
def _cached_net(code: str) -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import simbench
    except ImportError:
        raise CityfocusError(f"SimBench grid {code!r} needs the simbench package; "
                             f"{INSTALL_HINT}") from None
    if code not in simbench.collect_all_simbench_codes():
        raise DataError(f"{code!r} is not a SimBench grid code (e.g. 1-LV-rural1--2-sw, "
                        "1-MV-rural--2-sw; simbench.collect_all_simbench_codes() lists all)")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return simbench.get_simbench_net(code)


@dataclass(frozen=True)
class NodeProfiles:
    """A grid's per-element year profiles grouped by zone bus.

    Attributes:
        buses: ``[N]`` pandapower bus index of each zone, in zone order.
        load_p, load_q: ``[T, n_loads]`` active (MW) and reactive (Mvar) load per load.
        sgen_p: ``[T, n_sgens]`` infeed per static generator (MW).
        load_zone, sgen_zone: zone position of each load and generator.
        sgen_kind: ``pv``, ``wind`` or ``other_gen`` per generator.
    """

    buses: np.ndarray
    load_p: np.ndarray
    load_q: np.ndarray
    sgen_p: np.ndarray
    load_zone: np.ndarray
    sgen_zone: np.ndarray
    sgen_kind: np.ndarray

    def by_zone(self, element_values: np.ndarray, zone_of: np.ndarray) -> np.ndarray:
        """``[T, N]`` sums of ``[T, n_elements]`` values over each zone's elements."""
        out = np.zeros((element_values.shape[0], len(self.buses)))
        np.add.at(out.T, zone_of, element_values.T)
        return out


def sgen_kind(type_name: str) -> str:
    """``pv``, ``wind`` or ``other_gen`` for a SimBench generator type (``PV``, ``PV_MV``,
    ``Wind_MV``, ``lv_RES``: the renewables of the LV grids below an MV node, mostly PV)."""
    name = str(type_name).lower()
    if "wind" in name:
        return "wind"
    if "pv" in name or "res" in name:
        return "pv"
    return "other_gen"


def node_profiles(net: Any) -> NodeProfiles:
    """Group a SimBench net's absolute profiles by the buses that hold loads or generators."""
    import simbench

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        profiles = simbench.get_absolute_values(net, profiles_instead_of_study_cases=True)
    buses = np.array(sorted(set(net.load.bus) | set(net.sgen.bus)), dtype=np.int64)
    position = {int(b): i for i, b in enumerate(buses)}
    return NodeProfiles(
        buses=buses,
        load_p=np.asarray(profiles[("load", "p_mw")].to_numpy(), dtype=np.float64),
        load_q=np.asarray(profiles[("load", "q_mvar")].to_numpy(), dtype=np.float64),
        sgen_p=np.asarray(profiles[("sgen", "p_mw")].to_numpy(), dtype=np.float64),
        load_zone=np.array([position[int(b)] for b in net.load.bus], dtype=np.int64),
        sgen_zone=np.array([position[int(b)] for b in net.sgen.bus], dtype=np.int64),
        sgen_kind=np.array([sgen_kind(t) for t in net.sgen.type], dtype=object),
    )


def zone_adjacency(net: Any, buses: np.ndarray) -> np.ndarray:
    """``[N, N]`` 0/1: zones joined by lines or transformers through non-zone buses only."""
    neighbours: dict[int, set[int]] = {}
    edges = [*zip(net.line.from_bus, net.line.to_bus, strict=True),
             *zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True)]
    for a, b in edges:
        neighbours.setdefault(int(a), set()).add(int(b))
        neighbours.setdefault(int(b), set()).add(int(a))
    position = {int(b): i for i, b in enumerate(buses)}
    adjacency = np.zeros((len(buses), len(buses)), dtype=np.float32)
    for bus, i in position.items():
        seen, queue = {bus}, deque([bus])
        while queue:
            for nxt in neighbours.get(queue.popleft(), ()):
                if nxt in seen:
                    continue
                seen.add(nxt)
                if nxt in position:
                    adjacency[i, position[nxt]] = 1.0
                else:
                    queue.append(nxt)
    return adjacency


def bus_coordinates(net: Any, buses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Latitude and longitude of each bus (NaN where the grid gives none)."""
    lat = np.full(len(buses), np.nan)
    lon = np.full(len(buses), np.nan)
    if "geo" not in net.bus:
        return lat, lon
    for i, bus in enumerate(buses):
        geo = net.bus.at[int(bus), "geo"]
        if isinstance(geo, str) and geo:
            x, y = json.loads(geo)["coordinates"][:2]
            lon[i], lat[i] = float(x), float(y)
    return lat, lon


def read_simbench(code: str, first_day: int = 0, days: int | None = None,
                  name: str | None = None) -> CityData:
    """A SimBench grid as CityData ``[T, N, 5]``: per zone (a bus with loads or generators)
    ``load``, ``pv``, ``wind``, ``other_gen`` and the target ``net_load`` (MW, 15 min).

    Args:
        code: a SimBench grid code, e.g. ``1-LV-rural1--2-sw``.
        first_day: first day of 2016 read (0-based).
        days: number of days read (default: to the end of the year).
        name: the dataset's name (default: the code).

    Raises:
        CityfocusError: simbench is not installed.
        DataError: an unknown code or a period outside the year.
    """
    net = _cached_net(code)
    profiles = node_profiles(net)
    total_days = profiles.load_p.shape[0] // STEPS_PER_DAY
    days = total_days - first_day if days is None else days
    if first_day < 0 or days < 1 or first_day + days > total_days:
        raise DataError(f"days {first_day}..{first_day + days - 1} are outside the SimBench "
                        f"year (days 0..{total_days - 1})", source=code)
    steps = slice(first_day * STEPS_PER_DAY, (first_day + days) * STEPS_PER_DAY)
    load = profiles.by_zone(profiles.load_p[steps], profiles.load_zone)
    by_kind = {kind: profiles.by_zone(profiles.sgen_p[steps] * (profiles.sgen_kind == kind),
                                      profiles.sgen_zone)
               for kind in ("pv", "wind", "other_gen")}
    net_load = load - by_kind["pv"] - by_kind["wind"] - by_kind["other_gen"]
    values = np.stack([load, by_kind["pv"], by_kind["wind"], by_kind["other_gen"], net_load],
                      axis=-1)
    lat, lon = bus_coordinates(net, profiles.buses)
    names = [str(net.bus.at[int(b), "name"]) for b in profiles.buses]
    timestamps = pd.date_range(YEAR_START, periods=total_days * STEPS_PER_DAY, freq=FREQ)
    return CityData(
        values,
        timestamps[steps],
        zones=pd.DataFrame({"id": [f"bus{int(b)}" for b in profiles.buses], "name": names,
                            "lat": lat, "lon": lon}),
        features=list(FEATURES),
        target=TARGET,
        adjacency=zone_adjacency(net, profiles.buses),
        freq=FREQ,
        name=name or code,
        meta={
            "source": f"SimBench grid {code} (simbench package)",
            "grid_code": code,
            "first_day": first_day,
            "units": {feature: "MW" for feature in FEATURES},
            "zones": "buses holding loads or generators; id bus<pandapower bus index>",
            "timestamps": "SimBench profile year 2016, 15-minute steps",
            "storage": "not included (SimBench storage profiles are zero)",
        },
    )

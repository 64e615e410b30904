"""Signal-control scenarios: a SUMO network, its seeded demand and its simulated period.

Generated grids (``gen2x2``, ``gen3x3``, ``gen4x4``) are built with ``netgenerate`` (two lanes
per direction, a traffic light at every inner junction) and get a morning peak of random
trips from ``randomTrips.py`` that rises and falls; the seed picks the trips. The RESCO
networks (``grid4x4``, ``arterial4x4``, ``cologne1``, ``cologne3``, ``ingolstadt1``) are read
from the files shipped in the ``sumo-rl`` wheel; their routes are fixed, so there the seed
only drives SUMO's own randomness (speed factors, driver imperfection). A path to a
``.sumocfg`` file is a scenario too.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from cityfocus.errors import CityfocusError

# Peak profile of the generated grids: equal time slices of the simulated period, as a
# share of the peak insertion rate (a morning peak that rises and falls).
PEAK_PROFILE = (0.35, 0.6, 0.85, 1.0, 1.0, 0.8, 0.55, 0.35)
# Vehicles per hour entering through each fringe edge at the peak.
PEAK_RATE_PER_ENTRY = 260.0
GRID_LENGTH = 200.0
GENERATED = {"gen2x2": 2, "gen3x3": 3, "gen4x4": 4}
RESCO = ("grid4x4", "arterial4x4", "cologne1", "cologne3", "ingolstadt1")
DEFAULT_DURATION = 3600.0


@dataclass(frozen=True)
class Scenario:
    """A ready-to-run scenario.

    Attributes:
        name: the scenario's name (or the ``.sumocfg`` path it came from).
        net: the ``.net.xml`` file.
        routes: route or trip files.
        begin: first simulated second.
        end: last simulated second (the run stops there; vehicles still en route are
            written as unfinished).
        seed: the seed of the demand and of SUMO's randomness.
    """

    name: str
    net: Path
    routes: tuple[Path, ...]
    begin: float
    end: float
    seed: int


def sumo_home() -> Path:
    """``SUMO_HOME`` of the ``eclipse-sumo`` wheel (set in the environment for SUMO's tools)."""
    try:
        import sumo
    except ImportError:
        raise CityfocusError(
            "Eclipse SUMO is not installed; run: pip install -e '.[signals]'"
        ) from None
    home = Path(sumo.SUMO_HOME)
    os.environ.setdefault("SUMO_HOME", str(home))
    return home


def resco_dir() -> Path:
    """The folder of RESCO networks inside the installed ``sumo-rl`` wheel."""
    spec = importlib.util.find_spec("sumo_rl")
    if spec is None or not spec.submodule_search_locations:
        raise CityfocusError("sumo-rl is not installed (its RESCO networks are read from it); "
                             "run: pip install -e '.[signals]'")
    return Path(next(iter(spec.submodule_search_locations))) / "nets" / "RESCO"


def scenario_names() -> list[str]:
    return [*GENERATED, *RESCO]


def prepare(name: str, seed: int, workdir: str | Path,
            duration: float | None = None) -> Scenario:
    """Build scenario ``name`` (a known name or a ``.sumocfg`` path) for ``seed`` in ``workdir``.

    Args:
        name: one of ``scenario_names()``, or the path of a ``.sumocfg`` file.
        seed: seeds the generated demand and SUMO.
        workdir: where generated networks and routes are written.
        duration: simulated seconds; default the scenario's own period (one hour).

    Raises:
        CityfocusError: an unknown name, or a ``.sumocfg`` that does not exist or names
            files that do not exist.
    """
    workdir = Path(workdir)
    if name in GENERATED:
        return _generated(name, GENERATED[name], seed, workdir, duration or DEFAULT_DURATION)
    if name in RESCO:
        cfg = resco_dir() / name / f"{name}.sumocfg"
        if not cfg.exists():
            raise CityfocusError(f"scenario {name}: {cfg} is missing from the sumo-rl wheel")
        return _from_config(cfg, name, seed, duration)
    if name.endswith(".sumocfg") or os.sep in name:
        cfg = Path(name)
        if not cfg.is_file():
            raise CityfocusError(f"scenario file {cfg} does not exist "
                                 f"(give a .sumocfg path or one of {', '.join(scenario_names())})")
        return _from_config(cfg, str(cfg), seed, duration)
    raise CityfocusError(f"unknown scenario {name!r}; choose one of "
                         f"{', '.join(scenario_names())} or give a .sumocfg path")


def _from_config(cfg: Path, name: str, seed: int, duration: float | None) -> Scenario:
    """Read net, routes and period from a ``.sumocfg`` (paths relative to the file)."""
    try:
        root = ET.parse(cfg).getroot()
    except ET.ParseError as err:
        raise CityfocusError(f"{cfg}: not a valid SUMO configuration ({err})") from None

    def value(tag: str, default: str | None = None) -> str | None:
        node = root.find(f".//{tag}")
        return node.get("value", default) if node is not None else default

    net_value = value("net-file")
    if not net_value:
        raise CityfocusError(f"{cfg}: no <net-file> in the configuration; add one")
    net = (cfg.parent / net_value).resolve()
    routes = tuple((cfg.parent / r.strip()).resolve()
                   for r in (value("route-files") or "").split(",") if r.strip())
    for path in (net, *routes):
        if not path.is_file():
            raise CityfocusError(f"{cfg}: file {path} named in the configuration does not exist")
    begin = float(value("begin", "0") or 0)
    end = float(value("end", str(begin + DEFAULT_DURATION)) or begin + DEFAULT_DURATION)
    if duration is not None:
        end = begin + duration
    return Scenario(name, net, routes, begin, end, seed)


def _run_tool(args: list[str], what: str) -> None:
    done = subprocess.run(args, capture_output=True, text=True, env={**os.environ})
    if done.returncode != 0:
        tail = (done.stderr or done.stdout).strip().splitlines()[-1:]
        raise RuntimeError(f"{what} failed: {' '.join(tail)}")


def _generated(name: str, n: int, seed: int, workdir: Path, duration: float) -> Scenario:
    """An ``n`` x ``n`` grid with a light at every inner junction and seeded peak demand."""
    home = sumo_home()
    workdir.mkdir(parents=True, exist_ok=True)
    net = workdir / f"{name}.net.xml"
    if not net.exists():
        # Inner junctions are named column letter + row digit (A0, B1, ...) by netgenerate.
        inner = [f"{chr(65 + i)}{j}" for i in range(n) for j in range(n)]
        _run_tool([str(home / "bin" / "netgenerate"), "--grid", "--grid.number", str(n),
                   "--grid.length", str(GRID_LENGTH), "--grid.attach-length", str(GRID_LENGTH),
                   "--default.lanenumber", "2", "--tls.set", ",".join(inner),
                   "--tls.default-type", "static", "--no-turnarounds", "true",
                   "--seed", "0", "-o", str(net)], "netgenerate")
    routes = workdir / f"{name}.{duration:g}s.seed{seed}.rou.xml"
    if not routes.exists():
        peak = PEAK_RATE_PER_ENTRY * 4 * n
        rates = [f"{peak * share:.1f}" for share in PEAK_PROFILE]
        trips = workdir / f"{name}.{duration:g}s.seed{seed}.trips.xml"
        _run_tool([sys.executable, str(home / "tools" / "randomTrips.py"), "-n", str(net),
                   "-o", str(trips), "-r", str(routes), "--seed", str(seed), "-b", "0",
                   "-e", f"{duration:g}", "--insertion-rate", *rates, "--binomial", "4",
                   "--fringe-factor", "max", "--min-distance", f"{GRID_LENGTH * 1.5:g}",
                   "--validate"], "randomTrips.py")
    return Scenario(name, net, (routes,), 0.0, duration, seed)

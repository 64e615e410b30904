"""Signal-control scenarios: a SUMO network, its seeded demand and its simulated period.

Generated grids (``gen2x2``, ``gen3x3``, ``gen4x4``) are built with ``netgenerate`` (two lanes
per direction, a traffic light at every inner junction) and get a morning peak of random
trips from ``randomTrips.py`` that rises and falls; the seed picks the trips. ``genrand`` is an
irregular network from ``netgenerate --rand`` (one fixed network, lights placed by SUMO's
own heuristic) with the same kind of seeded peak demand. The RESCO
networks (``grid4x4``, ``arterial4x4``, ``cologne1``, ``cologne3``, ``ingolstadt1``) are read
from the files shipped in the ``sumo-rl`` wheel; their routes are fixed, so there the seed
only drives SUMO's own randomness (speed factors, driver imperfection). A path to a
``.sumocfg`` file is a scenario too.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cityfocus.errors import CityfocusError

# Peak profile of the generated grids: equal time slices of the simulated period, as a
# share of the peak insertion rate (a morning peak that rises and falls).
PEAK_PROFILE = (0.35, 0.6, 0.85, 1.0, 1.0, 0.8, 0.55, 0.35)
# Vehicles per hour entering through each fringe edge at the peak.
PEAK_RATE_PER_ENTRY = 260.0
GRID_LENGTH = 200.0
GENERATED = {"gen2x2": 2, "gen3x3": 3, "gen4x4": 4}
# The irregular network: netgenerate --rand with this seed (the demand's seed varies).
RANDOM_NETWORK = "genrand"
RANDOM_NET_SEED = 1
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


def load_libsumo() -> Any:
    """Import libsumo without its pyarrow version notice.

    On import, libsumo prints a warning to stdout when the installed pyarrow differs from the
    Arrow library SUMO was built with. That library serves only SUMO's Parquet outputs, and
    cityfocus asks SUMO for XML outputs only, so the notice says nothing about these runs.
    libsumo's documented switch ``LIBSUMO_AS_TRACI=quiet`` skips it; the switch is set for
    the import alone (``traci`` is imported first, so it stays the pure-Python client).
    """
    if "libsumo" in sys.modules:
        return sys.modules["libsumo"]
    sumo_home()
    importlib.import_module("traci")  # before the switch is set; see above

    before = os.environ.get("LIBSUMO_AS_TRACI")
    os.environ["LIBSUMO_AS_TRACI"] = "quiet"
    try:
        import libsumo
    finally:
        if before is None:
            del os.environ["LIBSUMO_AS_TRACI"]
        else:
            os.environ["LIBSUMO_AS_TRACI"] = before
    return libsumo


def resco_dir() -> Path:
    """The folder of RESCO networks inside the installed ``sumo-rl`` wheel."""
    spec = importlib.util.find_spec("sumo_rl")
    if spec is None or not spec.submodule_search_locations:
        raise CityfocusError("sumo-rl is not installed (its RESCO networks are read from it); "
                             "run: pip install -e '.[signals]'")
    return Path(next(iter(spec.submodule_search_locations))) / "nets" / "RESCO"


def scenario_names() -> list[str]:
    return [*GENERATED, RANDOM_NETWORK, *RESCO]


def folder_name(name: str) -> str:
    """A folder name for scenario ``name``: itself for a known name; for a ``.sumocfg``
    path, the file's stem and a short digest of its absolute path (two files of one stem
    in different folders get different folders)."""
    if name in scenario_names():
        return name
    path = Path(name).expanduser().resolve()
    digest = hashlib.sha256(str(path).encode()).hexdigest()[:8]
    return f"{path.name.removesuffix('.sumocfg')}-{digest}"


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
    if name == RANDOM_NETWORK:
        return _random_network(name, seed, workdir, duration or DEFAULT_DURATION)
    if name in RESCO:
        cfg = resco_dir() / name / f"{name}.sumocfg"
        if not cfg.exists():
            raise CityfocusError(f"scenario {name}: {cfg} is missing from the sumo-rl wheel")
        return _from_config(cfg, name, seed, duration)
    if name.endswith(".net.xml"):
        raise CityfocusError(
            f"scenario {name} is a network file; give a .sumocfg that names it (<net-file>) "
            f"and its demand (<route-files>), or one of {', '.join(scenario_names())}")
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

    if root.tag not in ("configuration", "sumoConfiguration"):
        raise CityfocusError(f"{cfg}: not a SUMO configuration (its root is <{root.tag}>, "
                             "not <configuration>); give a .sumocfg file")
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
    routes = _peak_demand(name, net, PEAK_RATE_PER_ENTRY * 4 * n, seed, workdir, duration)
    return Scenario(name, net, (routes,), 0.0, duration, seed)


def _random_network(name: str, seed: int, workdir: Path, duration: float) -> Scenario:
    """An irregular network from ``netgenerate --rand`` (fixed network seed), lights where
    SUMO's heuristic places them, and seeded peak demand between its fringe edges."""
    home = sumo_home()
    workdir.mkdir(parents=True, exist_ok=True)
    net = workdir / f"{name}.net.xml"
    if not net.exists():
        _run_tool([str(home / "bin" / "netgenerate"), "--rand", "--rand.iterations", "40",
                   "--rand.bidi-probability", "1", "--rand.min-distance", "120",
                   "--rand.max-distance", "300", "--rand.min-angle", "45",
                   "--rand.neighbor-dist5", "1", "--rand.neighbor-dist6", "0",
                   "--default.lanenumber", "2", "--tls.guess", "true",
                   "--tls.guess.threshold", "30", "--tls.default-type", "static",
                   "--no-turnarounds", "true", "--seed", str(RANDOM_NET_SEED), "-o", str(net)],
                  "netgenerate")
    entries = sum(1 for node in ET.parse(net).getroot().iter("junction")
                  if node.get("type") == "dead_end")
    routes = _peak_demand(name, net, PEAK_RATE_PER_ENTRY * entries, seed, workdir, duration)
    return Scenario(name, net, (routes,), 0.0, duration, seed)


def _peak_demand(name: str, net: Path, peak: float, seed: int, workdir: Path,
                 duration: float) -> Path:
    """Seeded fringe-to-fringe trips of ``net`` whose rate follows ``PEAK_PROFILE`` x ``peak``
    vehicles per hour (binomial arrivals), routed; built once per seed and duration."""
    home = sumo_home()
    routes = workdir / f"{name}.{duration:g}s.seed{seed}.rou.xml"
    if not routes.exists():
        rates = [f"{peak * share:.1f}" for share in PEAK_PROFILE]
        trips = workdir / f"{name}.{duration:g}s.seed{seed}.trips.xml"
        _run_tool([sys.executable, str(home / "tools" / "randomTrips.py"), "-n", str(net),
                   "-o", str(trips), "-r", str(routes), "--seed", str(seed), "-b", "0",
                   "-e", f"{duration:g}", "--insertion-rate", *rates, "--binomial", "4",
                   "--fringe-factor", "max", "--min-distance", f"{GRID_LENGTH * 1.5:g}",
                   "--validate"], "randomTrips.py")
    return routes

"""A small gymnasium-style environment over libsumo: ``reset()``, ``step(action)``.

One simulation per process (libsumo holds one global simulation). The action maps a traffic
light's id to the index of the green phase it should show (into ``Light.greens``); lights
missing from the action keep their green. With ``controlled=False`` the lights run their
loaded programme (fixed or actuated) and actions are ignored. Observation and reward are
plain functions of the environment, so callers plug in their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from cityfocus.errors import CityfocusError
from cityfocus.signals.light import Light
from cityfocus.signals.scenarios import Scenario, load_libsumo

Observation = dict[str, np.ndarray]
# Metres of lane one queued vehicle takes: SUMO's default car (5 m) and its minimum gap (2.5 m).
VEHICLE_SPACE = 7.5


def lane_queues(env: SignalEnv) -> Observation:
    """Per light: halting vehicles on each incoming lane it controls ``[lanes]``."""
    return {tls: np.array([env.halting[lane] for lane in env.incoming[tls]], dtype=np.float32)
            for tls in env.lights}


def negative_queue(env: SignalEnv) -> float:
    """Minus the vehicles halting on all controlled incoming lanes."""
    return -float(sum(env.halting.values()))


class SignalEnv:
    """One SUMO run of a scenario, stepped one simulated second at a time.

    Teleporting is off (``--time-to-teleport -1``, as RESCO runs SUMO): a jammed vehicle
    waits until it can move, and a full entry lane holds later vehicles back from entering.

    Args:
        scenario: what to simulate (``prepare(...)``).
        tripinfo: where SUMO writes per-vehicle trip records (unfinished ones included).
        controlled: drive the lights from actions (else they run the loaded programme).
        min_green: seconds a green is held before a switch (controlled mode).
        program: switch every light to this programme id at reset (e.g. an actuated one
            loaded from ``additional``).
        additional: extra SUMO additional files.
        bin_seconds: arrivals on each incoming lane are counted per bin of this length.
        observation: ``f(env) -> observation``; default ``lane_queues``.
        reward: ``f(env) -> float``; default ``negative_queue``.
    """

    def __init__(
        self,
        scenario: Scenario,
        tripinfo: str | Path,
        *,
        controlled: bool = True,
        min_green: float = 5.0,
        program: str | None = None,
        additional: Sequence[Path] = (),
        bin_seconds: float = 60.0,
        observation: Callable[[SignalEnv], Any] = lane_queues,
        reward: Callable[[SignalEnv], float] = negative_queue,
    ) -> None:
        self.scenario = scenario
        self.tripinfo = Path(tripinfo)
        self.controlled = controlled
        self.min_green = min_green
        self.program = program
        self.additional = tuple(additional)
        self.bin_seconds = bin_seconds
        self.observation = observation
        self.reward = reward
        self.lights: dict[str, Light] = {}
        self.incoming: dict[str, list[str]] = {}
        self.halting: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self.max_queue = 0
        self.teleports = 0
        self.backlog: list[float] = []
        self._seen: dict[str, set[str]] = {}
        self._on_lane: dict[str, list[str]] = {}
        self._lane_length: dict[str, float] = {}
        self._arrivals: list[np.ndarray] = []
        self._bin_arrivals: np.ndarray = np.zeros(0)
        self._outgoing: list[str] = []
        self._out_length: dict[str, float] = {}
        self._full: set[str] = set()
        self._full_at = -1.0
        self._backlog: dict[str, int] = {}
        self._backlog_at = -1.0
        self._first_edge: dict[str, str] = {}
        self._sim: Any = None

    # -- gymnasium-style interface ------------------------------------------------------

    def reset(self) -> Any:
        """Start the simulation; returns the first observation."""
        libsumo = load_libsumo()
        if self._sim is not None:
            self.close()
        sc = self.scenario
        self.tripinfo.parent.mkdir(parents=True, exist_ok=True)
        args = ["sumo", "-n", str(sc.net), "-r", ",".join(map(str, sc.routes)),
                "-b", f"{sc.begin:g}", "-e", f"{sc.end:g}", "--seed", str(sc.seed),
                "--tripinfo-output", str(self.tripinfo), "--tripinfo-output.write-unfinished",
                "--time-to-teleport", "-1",
                "--no-step-log", "--no-warnings", "--duration-log.disable"]
        if self.additional:
            args += ["-a", ",".join(map(str, self.additional))]
        libsumo.start(args)
        self._sim = libsumo
        self.teleports, self.backlog, self.max_queue = 0, [], 0
        self._build_lights()
        self._update_lanes()
        return self.observation(self)

    def step(self, action: Mapping[str, int] | None = None) -> tuple[Any, float, bool, bool,
                                                                     dict[str, Any]]:
        """Apply ``action``, advance one second; ``(obs, reward, terminated, truncated, info)``."""
        tl, now = self._sim.trafficlight, self.now
        if self.controlled:
            for tls, light in self.lights.items():
                if action and tls in action:
                    light.request(tl, int(action[tls]), now)
                light.tick(tl, now)
        self._sim.simulationStep()
        self.teleports += self._sim.simulation.getStartingTeleportNumber()
        self._update_lanes()
        done = self.now >= self.scenario.end
        info = {"time": self.now, "queue": sum(self.halting.values())}
        return self.observation(self), self.reward(self), done, False, info

    def close(self) -> None:
        """End the simulation (SUMO then writes the unfinished vehicles' trip records).

        First records ``backlog``: for every vehicle still waiting to enter, the seconds
        since its scheduled departure."""
        if self._sim is not None:
            veh = self._sim.vehicle
            self.backlog = [float(veh.getDepartDelay(v))
                            for v in self._sim.simulation.getPendingVehicles()]
            self._sim.close()
            self._sim = None

    # -- state the controllers read --------------------------------------------------------

    @property
    def now(self) -> float:
        return float(self._sim.simulation.getTime())

    def vehicles(self, lane: str) -> int:
        return int(self._sim.lane.getLastStepVehicleNumber(lane))

    def lane_halting(self, lane: str) -> int:
        """Halting vehicles on any lane (incoming ones are cached in ``halting``)."""
        cached = self.halting.get(lane)
        return cached if cached is not None else int(self._sim.lane.getLastStepHaltingNumber(lane))

    def approach(self, lane: str) -> list[tuple[str, float]]:
        """The vehicles on incoming ``lane`` from the stop line back: the edge each turns into
        (``""`` if its route ends here) and its seconds to the stop line (``inf`` if halting)."""
        veh, length = self._sim.vehicle, self._lane_length[lane]
        found = []
        for vid in reversed(self._on_lane.get(lane, [])):  # SUMO lists from the lane's start
            route, at = veh.getRoute(vid), veh.getRouteIndex(vid)
            speed = veh.getSpeed(vid)
            eta = (length - veh.getLanePosition(vid)) / speed if speed >= 0.1 else np.inf
            found.append((route[at + 1] if at + 1 < len(route) else "", eta))
        return found

    def full_lanes(self) -> set[str]:
        """Outgoing lanes of the lights with no room left: their halting queue reaches back
        to within one vehicle of the lane's start (a vehicle sent there would stop in the
        junction)."""
        if self._full_at != self.now:
            lane_api = self._sim.lane
            self._full = {lane for lane in self._outgoing
                          if (lane_api.getLastStepHaltingNumber(lane) + 1) * VEHICLE_SPACE
                          >= self._out_length[lane]}
            self._full_at = self.now
        return self._full

    def queue_share(self, lane: str) -> float:
        """Share of incoming ``lane``'s length its halting queue fills (1: back to its start)."""
        return self.halting[lane] * VEHICLE_SPACE / self._lane_length[lane]

    def room(self, lane: str) -> float:
        """Vehicles outgoing ``lane`` still has room for behind its halting queue."""
        queued = self._sim.lane.getLastStepHaltingNumber(lane)
        return max(self._out_length[lane] / VEHICLE_SPACE - queued, 0.0)

    def lane_length(self, lane: str) -> float:
        return self._lane_length[lane]

    def backlog_on(self, edge: str) -> int:
        """Vehicles waiting to enter the network on ``edge`` (SUMO's insertion backlog)."""
        if self._backlog_at != self.now:
            first, counts = self._first_edge, dict[str, int]()
            for vid in self._sim.simulation.getPendingVehicles():
                if vid not in first:
                    first[vid] = self._sim.vehicle.getRoute(vid)[0]
                counts[first[vid]] = counts.get(first[vid], 0) + 1
            self._backlog, self._backlog_at = counts, self.now
        return self._backlog.get(edge, 0)

    def arrivals(self) -> np.ndarray:
        """Vehicles that entered each incoming lane, per finished bin ``[bins, lanes]``."""
        return np.array(self._arrivals, dtype=np.float32).reshape(-1, len(self.lanes))

    # -- internals -------------------------------------------------------------------------

    def _build_lights(self) -> None:
        tl = self._sim.trafficlight
        ids = list(tl.getIDList())
        if not ids:
            self.close()
            raise CityfocusError(f"scenario {self.scenario.name}: network {self.scenario.net} "
                                 "has no traffic lights; signal control needs at least one")
        for tls in ids:
            if self.program is not None:
                tl.setProgram(tls, self.program)
            current = tl.getProgram(tls)
            logic = next(lg for lg in tl.getAllProgramLogics(tls) if lg.programID == current)
            links = [[(inc, out) for inc, out, _via in group]
                     for group in tl.getControlledLinks(tls)]
            light = Light(tls, [p.state for p in logic.phases],
                          [float(p.duration) for p in logic.phases], links, self.min_green)
            if len(light.greens) < 2:
                continue  # nothing to choose between: the light keeps its programme
            self.lights[tls] = light
            self.incoming[tls] = list(dict.fromkeys(inc for g in links for inc, _ in g))
        if not self.lights:
            self.close()
            raise CityfocusError(f"scenario {self.scenario.name}: no traffic light in "
                                 f"{self.scenario.net} has two or more green phases to switch")
        self.lanes = list(dict.fromkeys(lane for v in self.incoming.values() for lane in v))
        self.lane_index = {lane: i for i, lane in enumerate(self.lanes)}
        self._seen = {lane: set() for lane in self.lanes}
        self._lane_length = {lane: self._sim.lane.getLength(lane) for lane in self.lanes}
        self._outgoing = list(dict.fromkeys(out for light in self.lights.values()
                                            for out in light.outgoing()))
        self._out_length = {lane: self._sim.lane.getLength(lane) for lane in self._outgoing}
        self._full, self._full_at = set(), -1.0
        self._backlog, self._backlog_at, self._first_edge = {}, -1.0, {}
        self._bin_arrivals = np.zeros(len(self.lanes))
        self._arrivals = []
        self._bin_end = self.scenario.begin + self.bin_seconds
        if self.controlled:
            now = self.now
            for light in self.lights.values():
                light.start(tl, now)

    def _update_lanes(self) -> None:
        lane_api = self._sim.lane
        for i, lane in enumerate(self.lanes):
            self.halting[lane] = lane_api.getLastStepHaltingNumber(lane)
            order = list(lane_api.getLastStepVehicleIDs(lane))
            ids = set(order)
            self._bin_arrivals[i] += len(ids - self._seen[lane])
            self._seen[lane] = ids
            self._on_lane[lane] = order
        self.max_queue = max(self.max_queue, sum(self.halting.values()))
        if self.now >= self._bin_end:
            self._arrivals.append(self._bin_arrivals.copy())
            self._bin_arrivals[:] = 0
            self._bin_end += self.bin_seconds

    def bin_of(self, time: float) -> int:
        """Index of the arrival bin holding simulated second ``time``."""
        return int((time - self.scenario.begin) // self.bin_seconds)

"""The ``cityfocus`` controller: forecast each approach's arrivals, split the cycle's green
with the allocation engine's ``delay`` utility, and correct the forecast from what it sees.

Per light, whenever a green is to be chosen: the forecaster (fitted on lane arrival counts of
earlier simulated days) gives each incoming lane's arrivals over the next bins; an online
factor per light (an exponential average of observed / forecast arrivals in the last finished
bin) scales them; the vehicles already queued are added as flow to serve within the cycle. A
green's demand is its busiest lane's flow. The cycle follows Webster's formula on these flows,
and the green time ``C - L`` is split by ``solve(AllocationProblem(demand, (C - L) / C,
"delay", ...))`` with bounds ``[max(min_green / C, flow / saturation), max_green / C]``.
The light holds the chosen green while it has vehicles to serve (one it lets go is halting or
due at the stop line within ``gap`` seconds), for at least ``min_green`` and at most
``stretch`` times its allotted seconds (capped at ``max_green``), then switches to the green
that would let the most queued vehicles go. Queued vehicles are read movement by movement from
their routes, stop line first, so a vehicle waiting to turn where a green holds it back blocks
its lane for that green.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.data.citydata import CityData
from cityfocus.signals.controllers import Action
from cityfocus.signals.env import VEHICLE_SPACE, SignalEnv
from cityfocus.signals.light import Light
from cityfocus.signals.plans import SATURATION, CyclePlanner, critical_ratios, webster_cycle

# Calendar anchor of simulated days: a Monday, so every day is a day of the history.
_EPOCH = pd.Timestamp("2026-01-05")


@dataclass
class ArrivalHistory:
    """Arrivals per incoming lane on earlier simulated days, the forecaster's training data.

    Attributes:
        lanes: incoming lane ids (the forecast's zones), in the environment's order.
        bin_seconds: length of one count bin.
        begin: simulated second the counts start at (the scenario's begin).
        days: one ``[bins, lanes]`` array of counts per simulated day.
    """

    lanes: list[str]
    bin_seconds: float
    begin: float
    days: list[np.ndarray] = field(default_factory=list)

    def citydata(self, day: int, counts: np.ndarray, bins: int) -> CityData:
        """``counts [b, lanes]`` as simulated day ``day``, ``bins`` steps long (rest unobserved)."""
        values = np.zeros((bins, len(self.lanes), 1), dtype=np.float32)
        mask = np.zeros_like(values, dtype=bool)
        values[: len(counts), :, 0] = counts[:bins]
        mask[: len(counts)] = True
        start = _EPOCH + pd.Timedelta(days=day, seconds=self.begin)
        stamps = pd.date_range(start, periods=bins, freq=pd.Timedelta(seconds=self.bin_seconds))
        return CityData(values, stamps, mask=mask, zones=self.lanes, features=["arrivals"],
                        name="simulated lane arrivals")

    def training_data(self) -> CityData:
        """All days on one fixed-step time axis (the hours outside each run unobserved)."""
        per_day = int(round(86400 / self.bin_seconds))
        offset = int(self.begin // self.bin_seconds)
        values = np.zeros((per_day * len(self.days), len(self.lanes), 1), dtype=np.float32)
        mask = np.zeros_like(values, dtype=bool)
        for k, counts in enumerate(self.days):
            rows = slice(k * per_day + offset, k * per_day + offset + len(counts))
            values[rows, :, 0] = counts
            mask[rows] = True
        stamps = pd.date_range(_EPOCH, periods=len(values),
                               freq=pd.Timedelta(seconds=self.bin_seconds))
        return CityData(values, stamps, mask=mask, zones=self.lanes, features=["arrivals"],
                        name="simulated lane arrivals")


class CityfocusController(CyclePlanner):
    """Forecast, then allocate each cycle's green time (see the module docstring).

    Args:
        history: arrival counts of earlier days (``collect_history``).
        forecaster: a ``make_forecaster`` name; ``historical_average`` by default.
        horizon: bins forecast ahead (the next cycle).
        adapt: weight of the newest bin in the online observed / forecast factor.
        queue_weight: share of the vehicles already queued added to the cycle's demand.
        gap: a green still has vehicles to serve while one it lets go is halting or due at
            the stop line within this many seconds.
        stretch: a green may run up to this multiple of its allotted seconds (at most
            ``max_green``) while it still has vehicles to serve.
        max_red: a green with vehicles waiting is never kept red longer than this (seconds
            from when it ended; default ``max_cycle``).
        spill_share: a lane whose halting queue fills more than this share of its length,
            or an entry edge with vehicles held outside, is about to spill back.
    """

    name = "cityfocus"

    def __init__(self, history: ArrivalHistory, forecaster: str = "historical_average",
                 horizon: int = 2, adapt: float = 0.3, queue_weight: float = 1.0,
                 gap: float = 2.0, stretch: float = 2.0, min_green: float = 5.0,
                 max_green: float = 60.0, max_cycle: float = 120.0,
                 max_red: float | None = None, spill_share: float = 0.9) -> None:
        super().__init__(min_green, max_green, max_cycle)
        self.history = history
        self.forecaster = forecaster
        self.horizon = horizon
        self.adapt = adapt
        self.queue_weight = queue_weight
        self.gap = gap
        self.stretch = stretch
        self.max_red = max_cycle if max_red is None else max_red
        self.spill_share = spill_share

    def reset(self, env: SignalEnv) -> None:
        from cityfocus.models.registry import make_forecaster

        super().reset(env)
        if env.lanes != self.history.lanes:
            raise ValueError("arrival history was recorded on other lanes than this network's")
        params = {"weekly": False} if self.forecaster == "historical_average" else {}
        lookback = 0 if self.forecaster == "historical_average" else 10
        self.model_ = make_forecaster(self.forecaster, lookback, self.horizon, **params)
        self.model_.fit(self.history.training_data())
        span = env.scenario.end - env.scenario.begin
        self._bins = int(np.ceil(span / env.bin_seconds)) + self.horizon
        self._forecasts: dict[int, np.ndarray] = {}
        self._factor = {tls: 1.0 for tls in env.lights}
        self._factor_bin = {tls: 0 for tls in env.lights}
        self._allotted: dict[str, float] = {}
        # When each green last ended (the run's start for one not shown yet).
        # When each signal index of each light last showed green (the run's start if never).
        self._green_at = {tls: [env.now] * len(light.states[0])
                          for tls, light in env.lights.items()}

    def forecast(self, env: SignalEnv, at: int) -> np.ndarray:
        """Forecast arrivals ``[horizon, lanes]`` for bins ``at ..`` from the counts so far."""
        if at not in self._forecasts:
            at_model = max(at, getattr(self.model_, "lookback", 0))
            live = self.history.citydata(len(self.history.days), env.arrivals()[:at],
                                         max(self._bins, at_model + 1))
            self._forecasts[at] = np.maximum(self.model_.predict(live, at=at_model).mean, 0.0)
        return self._forecasts[at]

    def _update_factor(self, env: SignalEnv, tls: str) -> float:
        done = len(env.arrivals()) if env.now >= env.scenario.begin + env.bin_seconds else 0
        if done > self._factor_bin[tls]:
            last = done - 1
            idx = [env.lane_index[lane] for lane in env.incoming[tls]]
            seen = float(env.arrivals()[last, idx].sum())
            expected = float(self.forecast(env, last)[0, idx].sum())
            ratio = (seen + 1.0) / (expected + 1.0)
            self._factor[tls] = (1 - self.adapt) * self._factor[tls] + self.adapt * ratio
            self._factor_bin[tls] = done
        return self._factor[tls]

    def act(self, env: SignalEnv) -> Action:
        """Hold a green while it has vehicles to serve and its (stretched) allotted seconds
        last, then switch to the green with the most queued vehicles it can let go and allot
        it its share of the cycle; a green kept red ``max_red`` seconds with vehicles
        waiting, or serving a lane about to spill back, is served first."""
        action, now = {}, env.now
        full = env.full_lanes()
        for tls, light in env.lights.items():
            green = light.green
            if green is None or now - light.since < self.min_green:
                continue
            vehicles = {lane: env.approach(lane) for lane in light.shares}
            waiting = self.waiting(env, light, vehicles, full)
            green_at, state = self._green_at[tls], light.states[light.phase]
            for i, c in enumerate(state):
                if c in "Gg":
                    green_at[i] = now
            overdue = [g for g in light.starved(vehicles, green_at, now, self.max_red)
                       if g != green]
            risk = self.spill_risk(env, light, waiting)
            busy = any(light.discharge(green, lane, seen, self.gap, full) > 0
                       for lane, seen in vehicles.items())
            if not overdue and busy and now - light.since < self._allotted.get(tls, 0.0):
                continue
            urgent = [g for g in range(len(waiting)) if g != green and risk[g] > 0]
            if overdue:
                best = max(overdue, key=waiting.__getitem__)
            else:
                pool = urgent or [g for g in range(len(waiting)) if g != green]
                best = max(pool, key=lambda g: (risk[g], waiting[g]))
            if waiting[best] <= 0:
                continue  # nobody waits elsewhere: keep the green
            planned = float(self.plan(env, tls, light)[best])
            # The plan is a fixed-cycle split; an actuated green may outrun it while traffic
            # keeps coming, up to max_green.
            self._allotted[tls] = max(planned, min(self.stretch * planned, self.max_green))
            action[tls] = best
        return action

    def waiting(self, env: SignalEnv, light: Light, vehicles: dict[str, list[tuple[str, float]]],
                full: set[str]) -> list[float]:
        """Per green: queued vehicles it would let go (``Light.discharge``; none into a full
        lane)."""
        return [float(sum(light.discharge(g, lane, seen, full=full)
                          for lane, seen in vehicles.items()))
                for g in range(len(light.greens))]

    def spill_risk(self, env: SignalEnv, light: Light, waiting: list[float]) -> list[float]:
        """Per green: how far past ``spill_share`` of their length the queues of the lanes
        it serves reach (a queue that reaches an upstream junction or the network's edge
        blocks it); 0 for a green with nobody it could let go."""
        risk = [0.0] * len(light.greens)
        for lane, shares in light.shares.items():
            excess = env.queue_share(lane) - self.spill_share
            if env.backlog_on(lane.rsplit("_", 1)[0]):
                excess = max(excess, 0.0) + 1.0
            if excess <= 0:
                continue
            for g, share in enumerate(shares):
                if share > 0 and waiting[g] > 0:
                    risk[g] = max(risk[g], excess)
        return risk

    def plan(self, env: SignalEnv, tls: str, light: Light) -> list[float]:
        factor = self._update_factor(env, tls)
        ahead = self.forecast(env, env.bin_of(env.now)).mean(0) * 3600.0 / env.bin_seconds
        flows = {lane: factor * float(ahead[env.lane_index[lane]]) for lane in env.incoming[tls]}
        lost = light.lost_time()
        cycle = webster_cycle(critical_ratios(light, flows), lost, self.min_cycle(light),
                              self.max_cycle)
        # Vehicles already queued must also be served within the coming cycle.
        for lane in flows:
            flows[lane] += self.queue_weight * env.lane_halting(lane) * 3600.0 / cycle
        demand = np.minimum(critical_ratios(light, flows) * SATURATION, 0.95 * SATURATION)
        clear, room = self.spill_bounds(env, light)
        return list(self.split_green(demand, cycle, lost, clear, room))

    def spill_bounds(self, env: SignalEnv, light: Light) -> tuple[np.ndarray, np.ndarray]:
        """Per green ``[greens]``: seconds needed to bring the queues of the lanes it serves
        back under ``spill_share`` of their length (a lower bound on its green), and seconds
        of discharge its outgoing lanes still have room for (an upper bound: beyond it no
        movement of the green can go)."""
        per_vehicle = 3600.0 / SATURATION
        clear = np.zeros(len(light.greens))
        for lane, shares in light.shares.items():
            excess = (env.queue_share(lane) - self.spill_share) * env.lane_length(lane)
            if excess > 0:
                seconds = excess / VEHICLE_SPACE * per_vehicle
                clear = np.maximum(clear, np.where(np.asarray(shares) > 0, seconds, 0.0))
        room = np.array([max((env.room(out) for _, out in light.served_links(g)), default=0.0)
                         for g in range(len(light.greens))]) * per_vehicle
        return clear, room

    def split_green(self, demand: np.ndarray, cycle: float, lost: float,
                    clear: np.ndarray | None = None,
                    room: np.ndarray | None = None) -> np.ndarray:
        """Green seconds per phase: the ``delay``-optimal split of ``cycle - lost``.

        Bounds (shares of the cycle): each green gets at least ``min_green`` and its flow
        ratio, and at most ``max_green``; with spillback bounds (``spill_bounds``) also at
        least ``clear`` and at most ``max(min_green, room)`` seconds. When the bounds cannot
        all hold with the whole budget, the flow-ratio and then the spillback bounds are
        dropped, in that order."""
        n = len(demand)
        budget = (cycle - lost) / cycle
        floor = np.full(n, self.min_green / cycle)
        upper = np.maximum(np.full(n, self.max_green / cycle), budget / n)
        lower = floor
        needed = np.maximum(floor, demand / SATURATION)
        if needed.sum() <= budget:
            lower = np.minimum(needed, upper)
        if clear is not None and room is not None:
            spill_upper = np.minimum(upper, np.maximum(floor, room / cycle))
            spill_lower = np.minimum(np.maximum(lower, clear / cycle), spill_upper)
            if spill_lower.sum() <= budget <= spill_upper.sum():
                lower, upper = spill_lower, spill_upper
        if demand.sum() <= 0:
            return np.full(n, budget * cycle / n)
        alloc = solve(AllocationProblem(np.maximum(demand, 1e-6), budget, "delay", lower=lower,
                                        upper=upper, saturation=SATURATION, cycle=cycle))
        return np.asarray(alloc.w) * cycle

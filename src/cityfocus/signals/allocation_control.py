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
from cityfocus.signals.env import SignalEnv
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
    """

    name = "cityfocus"

    def __init__(self, history: ArrivalHistory, forecaster: str = "historical_average",
                 horizon: int = 2, adapt: float = 0.3, queue_weight: float = 1.0,
                 gap: float = 2.0, stretch: float = 1.5, min_green: float = 5.0,
                 max_green: float = 60.0, max_cycle: float = 120.0) -> None:
        super().__init__(min_green, max_green, max_cycle)
        self.history = history
        self.forecaster = forecaster
        self.horizon = horizon
        self.adapt = adapt
        self.queue_weight = queue_weight
        self.gap = gap
        self.stretch = stretch

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
        it its share of the cycle."""
        action, now = {}, env.now
        for tls, light in env.lights.items():
            green = light.green
            if green is None or now - light.since < self.min_green:
                continue
            vehicles = {lane: env.approach(lane) for lane in light.shares}
            busy = any(light.discharge(green, lane, seen, self.gap) > 0
                       for lane, seen in vehicles.items())
            if busy and now - light.since < self._allotted.get(tls, 0.0):
                continue
            waiting = [sum(light.discharge(g, lane, seen) for lane, seen in vehicles.items())
                       for g in range(len(light.greens))]
            best = max((g for g in range(len(light.greens)) if g != green),
                       key=waiting.__getitem__)
            if waiting[best] <= 0:
                continue  # nobody waits elsewhere: keep the green
            planned = float(self.plan(env, tls, light)[best])
            # The plan is a fixed-cycle split; an actuated green may outrun it while traffic
            # keeps coming, up to max_green.
            self._allotted[tls] = max(planned, min(self.stretch * planned, self.max_green))
            action[tls] = best
        return action

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
        return list(self.split_green(demand, cycle, lost))

    def split_green(self, demand: np.ndarray, cycle: float, lost: float) -> np.ndarray:
        """Green seconds per phase: the ``delay``-optimal split of ``cycle - lost``."""
        budget = (cycle - lost) / cycle
        lower = np.full(len(demand), self.min_green / cycle)
        upper = np.maximum(np.full(len(demand), self.max_green / cycle), budget / len(demand))
        needed = np.maximum(lower, demand / SATURATION)
        if needed.sum() <= budget:
            lower = np.minimum(needed, upper)
        if demand.sum() <= 0:
            return np.full(len(demand), budget * cycle / len(demand))
        alloc = solve(AllocationProblem(np.maximum(demand, 1e-6), budget, "delay", lower=lower,
                                        upper=upper, saturation=SATURATION, cycle=cycle))
        return np.asarray(alloc.w) * cycle

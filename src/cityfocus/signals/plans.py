"""Cycle-based control: each light runs a plan of green durations, one cycle at a time, and
Webster's controller, whose plan comes from flows measured in a warm-up.

Webster (1958): with ``y_p`` the critical flow ratio (flow / saturation flow of the busiest
lane) of phase ``p``, ``Y = sum_p y_p`` and ``L`` the lost time per cycle, the optimal cycle
is ``C = (1.5 L + 5) / (1 - Y)`` and the effective green ``C - L`` is split in proportion to
``y_p``.
"""

from __future__ import annotations

import numpy as np

from cityfocus.signals.controllers import Action, Controller
from cityfocus.signals.env import SignalEnv
from cityfocus.signals.light import Light

SATURATION = 1800.0  # veh/h per lane: the usual saturation flow of one through lane
MAX_FLOW_RATIO = 0.9  # Y is capped below 1, where Webster's cycle would be infinite


def critical_ratios(light: Light, lane_flows: dict[str, float],
                    saturation: float = SATURATION) -> np.ndarray:
    """``y_p``: the largest flow / saturation a green must serve on one lane ``[greens]``.

    Each lane's flow is charged to greens by ``Light.lane_shares`` (movement by movement).
    """
    y = np.zeros(len(light.greens))
    for lane, row in light.shares.items():
        y = np.maximum(y, np.asarray(row) * lane_flows.get(lane, 0.0))
    return y / saturation


def webster_cycle(y: np.ndarray, lost: float, min_cycle: float, max_cycle: float) -> float:
    """Webster's optimal cycle ``(1.5 L + 5) / (1 - Y)``, clipped to ``[min, max]``."""
    total = min(float(y.sum()), MAX_FLOW_RATIO)
    return float(np.clip((1.5 * lost + 5.0) / (1.0 - total), min_cycle, max_cycle))


class CyclePlanner(Controller):
    """Runs per-light plans ``[(green, seconds), ...]``; ``plan`` makes the next cycle's.

    A plan's greens are shown in the programme's order, each for its seconds once the light
    has reached it (the programme's yellow in between is not counted).
    """

    def __init__(self, min_green: float = 5.0, max_green: float = 60.0,
                 max_cycle: float = 120.0) -> None:
        super().__init__(min_green, max_green)
        self.max_cycle = max_cycle

    def reset(self, env: SignalEnv) -> None:
        self._plans: dict[str, list[tuple[int, float]]] = {tls: [] for tls in env.lights}

    def plan(self, env: SignalEnv, tls: str, light: Light) -> list[float]:
        """Green seconds for each green of ``light`` for the next cycle ``[greens]``."""
        raise NotImplementedError

    def act(self, env: SignalEnv) -> Action:
        action, now = {}, env.now
        for tls, light in env.lights.items():
            green = light.green
            if green is None:
                continue
            queue = self._plans[tls]
            if queue and queue[0][0] == green and now - light.since >= queue[0][1]:
                queue.pop(0)
            if not queue:
                seconds = self.plan(env, tls, light)
                n = len(light.greens)
                order = [(green + 1 + k) % n for k in range(n)]
                queue.extend((g, float(seconds[g])) for g in order)
            if queue[0][0] != green:
                action[tls] = queue[0][0]
        return action

    def min_cycle(self, light: Light) -> float:
        return light.lost_time() + self.min_green * len(light.greens)


class Webster(CyclePlanner):
    """Webster's cycle and splits from the flows of a warm-up, then fixed for the run.

    During the warm-up (``warmup`` seconds, at most a third of the run) the lights show the
    programme's own green durations while arrivals on each incoming lane are counted.
    """

    name = "webster"

    def __init__(self, min_green: float = 5.0, max_green: float = 60.0,
                 max_cycle: float = 120.0, warmup: float = 600.0) -> None:
        super().__init__(min_green, max_green, max_cycle)
        self.warmup = warmup

    def reset(self, env: SignalEnv) -> None:
        super().reset(env)
        span = env.scenario.end - env.scenario.begin
        self._warm_until = env.scenario.begin + min(self.warmup, span / 3)
        self._splits: dict[str, np.ndarray] = {}

    def plan(self, env: SignalEnv, tls: str, light: Light) -> list[float]:
        if env.now < self._warm_until:
            return [light.durations[p] for p in light.greens]
        if tls not in self._splits:
            self._splits[tls] = self._webster(env, light)
        return list(self._splits[tls])

    def _webster(self, env: SignalEnv, light: Light) -> np.ndarray:
        counts = env.arrivals()
        seconds = max(len(counts) * env.bin_seconds, 1.0)
        totals = counts.sum(0) * 3600.0 / seconds
        flows = {lane: float(totals[env.lane_index[lane]]) for lane in env.lanes}
        y = critical_ratios(light, flows)
        cycle = webster_cycle(y, light.lost_time(), self.min_cycle(light), self.max_cycle)
        effective = cycle - light.lost_time()
        shares = y / y.sum() if y.sum() > 0 else np.full(len(y), 1.0 / len(y))
        return np.clip(effective * shares, self.min_green, self.max_green)

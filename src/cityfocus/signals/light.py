"""One signalised junction driven phase by phase: hold a green, switch through the programme's
own yellow (and all-red) phases, never cut a green shorter than the minimum.
"""

from __future__ import annotations

from collections.abc import Container
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


class TrafficLights(Protocol):
    """What a light needs of SUMO's traffic-light domain (``libsumo.trafficlight``)."""

    def setRedYellowGreenState(self, tlsID: str, state: str) -> None: ...


def _edge(lane: str) -> str:
    return lane.rsplit("_", 1)[0]


def is_green(state: str) -> bool:
    """A phase that gives right of way (some G/g) and is not a transition (no y/u)."""
    return any(c in "Gg" for c in state) and not any(c in "yu" for c in state)


@dataclass
class Light:
    """The state machine of one traffic light.

    Attributes:
        tls: the traffic light's id.
        states: the programme's phase states, in order.
        durations: the programme's phase durations (s).
        links: per signal index, the ``(incoming lane, outgoing lane)`` pairs it controls.
        min_green: seconds a green is held before a switch may start.
    """

    tls: str
    states: list[str]
    durations: list[float]
    links: list[list[tuple[str, str]]]
    min_green: float = 5.0
    greens: list[int] = field(init=False)
    shares: dict[str, list[float]] = field(init=False)
    turns: dict[str, dict[str, list[int]]] = field(init=False)
    phase: int = field(init=False, default=0)
    since: float = field(init=False, default=0.0)
    target: int | None = field(init=False, default=None)
    pending: list[tuple[str, float]] = field(init=False, default_factory=list)
    _hold: float = field(init=False, default=0.0)

    def __post_init__(self) -> None:
        self.greens = [i for i, s in enumerate(self.states) if is_green(s)]
        self.shares = self.lane_shares()
        # Signal indices per (incoming lane or edge, outgoing edge); lane ids are edge_index.
        self.turns = {}
        for i, group in enumerate(self.links):
            for inc, out in group:
                for key in (inc, _edge(inc)):
                    self.turns.setdefault(key, {}).setdefault(_edge(out), []).append(i)

    @property
    def green(self) -> int | None:
        """Index into ``greens`` of the green being shown, None during a transition."""
        return self.greens.index(self.phase) if self.target is None else None

    def lane_shares(self) -> dict[str, list[float]]:
        """Per incoming lane, the share of its flow each green must serve ``[greens]``.

        A lane's flow is split equally over its movements (signal indices); each movement
        is charged to the first green that gives it priority (``G``), else to the first that
        lets it go while yielding (``g``). So a lane whose left turn has its own protected
        phase loads that phase with the left turn only, not with the whole lane.
        """
        shares: dict[str, list[float]] = {}
        for lane in dict.fromkeys(inc for group in self.links for inc, _ in group):
            signals = [i for i, group in enumerate(self.links) if any(inc == lane
                                                                       for inc, _ in group)]
            row = [0.0] * len(self.greens)
            for i in signals:
                states = [self.states[p][i] for p in self.greens]
                owner = next((g for g, c in enumerate(states) if c == "G"),
                             next((g for g, c in enumerate(states) if c == "g"), None))
                if owner is not None:
                    row[owner] += 1.0 / len(signals)
            shares[lane] = row
        return shares

    def discharge(self, green: int, lane: str, vehicles: list[tuple[str, float]],
                  within: float = 0.0, full: Container[str] = ()) -> int:
        """Vehicles on ``lane`` that green ``green`` lets go before one it holds back: the
        halting ones and those due at the stop line within ``within`` seconds.

        ``vehicles`` are ``(next edge, seconds to the stop line)`` from the stop line back
        (``SignalEnv.approach``); a vehicle whose movement is red in ``green``, or leads only
        into outgoing lanes in ``full`` (no room downstream), blocks the lane behind it. A
        vehicle in a lane that does not lead to its next edge goes once it can change to a
        lane that does (a movement of its edge into that edge); one whose route ends here may
        take any of the lane's movements.
        """
        state, n = self.states[self.greens[green]], 0
        for edge, eta in vehicles:
            signals = self.signals_of(lane, edge)
            if not any(state[i] in "Gg" and any(out not in full for _, out in self.links[i])
                       for i in signals):
                break
            if eta == np.inf or eta <= within:
                n += 1
        return n

    def signals_of(self, lane: str, edge: str) -> list[int]:
        """Signal indices a vehicle on ``lane`` bound for ``edge`` may take (as ``discharge``
        reads them: the lane's own movement, else its edge's, else any of the lane's)."""
        turns, siblings = self.turns.get(lane, {}), self.turns.get(_edge(lane), {})
        return (turns.get(edge) or siblings.get(edge)
                or [i for signals in turns.values() for i in signals])

    def starved(self, vehicles: dict[str, list[tuple[str, float]]],
                green_at: list[float], now: float, max_red: float) -> list[int]:
        """Greens that serve a halting vehicle at the head of its lane whose every movement
        has had no green for ``max_red`` seconds (``green_at``: when each signal index last
        showed green)."""
        found: set[int] = set()
        for lane, seen in vehicles.items():
            if not seen or seen[0][1] != np.inf:
                continue
            signals = self.signals_of(lane, seen[0][0])
            if signals and all(now - green_at[i] >= max_red for i in signals):
                found.update(g for g, p in enumerate(self.greens)
                             if any(self.states[p][i] in "Gg" for i in signals))
        return sorted(found)

    def outgoing(self) -> list[str]:
        """The outgoing lanes of every movement the light controls."""
        return list(dict.fromkeys(out for group in self.links for _, out in group))

    def served_links(self, green: int) -> list[tuple[str, str]]:
        state = self.states[self.greens[green]]
        return list(dict.fromkeys(p for i, c in enumerate(state) if c in "Gg"
                                  for p in self.links[i]))

    def transition(self, green: int) -> list[tuple[str, float]]:
        """States and seconds shown between the current green and green ``green``.

        To the programme's next green: the programme's own yellow (and all-red) phases. To any
        other green: one yellow for the movements that lose right of way, as long as the
        programme's yellow, so that no movement goes from green to red without yellow.
        """
        after, i = [], (self.phase + 1) % len(self.states)
        while not is_green(self.states[i]) and i != self.phase:
            after.append(i)
            i = (i + 1) % len(self.states)
        if i == self.greens[green]:
            return [(self.states[k], self.durations[k]) for k in after]
        yellow = max((self.durations[k] for k in after if "y" in self.states[k]), default=3.0)
        now, target = self.states[self.phase], self.states[self.greens[green]]
        state = "".join("y" if c in "Gg" and t not in "Gg" else c
                        for c, t in zip(now, target, strict=True))
        return [(state, yellow)]

    def lost_time(self) -> float:
        """Seconds of transition per full cycle of the programme."""
        return sum(d for s, d in zip(self.states, self.durations, strict=True) if not is_green(s))

    def start(self, tl: TrafficLights, now: float) -> None:
        """Take control: show the first green and hold it."""
        self._show(tl, self.states[self.greens[0]], now, self.greens[0])

    def request(self, tl: TrafficLights, green: int, now: float) -> None:
        """Ask for green ``green``; starts the switch when allowed, else does nothing."""
        if self.target is not None or self.greens[green] == self.phase:
            return
        if now - self.since < self.min_green:
            return
        self.target = green
        self.pending = self.transition(green)
        self._advance(tl, now)

    def tick(self, tl: TrafficLights, now: float) -> None:
        """Advance a running transition when its current state has been shown long enough."""
        if self.target is not None and now - self.since >= self._hold:
            self._advance(tl, now)

    def _advance(self, tl: TrafficLights, now: float) -> None:
        if self.pending:
            state, seconds = self.pending.pop(0)
            self._show(tl, state, now, self.phase, seconds)
        else:
            target, self.target = self.target, None
            assert target is not None  # a transition runs only towards a target
            self._show(tl, self.states[self.greens[target]], now, self.greens[target])

    def _show(self, tl: TrafficLights, state: str, now: float, phase: int,
              hold: float = 0.0) -> None:
        # Whole states are set, so SUMO holds each one until we change it.
        tl.setRedYellowGreenState(self.tls, state)
        self.phase, self.since, self._hold = phase, now, hold

"""One signalised junction driven phase by phase: hold a green, switch through the programme's
own yellow (and all-red) phases, never cut a green shorter than the minimum.
"""

from __future__ import annotations

from dataclasses import dataclass, field

# A phase held by us is given this duration so that SUMO never advances it on its own.
_HOLD = 1e6


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
    phase: int = field(init=False, default=0)
    since: float = field(init=False, default=0.0)
    target: int | None = field(init=False, default=None)
    pending: list[int] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.greens = [i for i, s in enumerate(self.states) if is_green(s)]

    @property
    def green(self) -> int | None:
        """Index into ``greens`` of the green being shown, None during a transition."""
        return self.greens.index(self.phase) if self.target is None else None

    def served_lanes(self, green: int) -> list[str]:
        """Incoming lanes with right of way in green ``green`` (each once, in link order)."""
        state = self.states[self.greens[green]]
        lanes = [inc for i, c in enumerate(state) if c in "Gg" for inc, _ in self.links[i]]
        return list(dict.fromkeys(lanes))

    def served_links(self, green: int) -> list[tuple[str, str]]:
        state = self.states[self.greens[green]]
        return list(dict.fromkeys(p for i, c in enumerate(state) if c in "Gg"
                                  for p in self.links[i]))

    def transition_after(self, phase: int) -> list[int]:
        """The programme's yellow/all-red phases that follow ``phase``, up to the next green."""
        out, i = [], (phase + 1) % len(self.states)
        while not is_green(self.states[i]) and i != phase:
            out.append(i)
            i = (i + 1) % len(self.states)
        return out

    def lost_time(self) -> float:
        """Seconds of transition per full cycle of the programme."""
        return sum(d for s, d in zip(self.states, self.durations, strict=True) if not is_green(s))

    def start(self, tl, now: float) -> None:
        """Take control: show the first green and hold it."""
        self._show(tl, self.greens[0], now)

    def request(self, tl, green: int, now: float) -> None:
        """Ask for green ``green``; starts the switch when allowed, else does nothing."""
        if self.target is not None or self.greens[green] == self.phase:
            return
        if now - self.since < self.min_green:
            return
        self.target = green
        self.pending = self.transition_after(self.phase)
        self._advance(tl, now)

    def tick(self, tl, now: float) -> None:
        """Advance a running transition when its current phase has run its duration."""
        if self.target is not None and now - self.since >= self.durations[self.phase]:
            self._advance(tl, now)

    def _advance(self, tl, now: float) -> None:
        if self.pending:
            self._show(tl, self.pending.pop(0), now)
        else:
            target, self.target = self.target, None
            self._show(tl, self.greens[target], now)

    def _show(self, tl, phase: int, now: float) -> None:
        tl.setPhase(self.tls, phase)
        tl.setPhaseDuration(self.tls, _HOLD)
        self.phase, self.since = phase, now

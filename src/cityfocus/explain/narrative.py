"""Plain-language sentences: one paragraph per zone from its forecast, drivers and solver facts.

Only formatting lives here; every number comes from ``explanation.explain_allocation``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

# what one unit of attention does, per utility family: verb, object ({v}: amount, {t}: target)
_EFFECT = {
    "coverage": ("intercept", "{v} expected {t}"),
    "log": ("add", "{v} to the log-utility"),
    "variance": ("remove", "{v} of the variance"),
    "linear": ("serve", "{v} more {t}"),
    "delay": ("save", "{v} in delay"),
}


@dataclass(frozen=True)
class ZoneFacts:
    """Everything a zone's paragraph says (numbers in the target's units)."""

    name: str
    demand: float
    rank: int
    n_zones: int
    horizon: str
    target: str
    w: float
    budget: float
    units: bool
    family: str
    next_gain: float
    last_gain: float
    price: float
    gain_at: float
    lose_at: float
    step: float
    drivers: list[tuple[str, float]]
    own_weight: float | None
    recent: str | None
    recent_share: float | None


def number(value: float) -> str:
    """A figure the way a person reads it: 4.1, 0.31, 1,250, 0.004."""
    if not math.isfinite(value):
        return "n/a"
    size = abs(value)
    if size >= 100:
        return f"{value:,.0f}"
    if size >= 1:
        return f"{value:.1f}"
    if size >= 0.1:
        return f"{value:.2f}"
    return f"{value:.2g}"


def duration(delta: pd.Timedelta) -> str:
    """``2 days``, ``3 h``, ``15 min``."""
    minutes = delta.total_seconds() / 60
    if minutes >= 1440 and minutes % 1440 == 0:
        days = int(minutes // 1440)
        return f"{days} day{'s' if days != 1 else ''}"
    if minutes >= 60 and minutes % 60 == 0:
        return f"{int(minutes // 60)} h"
    return f"{minutes:g} min"


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _change(new: float, old: float) -> str:
    return f" ({(new - old) / old:+.0%})" if old > 0 else ""


def effect(family: str, amount: float, target: str, third_person: bool = False) -> str:
    """``intercept 0.31 expected incidents`` (``intercepts`` with ``third_person``)."""
    verb, obj = _EFFECT.get(family, ("gain", "{v}"))
    return f"{verb}{'s' if third_person else ''} " + obj.format(v=number(amount), t=target)


def paragraph(f: ZoneFacts) -> str:
    """One paragraph: what the zone gets, why (forecast, drivers, solver), what would change it."""
    top = max(1, math.ceil(100 * f.rank / f.n_zones))
    if f.units:
        held = int(round(f.w))
        gets = (f"gets {held} of {int(f.budget)} units" if held
                else f"gets none of {int(f.budget)} units")
    else:
        gets = f"gets {f.w / f.budget:.1%} of the budget ({number(f.w)} of {number(f.budget)})"
    parts = [f"{f.name} {gets}: forecast {number(f.demand)} {f.target} {f.horizon}, "
             f"rank {f.rank} of {f.n_zones} (top {top} %)"]
    parts[0] += _drivers_clause(f) + "."
    parts.append(_solver_sentence(f))
    parts.append(_sensitivity_sentence(f))
    return " ".join(p for p in parts if p)


def _drivers_clause(f: ZoneFacts) -> str:
    if not f.drivers and f.own_weight is None:
        return ""
    named = [f"{name} ({weight:.0%})" for name, weight in f.drivers]
    if f.own_weight is not None:
        named.append(f"its own history ({f.own_weight:.0%})")
    listed = named[0] if len(named) == 1 else ", ".join(named[:-1]) + " and " + named[-1]
    clause = f"; driven by {listed}"
    if f.recent:
        clause += f", mostly over the {f.recent} ({f.recent_share:.0%} of the weight)"
    return clause


def _solver_sentence(f: ZoneFacts) -> str:
    if f.units:
        held = int(round(f.w))
        one_more = "A first unit here would" if held == 0 else "One more unit here would"
        text = (f"{one_more} {effect(f.family, f.next_gain, f.target)}; the best extra unit "
                f"anywhere would {effect(f.family, f.price, f.target)} (the city-wide price)")
        if held and math.isfinite(f.last_gain):
            text += f", and its last unit {effect(f.family, f.last_gain, f.target, True)}"
        return text + "."
    if f.w > 0 and abs(f.next_gain - f.price) <= 1e-9 * max(abs(f.price), 1.0):
        return (f"Its marginal value {number(f.next_gain)} equals the city-wide price "
                f"{number(f.price)}, as for every zone whose share is not at a bound.")
    relation = "below" if f.next_gain < f.price else "above"
    return (f"Its marginal value {number(f.next_gain)} is {relation} the city-wide price "
            f"{number(f.price)}, so its share sits at a bound.")


def _sensitivity_sentence(f: ZoneFacts) -> str:
    if f.units:
        held = int(round(f.w))
        more = f"a {ordinal(held + 1)} unit" if held else "a unit"
        less = "one"
    else:
        more, less = f"{number(f.step)} more", number(f.step)
    clauses = []
    if math.isfinite(f.gain_at):
        clauses.append(f"would gain {more} if its forecast rose above {number(f.gain_at)}"
                       f"{_change(f.gain_at, f.demand)}")
    if math.isfinite(f.lose_at):
        clauses.append(f"would lose {less} if it fell below {number(f.lose_at)}"
                       f"{_change(f.lose_at, f.demand)}")
    if not clauses:
        return ""
    return "It " + " and ".join(clauses) + "."

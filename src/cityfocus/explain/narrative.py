"""Plain-language sentences: one paragraph per zone from its forecast, drivers and solver facts,
and its one-line form for tables (``brief``).

Only wording lives here; every number comes from ``explanation.explain_allocation`` and is
printed by ``formatting`` (figures that decide an outcome with enough digits to tell apart).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from cityfocus.explain.formatting import count, distinct, number, ordinal, plural, signed_percent

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


def _change(new: float, old: float) -> str:
    return f" ({signed_percent((new - old) / old, decimals=0)})" if old > 0 else ""


def effect(family: str, amount: str, target: str, third_person: bool = False) -> str:
    """``intercept 0.31 expected incidents`` (``intercepts`` with ``third_person``); ``amount``
    is the figure already printed."""
    verb, obj = _EFFECT.get(family, ("gain", "{v}"))
    return f"{verb}{'s' if third_person else ''} " + obj.format(v=amount, t=target)


def holding(w: float, budget: float, units: bool) -> str:
    """``2 of 5 units``, ``none of 5 units``, ``31.0% of the budget (0.31 of 1.0)``."""
    if units:
        held = int(round(w))
        return f"{count(held) if held else 'none'} of {plural(budget, 'unit')}"
    share = w / budget if budget > 0 else 0.0
    return f"{share:.1%} of the budget ({number(w)} of {number(budget)})"


def paragraph(f: ZoneFacts) -> str:
    """One paragraph: what the zone gets, why (forecast, drivers, solver), what would change it."""
    top = max(1, math.ceil(100 * f.rank / f.n_zones))
    demand, gain_at, lose_at = distinct(f.demand, f.gain_at, f.lose_at)
    parts = [f"{f.name} gets {holding(f.w, f.budget, f.units)}: forecast {demand} {f.target} "
             f"{f.horizon}, rank {f.rank} of {f.n_zones} (top {top} %)"]
    parts[0] += _drivers_clause(f) + "."
    parts.append(_solver_sentence(f))
    parts.append(_sensitivity_sentence(f, gain_at, lose_at))
    return " ".join(p for p in parts if p)


def brief(f: ZoneFacts) -> str:
    """The paragraph in one line for a table that already shows the zone and its forecast:
    what it gets, its forecast rank and the solver's reason (``3 of 10 units, forecast rank 1
    of 24: its last unit intercepts 6.2 expected incidents, one more would intercept 3.7; the
    city-wide price is 6.1``)."""
    head = f"{holding(f.w, f.budget, f.units)}, forecast rank {f.rank} of {f.n_zones}: "
    if not f.units:
        if _at_price(f):
            return head + f"marginal value {number(f.next_gain)}, the city-wide price"
        marginal, price = distinct(f.next_gain, f.price)
        relation = "below" if f.next_gain < f.price else "above"
        return (head + f"marginal value {marginal} {relation} the city-wide price {price} "
                "(at a bound)")
    nxt, price, last = distinct(f.next_gain, f.price, f.last_gain)
    if int(round(f.w)) and math.isfinite(f.last_gain):
        verb = _EFFECT.get(f.family, ("gain", ""))[0]
        text = (head + f"its last unit {effect(f.family, last, f.target, True)}, one more "
                f"would {verb} {nxt}")
    else:
        text = head + f"a first unit would {effect(f.family, nxt, f.target)}"
    if f.next_gain == f.price:
        return text + " (the best extra unit anywhere: the city-wide price)"
    return text + f"; the city-wide price is {price}"


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
        nxt, price, last = distinct(f.next_gain, f.price, f.last_gain)
        one_more = "A first unit here would" if held == 0 else "One more unit here would"
        if f.next_gain == f.price:  # this zone holds the best unit left out
            text = (f"{one_more} {effect(f.family, nxt, f.target)}, the best extra unit "
                    "anywhere (it sets the city-wide price)")
        else:
            text = (f"{one_more} {effect(f.family, nxt, f.target)}; the best extra unit "
                    f"anywhere would {effect(f.family, price, f.target)} (the city-wide price)")
        if held and math.isfinite(f.last_gain):
            text += f", and its last unit {effect(f.family, last, f.target, True)}"
        return text + "."
    marginal, price = distinct(f.next_gain, f.price)
    if _at_price(f):
        return (f"Its marginal value {number(f.next_gain)} equals the city-wide price "
                f"{number(f.price)}, as for every zone whose share is not at a bound.")
    relation = "below" if f.next_gain < f.price else "above"
    return (f"Its marginal value {marginal} is {relation} the city-wide price "
            f"{price}, so its share sits at a bound.")


def _at_price(f: ZoneFacts) -> bool:
    """Shares: the zone's marginal value is the price (KKT, a share strictly inside its bounds)."""
    return f.w > 0 and abs(f.next_gain - f.price) <= 1e-9 * max(abs(f.price), 1.0)


def _sensitivity_sentence(f: ZoneFacts, gain_at: str, lose_at: str) -> str:
    if f.units:
        held = int(round(f.w))
        more = f"a {ordinal(held + 1)} unit" if held else "a unit"
        less = "one"
    else:
        more, less = f"{number(f.step)} more", number(f.step)
    clauses = []
    if math.isfinite(f.gain_at):
        clauses.append(f"would gain {more} if its forecast rose above {gain_at}"
                       f"{_change(f.gain_at, f.demand)}")
    if math.isfinite(f.lose_at):
        clauses.append(f"would lose {less} if it fell below {lose_at}"
                       f"{_change(f.lose_at, f.demand)}")
    if not clauses:
        return ""
    return "It " + " and ".join(clauses) + "."

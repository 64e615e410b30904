"""The report's first lines: budget, objective, the top zones and why, the margin, the rule.

Plain text only (the report escapes and lays it out); every figure that decides an outcome
is printed with ``formatting.distinct`` so the two sides never read as equal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from cityfocus.explain.baseline import moved
from cityfocus.explain.explanation import CityExplanation, ZoneExplanation
from cityfocus.explain.formatting import distinct, number, ordinal, plural, signed_percent
from cityfocus.explain.narrative import effect

NO_GRAPH = "This model had no road/zone graph: spatial drivers are learned from data only."
NO_ATTENTION = "This model has no attention maps, so no zone is named as a driver."
# how many zones the rule comparison names on each side
_LISTED = 4


@dataclass(frozen=True)
class Summary:
    """What a duty officer reads first.

    Attributes:
        headline: the budget, the zones and the period.
        top: one line per top zone: what it gets and why.
        margin: the weakest unit given against the best unit left out (units only).
        rule: what differs from the proportional rule, and both objectives.
        caveats: limits of this explanation (no graph, no attention).
    """

    headline: str
    top: list[str]
    margin: str | None
    rule: str
    caveats: list[str]


def _label(z: ZoneExplanation) -> str:
    return z.zone if z.name == z.zone else f"{z.zone} ({z.name})"


def headline(expl: CityExplanation) -> str:
    """``5 units across 6 zones: 4 zones get at least 1 unit. Objective (...): 7.25.``"""
    view = expl.view
    n, given = len(expl.zones), sum(z.w > 0 for z in expl.zones)
    verb = "gets" if given == 1 else "get"
    if view.units:
        budget, some = plural(view.budget, "unit"), "at least 1 unit"
    else:
        budget, some = f"A budget of {number(view.budget)}", "a share"
    sense = "maximised" if view.sense == "max" else "minimised"
    exact, _ = distinct(expl.rule.exact, expl.rule.objective)
    return (f"{budget} across {plural(n, 'zone')}: {plural(given, 'zone')} {verb} {some}. "
            f"Objective ({view.family}, {sense}): {exact}.")


def top_line(expl: CityExplanation, z: ZoneExplanation) -> str:
    """``z01 (Zone 1): 2 units; forecast 4.5 incidents (rank 1 of 6); its last unit ...``"""
    view = expl.view
    amount = plural(z.w, "unit") if view.units else f"{z.share:.1%} of the budget"
    line = (f"{_label(z)}: {amount}; forecast {number(z.demand)} {expl.target} (rank {z.rank} "
            f"of {len(expl.zones)})")
    if view.units and math.isfinite(z.last_gain):
        last, price = distinct(z.last_gain, view.price)
        line += (f"; its last unit {effect(view.family, last, expl.target, True)} vs {price} "
                 "for the best unit left out")
    elif z.drivers:
        zone, weight = z.drivers[0]
        line += f"; draws most on {zone} ({weight:.0%}) among other zones"
    return line


def margin_line(expl: CityExplanation) -> str | None:
    """The unit decided last: the weakest unit given against the best one left out."""
    view = expl.view
    if not view.units:
        return None
    held = np.isfinite(view.last_gain) & (view.w > 0)
    free = view.next_gain > 0
    if not held.any() or not free.any():
        return None
    weak = int(np.flatnonzero(held)[np.argmin(view.last_gain[held])])
    best = int(np.argmax(np.where(free, view.next_gain, -np.inf)))
    ids = {z.index: z.zone for z in expl.zones}
    last, nxt = distinct(float(view.last_gain[weak]), float(view.next_gain[best]))
    return (f"Decided at the margin: the weakest unit given, {ids[weak]}'s "
            f"{ordinal(int(round(view.w[weak])))}, {effect(view.family, last, expl.target, True)}; "
            f"the best unit left out, a {ordinal(int(round(view.w[best])) + 1)} in {ids[best]}, "
            f"would {effect(view.family, nxt, expl.target)}.")


def rule_line(expl: CityExplanation) -> str:
    """What the exact plan moves against the proportional rule, and both objectives."""
    view, rule = expl.view, expl.rule
    how = ("units in proportion to the same forecast, whole units by largest remainder"
           if view.units else "shares in proportion to the same forecast")
    name = f"the proportional rule ({how}"
    name += "; it ignores the zones' bounds)" if not rule.within_bounds else ")"
    diff = moved(view.w, rule.w, view.budget, view.units)
    exact, ruled = distinct(rule.exact, rule.objective)
    if not diff.any():
        verb = "score" if rule.sense == "max" else "cost"
        return f"The exact plan is the plan of {name}: both {verb} {exact}."
    ids = {z.index: z.zone for z in expl.zones}
    more = _moves(diff, ids, view.units, view.budget, gained=True)
    less = _moves(diff, ids, view.units, view.budget, gained=False)
    change = rule.exact / rule.objective - 1 if rule.objective else float("nan")
    pct = f" ({signed_percent(change)})" if math.isfinite(change) else ""
    parts = [p for p in (f"more to {more}" if more else "", f"less to {less}" if less else "")
             if p]
    verb = "scores" if rule.sense == "max" else "costs"
    points = "" if view.units else " (pp: percentage points of the budget)"
    return (f"The exact plan gives {' and '.join(parts)}{points} than {name}, and {verb} "
            f"{exact} vs {ruled}{pct}.")


def _moves(diff: np.ndarray, ids: dict[int, str], units: bool, budget: float,
           gained: bool) -> str:
    picked = np.flatnonzero(diff > 0 if gained else diff < 0)
    picked = picked[np.argsort(-np.abs(diff[picked]), kind="stable")]
    shown = [f"{ids[int(i)]} ({_amount(float(diff[i]), units, budget)})"
             for i in picked[:_LISTED]]
    if len(picked) > _LISTED:
        shown.append(plural(len(picked) - _LISTED, "other zone"))
    return shown[0] if len(shown) == 1 else ", ".join(shown[:-1]) + " and " + shown[-1]


def _amount(delta: float, units: bool, budget: float) -> str:
    """``+1 unit``, ``-2 units``; shares in percentage points of the budget: ``+3.1 pp``."""
    sign = "+" if delta > 0 else "-"
    if units:
        return f"{sign}{plural(abs(delta), 'unit')}"
    return f"{sign}{number(100 * abs(delta) / budget)} pp"


def summarise(expl: CityExplanation, most: int = 5) -> Summary:
    """The summary of ``expl`` naming at most ``most`` top zones."""
    caveats = []
    if not expl.graph:
        caveats.append(NO_GRAPH)
    if expl.attribution is None:
        caveats.append(NO_ATTENTION)
    return Summary(headline(expl), [top_line(expl, z) for z in expl.top(most)],
                   margin_line(expl), rule_line(expl), caveats)

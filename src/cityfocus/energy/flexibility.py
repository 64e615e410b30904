"""The daily flexibility decision: a budget of curtailable infeed (MWh per day) allocated
across zones and hours so that reverse flows overload no line or transformer and no node's
voltage rises above its limit.

Planning uses the grid's linear model on a forecast of each zone's net load: an element
carries the net load of every zone it feeds (``GridCase.flows``), a zone's voltage rises by
``S_ki`` p.u. per MW injected at zone ``i`` (``GridCase.voltages``, offsets fitted on training
power flows). Each violation, in MW-equivalents, is shared among the zones that relieve it;
curtailing ``w`` MW in zone ``i`` in quarter-hour ``q`` removes ``d_iq`` MW-equivalents per MW
(1 per overloaded element on its path, ``S_ki / S_kk`` per over-voltage bus ``k``) until its
share ``cap_iq`` is gone; past it, curtailing more relieves nothing: ``d_iq min(w, cap_iq)``,
the ``linear`` family, concave and separable, which the exact engine solves (a sorted greedy)
under ``sum w = budget``. Over an hour's quarter-hours and over forecast-error scenarios the
value is a sum of such terms, which ``plan_day`` splits into ``linear`` pieces.
"""

from __future__ import annotations

import numpy as np

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.data.readers.simbench_grid import STEPS_PER_DAY
from cityfocus.energy.grid import GridCase

HOURS = 24
STEPS_PER_HOUR = STEPS_PER_DAY // HOURS
RULES = ("no action", "uniform", "proportional", "largest nodes")
LARGEST_SHARE = 0.2
"""The largest-nodes rule acts on this share of the zones (at least one)."""


def constraints(case: GridCase, net_load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The violations a day's net load ``[96, N]`` makes in the grid's linear model, each in
    MW-equivalents, and how much one MW of curtailment in each zone relieves each.

    Elements: reverse flow above the planning rating (MW; the rating over the calibrated
    ratio of AC apparent power to the model's flow), relieved one for one by every zone they
    feed.
    Zone buses (once the voltage model is calibrated): voltage above the limit divided by the
    bus's own sensitivity ``S_kk`` (the MW curtailed at the bus that would remove it),
    relieved by ``S_ki / S_kk`` per MW curtailed at zone ``i``.

    Returns:
        ``excess [96, C]`` and ``sensitivity [C, N]``.
    """
    excess = np.maximum(-case.flows(net_load) - case.planning_ratings, 0.0)
    sensitivity = case.downstream
    voltages = case.voltages(net_load)
    if voltages is not None and case.vmax is not None:
        S = case.voltage_sensitivity
        own = np.diag(S)
        safe = np.where(own > 0, own, 1.0)
        over = np.where(own > 0, np.maximum(voltages - case.vmax, 0.0) / safe, 0.0)
        excess = np.concatenate([excess, over], axis=1)
        sensitivity = np.concatenate([sensitivity, S / safe[:, None] * (own > 0)[:, None]])
    return excess, sensitivity


def relief(case: GridCase, net_load: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per quarter-hour and zone the violation removed per MW curtailed and the MW worth
    curtailing.

    Each violation is shared among the zones that relieve it in proportion to their infeed
    (curtailing ``x_i = lam * infeed_i`` removes it when ``lam = excess / sum_j a_j
    infeed_j``); a zone's cap is its part of the worst violation it relieves. Its value per
    MW is the summed sensitivity ``a`` of the violations it relieves (1 per overloaded
    element on its path).

    Args:
        case: the grid.
        net_load: ``[96, N]`` net load of one day (forecast or realized), MW.

    Returns:
        ``d [96, N]`` (MW-equivalents of violation removed per MW curtailed) and
        ``cap [96, N]`` (MW).
    """
    excess, sensitivity = constraints(case, net_load)  # [96, C], [C, N]
    infeed = np.maximum(-net_load, 0.0)  # [96, N]
    weighted = infeed @ sensitivity.T  # [96, C]
    lam = np.divide(excess, weighted, out=np.zeros_like(excess), where=weighted > 0)
    parts = lam[:, :, None] * (sensitivity > 0)[None] * infeed[:, None, :]  # [96, C, N]
    return (excess > 0).astype(np.float64) @ sensitivity, parts.max(axis=1)


def plan_day(case: GridCase, scenarios: np.ndarray, budget: float) -> np.ndarray:
    """The optimal curtailment ``[24, N]`` MW (held for each hour) of one day: the exact
    ``linear`` allocation of at most ``budget`` MWh maximising the expected violation removed
    over equally likely net-load scenarios ``[S, 96, N]`` (a forecast plus the forecaster's
    whole-day errors on validation days; one scenario for the hindsight oracle).

    ``w`` MW held in (zone, hour) removes ``sum_q d_q min(w, cap_q) / 4`` MWh-equivalents over
    the hour's four quarter-hours ``q``; over scenarios, the mean of that. It is concave and
    piecewise linear, its slope dropping at each (scenario, quarter-hour) cap. Each piece
    between consecutive caps is one ``linear`` zone (slope = the summed ``d / (4 S)`` of the
    (scenario, quarter-hour) pairs whose cap lies beyond it, width = its length); a zone's
    slopes decrease, so the engine's sorted greedy fills its pieces in order and the
    allocation is exact for the piecewise-linear objective. Spends only what some scenario
    says relieves something (nothing on a day without any violation in sight)."""
    scenarios = np.asarray(scenarios, dtype=np.float64)
    if scenarios.ndim == 2:
        scenarios = scenarios[None]
    n = scenarios.shape[-1]
    parts = [relief(case, s) for s in scenarios]

    def by_hour(a: np.ndarray) -> np.ndarray:  # [S, 96, N] -> [S * 4, 24, N]
        a = a.reshape(len(scenarios), HOURS, STEPS_PER_HOUR, n).transpose(0, 2, 1, 3)
        return a.reshape(-1, HOURS, n)

    d = by_hour(np.stack([p[0] for p in parts]))
    cap = by_hour(np.stack([p[1] for p in parts]))
    order = np.argsort(cap, axis=0, kind="stable")
    cap_sorted = np.take_along_axis(cap, order, axis=0)
    d_sorted = np.take_along_axis(d, order, axis=0)
    slopes = np.cumsum(d_sorted[::-1], axis=0)[::-1] / len(d)
    widths = np.diff(cap_sorted, axis=0, prepend=0.0)
    useful = (slopes > 0) & (widths > 0)
    pieces = np.zeros_like(widths)
    spend = min(float(budget), float(widths[useful].sum()))
    if spend > 0:
        problem = AllocationProblem(slopes[useful], spend, "linear", upper=widths[useful])
        pieces[useful] = solve(problem).w
    return pieces.sum(axis=0)


def scenarios_of(forecast: np.ndarray, errors: np.ndarray) -> np.ndarray:
    """``[S, 96, N]`` net-load scenarios: a day's forecast ``[96, N]`` plus each of the
    forecaster's whole-day errors ``[S, 96, N]`` (truth minus forecast on validation days);
    the forecast alone when there are none."""
    if len(errors) == 0:
        return forecast[None]
    return forecast[None] + errors


def hourly_infeed(net_load: np.ndarray) -> np.ndarray:
    """``[24, N]`` mean forecast infeed (MW) of each zone in each hour."""
    infeed = np.maximum(-net_load, 0.0)
    return infeed.reshape(HOURS, STEPS_PER_HOUR, -1).mean(axis=1)


def rule_day(rule: str, net_load: np.ndarray, budget: float) -> np.ndarray:
    """A rule's curtailment ``[24, N]`` MW for one day from a forecast net load ``[96, N]``.

    Rules spend the whole budget every day, only where the forecast shows infeed:
    ``uniform`` evenly over those (zone, hour) pairs; ``proportional`` to each zone's forecast
    peak infeed, spread over its hours in proportion to its forecast infeed; ``largest nodes``
    evenly over the zones with the largest forecast peak infeed (``LARGEST_SHARE``), each
    spread over its hours like ``proportional``.
    """
    infeed = hourly_infeed(net_load)
    plan = np.zeros_like(infeed)
    if rule == "no action" or budget <= 0 or not (infeed > 0).any():
        return plan
    if rule == "uniform":
        where = infeed > 0
        plan[where] = budget / where.sum()
        return plan
    peak = infeed.max(axis=0)
    if rule == "proportional":
        zone_budget = budget * peak / peak.sum()
    elif rule == "largest nodes":
        k = max(1, int(round(LARGEST_SHARE * len(peak))))
        top = np.argsort(-peak, kind="stable")[:k]
        top = top[peak[top] > 0]
        zone_budget = np.zeros_like(peak)
        zone_budget[top] = budget / len(top)
    else:
        raise ValueError(f"unknown rule {rule!r}; rules are {', '.join(RULES)}")
    profile = np.divide(infeed, infeed.sum(axis=0), out=np.zeros_like(infeed),
                        where=infeed.sum(axis=0) > 0)
    return profile * zone_budget


def daily_budget(case: GridCase, net_loads: np.ndarray, fraction: float) -> float:
    """A scarce daily budget (MWh): ``fraction`` of the mean energy that removing every
    violation would take (each zone's hourly peak need, summed) on the days that need any,
    from realized net loads ``[D, 96, N]`` (training days)."""
    needs = np.array([relief(case, day)[1].reshape(HOURS, STEPS_PER_HOUR, -1).max(axis=1).sum()
                      for day in net_loads])
    needing = needs[needs > 0]
    return float(fraction * needing.mean()) if len(needing) else 0.0

"""The solver's side of an explanation: why each zone got what it got, and what would change it.

Whole units (Gross 1956): the optimum holds the largest unit increments of the whole pool,
so with ``next_i = p_i (g_i(w_i + 1) - g_i(w_i))`` and ``last_i = p_i (g_i(w_i) - g_i(w_i - 1))``
every taken ``last`` is at least every untaken ``next``. Hence zone i gains one unit exactly
when its ``next_i`` rises above the cheapest unit held elsewhere, ``min_{j != i} last_j``,
and loses one when its ``last_i`` falls below the best untaken unit elsewhere,
``max_{j != i} next_j``. Increments grow with demand, so each threshold is one demand value,
found by bisection on the zone's increment (no re-solve).

Shares: a zone strictly between its bounds has marginal value equal to the shadow price
(KKT); the demand at which its share would move by ``step`` is found by bisection on that
zone's demand, re-solving the whole problem each time (the share is monotone in demand):
each probe re-solves only the shares, on ``with_demand(..., check=False)`` (the probed demand
is finite, >= 0 and below any saturation by construction), which gives bit-identical shares
to a validated ``solve`` at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from cityfocus.allocate import Allocation, AllocationProblem
from cityfocus.allocate.continuous import continuous_shares
from cityfocus.allocate.units import unit_gains
from cityfocus.allocate.utilities import Utility

_BISECTIONS = 200
_RTOL = 1e-13


@dataclass(frozen=True)
class SolverView:
    """Per-zone facts from the solver, ``[N]`` arrays unless noted.

    Attributes:
        demand: the demand the problem was solved for.
        w: units or shares.
        share: ``w / budget``.
        next_gain: gain of one more unit (units) or the marginal value (shares).
        last_gain: gain of the last unit the zone holds (units; ``inf`` at its lower
            bound); NaN for shares.
        price: the budget's shadow price (scalar): for units the best gain one more unit of
            budget would buy anywhere; for shares the common marginal value ``lam``.
        gain_at: demand at (just above) which the zone would gain ``step``; NaN if no
            demand would (at its upper bound, or nothing to take it from).
        lose_at: demand below which the zone would lose ``step``; NaN if no demand would.
        step: one unit, or the share step used for ``gain_at``/``lose_at``.
        budget, units, family, sense: the problem's.
    """

    demand: np.ndarray
    w: np.ndarray
    share: np.ndarray
    next_gain: np.ndarray
    last_gain: np.ndarray
    price: float
    gain_at: np.ndarray
    lose_at: np.ndarray
    step: float
    budget: float
    units: bool
    family: str
    sense: str


def solver_view(problem: AllocationProblem, allocation: Allocation,
                step: float | None = None, *, thresholds: bool = True) -> SolverView:
    """Explain a single (not batched) solved problem zone by zone.

    Args:
        problem: the problem ``allocation`` solves.
        allocation: ``solve(problem)``.
        step: shares only: how much share ``gain_at``/``lose_at`` refer to (default 5 %
            of the budget). Whole units always use one unit.
        thresholds: compute ``gain_at``/``lose_at`` (the costly part: bisections, for
            shares over re-solves); False leaves them NaN, every other field the same.
    """
    if problem.batched:
        raise ValueError("explain one problem at a time, not a batch")
    d = problem.demand.astype(np.float64)
    w = np.asarray(allocation.w, dtype=np.float64)
    budget = float(problem.budget)
    if problem.units:
        nxt, last = unit_gains(problem, w)
        gain_at, lose_at = (_unit_thresholds(problem, w, nxt, last) if thresholds
                            else _no_thresholds(len(d)))
        next_gain, step_used = np.where(np.isfinite(nxt), nxt, 0.0), 1.0
    else:
        step_used = 0.05 * budget if step is None else float(step)
        last = np.full_like(d, np.nan)
        next_gain = np.asarray(allocation.marginal, dtype=np.float64)
        gain_at, lose_at = (_share_thresholds(problem, w, step_used) if thresholds
                            else _no_thresholds(len(d)))
    share = w / budget if budget > 0 else np.zeros_like(w)
    return SolverView(d, w, share, next_gain, last, float(allocation.shadow_price), gain_at,
                      lose_at, step_used, budget, problem.units, problem.utility.name,
                      problem.utility.sense)


def _no_thresholds(n: int) -> tuple[np.ndarray, np.ndarray]:
    return np.full(n, np.nan), np.full(n, np.nan)


def _unit_thresholds(problem: AllocationProblem, w: np.ndarray, nxt: np.ndarray,
                     last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = problem.n_zones
    gain_at, lose_at = np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        others = np.arange(n) != i
        held = last[others][np.isfinite(last[others])]
        free = nxt[others][np.isfinite(nxt[others])]
        utility, p = _zone_utility(problem.utility, i, n), float(problem.weights[i])
        if np.isfinite(nxt[i]) and held.size:  # room to grow and a unit to take
            gain_at[i] = demand_for_increment(utility, w[i], held.min() / p if p > 0 else np.inf)
        if np.isfinite(last[i]) and free.size and free.max() > 0:
            lose_at[i] = demand_for_increment(utility, w[i] - 1.0,
                                              free.max() / p if p > 0 else np.inf)
    return gain_at, lose_at


def _zone_utility(utility: Utility, i: int, n: int) -> Utility:
    return utility.take([i]) if utility.params_per_zone() else utility


def demand_for_increment(utility: Utility, w: float, target: float) -> float:
    """The demand ``d`` at which ``utility.increment(w, d, 1) == target`` (NaN if none).

    Increments grow with demand for every family, so bisection finds the one crossing.
    """
    if not np.isfinite(target) or target <= 0:
        return float("nan")
    ceiling = float(np.min(getattr(utility, "saturation", np.inf)))  # delay: d < s

    def inc(d: float) -> float:
        with np.errstate(all="ignore"):
            return float(np.asarray(utility.increment(np.array([w]), np.array([d]), 1.0))[0])

    return _first_reaching(inc, target, 1.0, limit=1e300, ceiling=ceiling, margin=1e-12,
                           rtol=_RTOL)


def _share_thresholds(problem: AllocationProblem, w: np.ndarray,
                      step: float) -> tuple[np.ndarray, np.ndarray]:
    n = problem.n_zones
    gain_at, lose_at = np.full(n, np.nan), np.full(n, np.nan)
    for i in range(n):
        if w[i] + step <= problem.upper[i]:
            gain_at[i] = _demand_for_share(problem, i, w[i] + step)
        if w[i] - step >= problem.lower[i]:
            lose_at[i] = _demand_for_share(problem, i, w[i] - step)
    return gain_at, lose_at


def _demand_for_share(problem: AllocationProblem, i: int, share: float) -> float:
    """Zone i's demand at which its optimal share reaches ``share`` (NaN if none does)."""
    d = problem.demand.astype(np.float64)

    trial = d.copy()

    def share_at(x: float) -> float:
        trial[i] = x
        return float(continuous_shares(problem.with_demand(trial, check=False))[i])

    ceiling = float(np.min(getattr(problem.utility, "saturation", np.inf)))
    if share_at(0.0) >= share:  # even zero demand keeps that much (e.g. a lower bound)
        return float("nan")
    return _first_reaching(share_at, share, max(d[i], 1e-12), limit=1e12 * max(d.max(), 1.0),
                           ceiling=ceiling, margin=1e-9, rtol=1e-10)


def _first_reaching(f: Callable[[float], float], target: float, hi: float, *, limit: float,
                    ceiling: float, margin: float, rtol: float) -> float:
    """The smallest ``x >= 0`` (to relative tolerance ``rtol``) with ``f(x) >= target``, for
    ``f`` increasing: double ``hi`` until ``f(hi)`` reaches the target (NaN once ``hi`` passes
    ``limit`` or the demand ``ceiling``; steps stop ``margin`` short of a finite ceiling),
    then bisect ``[last hi that fell short, hi]``."""
    lo = 0.0
    while f(hi) < target:
        grown = min(hi * 2.0, ceiling * (1 - margin)) if np.isfinite(ceiling) else hi * 2.0
        if hi >= ceiling or hi > limit or grown <= hi:  # grown <= hi: stuck below the ceiling
            return float("nan")
        lo, hi = hi, grown
    for _ in range(_BISECTIONS):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo <= rtol * hi:
            break
    return hi

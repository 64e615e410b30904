"""Exact continuous allocation: water-filling on the budget's shadow price, numpy, batched.

KKT conditions of ``max sum_i p_i g_i(w_i)  s.t.  sum_i w_i = B,  l <= w <= u`` (concave
``g_i``): there is a price ``lam >= 0`` with, for every zone,

    w_i = l_i  =>  p_i g_i'(l_i) <= lam,      l_i < w_i < u_i  =>  p_i g_i'(w_i) = lam,
    w_i = u_i  =>  p_i g_i'(u_i) >= lam,

i.e. ``w_i(lam) = clip(h_i(lam), l_i, u_i)`` with ``h_i`` the inverse marginal. For the smooth
families ``h_i(lam) = a_i + b_i phi(lam)`` (see ``utilities.py``), so in ``t = phi(lam)``

    S(t) = sum_i clip(a_i + b_i t, l_i, u_i) = sum_i l_i + sum_i b_i (clip(t, t_i^l, t_i^u) - t_i^l)

is piecewise linear and non-decreasing, with breakpoints ``t_i^l = (l_i - a_i) / b_i`` (slope
``+b_i``) and ``t_i^u = (u_i - a_i) / b_i`` (slope ``-b_i``). Sorting the ``2N`` breakpoints,
a cumulative sum gives ``S`` at each; the root of ``S(t) = B`` lies in one segment and is
found in closed form there, then one Newton step on the exact sum removes rounding. Cost:
``O(N log N)`` per row, all rows at once. If even ``t = phi(0+)`` (every zone sated) leaves
budget over, the price is 0 and the rest goes where it has no marginal value.
``linear`` is piecewise linear: filled greedily in order of slope ``p_i d_i`` (exact).
"""

from __future__ import annotations

import numpy as np

from cityfocus.allocate.problem import Allocation, AllocationProblem


def solve_continuous(problem: AllocationProblem) -> Allocation:
    """The exact optimal shares of ``problem`` (ignores ``problem.units``).

    Returns:
        ``Allocation`` with ``w`` shaped like ``problem.demand``; ``objective``,
        ``shadow_price`` are floats for a single problem and ``[B]`` for a batch.
    """
    util, shape = problem.utility, problem.demand.shape
    n = problem.n_zones
    d = problem.rows()
    lo = problem.lower.reshape(-1, n)
    hi = problem.upper.reshape(-1, n)
    p = problem.weights.reshape(-1, n)
    budget = problem.budget.reshape(-1)
    if util.phi is None:
        slope = p * d
        cap = np.broadcast_to(np.asarray(util.params()["cap"], dtype=np.float64), slope.shape)
        w = fill_linear(slope, cap, lo, hi, budget)
    else:
        a, b = util.water(d, np.ascontiguousarray(p))
        w = water_fill(a, b, lo, hi, budget, util.t_max())
    return finish(problem, w.reshape(shape))


def finish(problem: AllocationProblem, w: np.ndarray) -> Allocation:
    """Wrap shares into an ``Allocation`` (objective, per-zone marginal, shadow price)."""
    marginal = problem.marginal(w)
    lam = shadow_price(marginal, w, problem.upper)
    objective = problem.objective(w)
    single = not problem.batched
    return Allocation(
        w=w,
        objective=float(objective) if single else objective,
        shadow_price=float(lam) if single else lam,
        marginal=marginal,
        family=problem.utility.name,
        sense=problem.utility.sense,
        units=problem.units,
    )


def shadow_price(marginal: np.ndarray, w: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """Value of one more unit of budget: the largest marginal among zones below their upper
    bound (0 if none). Equals ``lam`` of the KKT conditions for any zone strictly inside."""
    return np.where(w < upper, marginal, 0.0).max(axis=-1)


def water_fill(
    a: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    budget: np.ndarray,
    t_max: float,
) -> np.ndarray:
    """Shares ``clip(a + b t, lo, hi)`` with, per row, ``t <= t_max`` solving the budget.

    Args:
        a, b: ``[R, N]`` water-filling coefficients (``b = 0``: the zone stays at ``lo``).
        lo, hi: ``[R, N]`` bounds (``hi`` may be ``inf``).
        budget: ``[R]`` with ``sum lo <= budget <= sum hi``.
        t_max: the level at price 0.

    Returns:
        ``[R, N]`` shares summing to ``budget``.
    """
    active = b > 0
    with np.errstate(invalid="ignore"):
        top = np.where(active, np.clip(a + b * t_max, lo, hi), lo)
    sated = top.sum(axis=1) <= budget  # price 0: every zone at its peak and budget left
    t = level(a, b, lo, hi, budget, t_max)
    t = np.where(sated, t_max, t)
    with np.errstate(invalid="ignore"):
        w = np.where(active, np.clip(a + b * t[:, None], lo, hi), lo)
    w = np.where(sated[:, None], top, w)
    if sated.any():
        w = np.where(sated[:, None], spread_leftover(w, hi, budget), w)
    return w


def level(
    a: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    budget: np.ndarray,
    t_max: float,
) -> np.ndarray:
    """``[R]`` water level ``t`` with ``sum_i clip(a_i + b_i t, lo_i, hi_i) = budget`` (rows
    whose root lies beyond ``t_max`` get an arbitrary value; ``water_fill`` overrides it)."""
    active = b > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        t_lo = np.where(active, (lo - a) / b, np.inf)
        t_hi = np.where(active, (hi - a) / b, np.inf)
    times = np.minimum(np.concatenate([t_lo, t_hi], axis=1), t_max)
    steps = np.concatenate([b, -b], axis=1)
    order = np.argsort(times, axis=1)
    times = np.take_along_axis(times, order, axis=1)
    slope = np.cumsum(np.take_along_axis(steps, order, axis=1), axis=1)
    del order, steps
    with np.errstate(invalid="ignore"):
        gaps = np.diff(times, axis=1)
        rise = slope[:, :-1] * gaps
    rise = np.where((slope[:, :-1] > 0) & (gaps > 0), rise, 0.0)  # no 0*inf, no inf-inf
    filled = np.empty_like(times)
    filled[:, 0] = 0.0
    np.cumsum(rise, axis=1, out=filled[:, 1:])
    need = budget - lo.sum(axis=1)
    k = np.maximum((filled <= need[:, None]).sum(axis=1) - 1, 0)
    rows = np.arange(len(k))
    t_k, s_k, f_k = times[rows, k], slope[rows, k], filled[rows, k]
    with np.errstate(divide="ignore", invalid="ignore"):
        t = np.where(s_k > 0, t_k + (need - f_k) / s_k, t_k)
    return _newton_polish(t, a, b, lo, hi, budget)


def _newton_polish(
    t: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    lo: np.ndarray,
    hi: np.ndarray,
    budget: np.ndarray,
) -> np.ndarray:
    """One Newton step on the exact budget sum (the segment search used a running sum)."""
    active = b > 0
    with np.errstate(invalid="ignore"):
        x = a + b * t[:, None]
        w = np.where(active, np.clip(x, lo, hi), lo)
        free = active & (x > lo) & (x < hi)
    slope = np.where(free, b, 0.0).sum(axis=1)
    residual = budget - w.sum(axis=1)
    ok = np.isfinite(t) & (slope > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(ok, t + residual / np.where(ok, slope, 1.0), t)


def spread_leftover(w: np.ndarray, hi: np.ndarray, budget: np.ndarray) -> np.ndarray:
    """Give ``budget - sum w`` (>= 0 per row) to zones with room, where it earns nothing
    more: evenly over zones without an upper bound if any, else in proportion to room."""
    left = np.maximum(budget - w.sum(axis=1), 0.0)
    room = hi - w
    unbounded = np.isinf(room)
    n_unbounded = unbounded.sum(axis=1)
    finite_room = np.where(unbounded, 0.0, room)
    total = finite_room.sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        share = np.where(
            (n_unbounded > 0)[:, None],
            unbounded / np.maximum(n_unbounded, 1)[:, None],
            finite_room / np.where(total > 0, total, 1.0)[:, None],
        )
    return w + left[:, None] * share


def fill_linear(
    slope: np.ndarray, cap: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: np.ndarray
) -> np.ndarray:
    """Exact optimum of ``sum_i slope_i min(w_i, cap_i)``: from the lower bounds, fill zones
    up to ``min(cap, hi)`` in order of decreasing slope until the budget is spent; anything
    beyond goes where it earns nothing (``spread_leftover``). All arrays ``[R, N]``."""
    room = np.where(slope > 0, np.maximum(np.minimum(cap, hi) - lo, 0.0), 0.0)
    order = np.argsort(-slope, axis=1, kind="stable")
    room_sorted = np.take_along_axis(room, order, axis=1)
    before = np.zeros_like(room_sorted)  # room of the zones ahead (exclusive running sum)
    np.cumsum(room_sorted[:, :-1], axis=1, out=before[:, 1:])
    need = budget - lo.sum(axis=1)
    fill_sorted = np.clip(need[:, None] - before, 0.0, room_sorted)
    full = (fill_sorted >= room_sorted) & (np.take_along_axis(slope, order, axis=1) > 0)
    lo_sorted = np.take_along_axis(lo, order, axis=1)
    top_sorted = np.maximum(lo_sorted, np.take_along_axis(np.minimum(cap, hi), order, axis=1))
    w = np.empty_like(lo)
    # a filled zone sits exactly at its cap (lo + (cap - lo) may round past it)
    np.put_along_axis(w, order, np.where(full, top_sorted, lo_sorted + fill_sorted), axis=1)
    sated = need > room.sum(axis=1)  # every positive slope filled, budget left at price 0
    if sated.any():
        w = np.where(sated[:, None], spread_leftover(w, hi, budget), w)
    return w

"""Exact continuous allocation: water-filling on the budget's shadow price, numpy, batched.

KKT conditions of ``max sum_i p_i g_i(w_i)  s.t.  sum_i w_i = B,  l <= w <= u`` (concave
``g_i``): there is a price ``lam >= 0`` with, for every zone,

    w_i = l_i  =>  p_i g_i'(l_i) <= lam,      l_i < w_i < u_i  =>  p_i g_i'(w_i) = lam,
    w_i = u_i  =>  p_i g_i'(u_i) >= lam,

i.e. ``w_i(lam) = clip(h_i(lam), l_i, u_i)`` with ``h_i`` the inverse marginal. For the smooth
families ``h_i(lam) = a_i + b_i phi(lam)`` (see ``utilities.py``), so in ``t = phi(lam)``

    S(t) = sum_i clip(a_i + b_i t, l_i, u_i) = sum_i l_i + sum_i b_i (clip(t, t_i^l, t_i^u) - t_i^l)

is piecewise linear and non-decreasing, with breakpoints ``t_i^l = (l_i - a_i) / b_i`` (slope
``+b_i``) and ``t_i^u = (u_i - a_i) / b_i`` (slope ``-b_i``). ``level`` finds the root in
``O(N)`` per row with the searches of ``price_search.py`` (selection, not sorting), then one
Newton step on the exact sum removes rounding. ``level_sorted`` is the reference: it sorts
the ``2N`` breakpoints, accumulates ``S`` at each and solves in the segment holding ``B``
(``O(N log N)``). If even ``t = phi(0+)`` (every zone sated) leaves
budget over, the price is 0 and the rest goes where it has no marginal value.
``linear`` is piecewise linear: filled greedily in order of slope ``p_i d_i`` (exact).
"""

from __future__ import annotations

import numpy as np

from cityfocus.allocate.arrays import Array, namespace, put, quiet, take
from cityfocus.allocate.price_search import level_newton, level_select
from cityfocus.allocate.problem import Allocation, AllocationProblem


def solve_continuous(problem: AllocationProblem) -> Allocation:
    """The exact optimal shares of ``problem`` (ignores ``problem.units``).

    Returns:
        ``Allocation`` with ``w`` shaped like ``problem.demand``; ``objective``,
        ``shadow_price`` are floats for a single problem and ``[B]`` for a batch.
    """
    return finish(problem, continuous_shares(problem))


def continuous_shares(problem: AllocationProblem) -> np.ndarray:
    """The optimal shares alone, shaped like ``problem.demand`` (no objective, marginals)."""
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
    return np.asarray(w).reshape(shape)


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


def water_fill(a: Array, b: Array, lo: Array, hi: Array, budget: Array, t_max: float) -> Array:
    """Shares ``clip(a + b t, lo, hi)`` with, per row, ``t <= t_max`` solving the budget.

    Args:
        a, b: ``[R, N]`` water-filling coefficients (``b = 0``: the zone stays at ``lo``).
        lo, hi: ``[R, N]`` bounds (``hi`` may be ``inf``).
        budget: ``[R]`` with ``sum lo <= budget <= sum hi``.
        t_max: the level at price 0.

    Returns:
        ``[R, N]`` shares summing to ``budget`` (numpy or torch, like the inputs).
    """
    xp = namespace(a)
    active = b > 0
    with quiet(xp):
        top = xp.where(active, xp.clip(a + b * t_max, lo, hi), lo)
    sated = top.sum(axis=1) <= budget  # price 0: every zone at its peak and budget left
    t = xp.where(sated, t_max, level(a, b, lo, hi, budget, t_max, sated))
    with quiet(xp):
        w = xp.where(active, xp.clip(a + b * t[:, None], lo, hi), lo)
    if sated.any():
        # rows not sated may hold inf in ``top``: give them ``lo`` (they are not taken)
        sated_top = xp.where(sated[:, None], top, lo)
        w = xp.where(sated[:, None], spread_leftover(sated_top, hi, budget), w)
    return w


def level(
    a: Array, b: Array, lo: Array, hi: Array, budget: Array, t_max: float, sated: Array = None
) -> Array:
    """``[R]`` water level ``t`` with ``sum_i clip(a_i + b_i t, lo_i, hi_i) = budget`` (rows
    whose root lies beyond ``t_max``, or flagged in ``sated``, get an arbitrary value;
    ``water_fill`` overrides it). One numpy row: ``price_search.level_select``; a batch or a
    tensor: ``price_search.level_newton``, rows it leaves unfinished by ``level_sorted``."""
    xp = namespace(a)
    if xp is np and a.shape[0] == 1:
        t = level_select(a[0], b[0], lo[0], hi[0], float(budget[0]), t_max)
        return newton_step(np.array([t]), a, b, lo, hi, budget)
    skip = xp.zeros_like(budget, dtype=bool) if sated is None else sated
    t, done = level_newton(a, b, lo, hi, budget, t_max, skip)
    rest = ~(done | skip)
    if bool(rest.any()):
        rows = xp.nonzero(rest)[0] if xp is np else xp.nonzero(rest)[:, 0]
        t[rows] = level_sorted(a[rows], b[rows], lo[rows], hi[rows], budget[rows], t_max)
    return newton_step(t, a, b, lo, hi, budget)


def level_sorted(a: Array, b: Array, lo: Array, hi: Array, budget: Array, t_max: float) -> Array:
    """``level`` by sorting all ``2N`` breakpoints, ``O(N log N)`` per row: the reference the
    linear-time searches are tested against, and the batched search's fallback."""
    xp = namespace(a)
    active = b > 0
    with quiet(xp):
        t_lo = xp.where(active, (lo - a) / b, float("inf"))
        t_hi = xp.where(active, (hi - a) / b, float("inf"))
        times = xp.clip(xp.concatenate([t_lo, t_hi], axis=1), max=t_max)
        steps = xp.concatenate([b, -b], axis=1)
        # events at t_max (no upper bound, no demand, sated) never come before the root:
        # drop the columns where every row has one (half the sort when no zone has an
        # upper bound below its peak)
        keep = (times < t_max).any(axis=0)
        keep[0] = True
        if not bool(keep.all()):
            times, steps = times[:, keep], steps[:, keep]
        order = xp.argsort(times, axis=1)
        times = take(times, order)
        slope = xp.cumsum(take(steps, order), axis=1)
        del order
        gaps = xp.diff(times, axis=1)
        rise = slope[:, :-1] * gaps
        rise = xp.where((slope[:, :-1] > 0) & (gaps > 0), rise, xp.zeros_like(rise))  # no 0*inf
    need = budget - lo.sum(axis=1)
    filled = xp.concatenate([0 * need[:, None], xp.cumsum(rise, axis=1)], axis=1)
    k = xp.clip((filled <= need[:, None]).sum(axis=1) - 1, min=0)[:, None]
    t_k, s_k, f_k = (take(x, k)[:, 0] for x in (times, slope, filled))
    with quiet(xp):
        return xp.where(s_k > 0, t_k + (need - f_k) / xp.where(s_k > 0, s_k, 1 + 0 * s_k), t_k)


def newton_step(t: Array, a: Array, b: Array, lo: Array, hi: Array, budget: Array) -> Array:
    """One Newton step on the exact budget sum (the segment search used a running sum)."""
    xp = namespace(a)
    active = b > 0
    with quiet(xp):
        x = a + b * t[:, None]
        w = xp.where(active, xp.clip(x, lo, hi), lo)
        free = active & (x > lo) & (x < hi)
        slope = xp.where(free, b, 0 * b).sum(axis=1)
        ok = xp.isfinite(t) & (slope > 0)
        return xp.where(ok, t + (budget - w.sum(axis=1)) / xp.where(ok, slope, 1 + 0 * t), t)


def spread_leftover(w: Array, hi: Array, budget: Array) -> Array:
    """Give ``budget - sum w`` (>= 0 per row) to zones with room, where it earns nothing
    more: evenly over zones without an upper bound if any, else in proportion to room."""
    xp = namespace(w)
    left = xp.clip(budget - w.sum(axis=1), min=0.0)
    room = hi - w
    ones = xp.ones_like(w)
    unbounded = xp.where(xp.isinf(room), ones, 0 * ones)
    n_unbounded = unbounded.sum(axis=1)
    finite_room = xp.where(xp.isinf(room), 0 * ones, room)
    total = finite_room.sum(axis=1)
    share = xp.where(
        (n_unbounded > 0)[:, None],
        unbounded / xp.clip(n_unbounded, min=1.0)[:, None],
        finite_room / xp.where(total > 0, total, 1 + 0 * total)[:, None],
    )
    return w + left[:, None] * share


def fill_linear(slope: Array, cap: Array, lo: Array, hi: Array, budget: Array) -> Array:
    """Exact optimum of ``sum_i slope_i min(w_i, cap_i)``: from the lower bounds, fill zones
    up to ``min(cap, hi)`` in order of decreasing slope until the budget is spent; anything
    beyond goes where it earns nothing (``spread_leftover``). All arrays ``[R, N]``."""
    xp = namespace(slope)
    top = xp.maximum(lo, xp.minimum(cap, hi))
    room = xp.where(slope > 0, top - lo, 0 * lo)
    order = xp.argsort(-slope, axis=1)
    room_sorted, lo_sorted, top_sorted = (take(x, order) for x in (room, lo, top))
    # room of the zones ahead (an exclusive running sum; inf once an unbounded zone passed)
    ahead = xp.concatenate([0 * lo[:, :1], xp.cumsum(room_sorted[:, :-1], axis=1)], axis=1)
    need = budget - lo.sum(axis=1)
    fill = xp.clip(xp.clip(need[:, None] - ahead, min=0.0), max=room_sorted)
    full = (fill >= room_sorted) & (take(slope, order) > 0)
    # a filled zone sits exactly at its cap (lo + (cap - lo) may round past it)
    w = put(xp.where(full, top_sorted, lo_sorted + fill), order)
    sated = need > room.sum(axis=1)  # every positive slope filled, budget left at price 0
    if sated.any():
        w = xp.where(sated[:, None], spread_leftover(w, hi, budget), w)
    return w

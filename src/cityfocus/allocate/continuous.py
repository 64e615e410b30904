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

from cityfocus.allocate.arrays import (
    Array,
    common_value,
    flat_index,
    namespace,
    put,
    quiet,
    take,
)
from cityfocus.allocate.price_search import (
    level_dense,
    level_newton,
    level_select,
    sample_level,
)
from cityfocus.allocate.problem import Allocation, AllocationProblem


def solve_continuous(problem: AllocationProblem) -> Allocation:
    """The exact optimal shares of ``problem`` (ignores ``problem.units``).

    Returns:
        ``Allocation`` with ``w`` shaped like ``problem.demand``; ``objective``,
        ``shadow_price`` are floats for a single problem and ``[B]`` for a batch.
    """
    return finish(problem, continuous_shares(problem))


def continuous_shares(problem: AllocationProblem, rough: bool = False) -> np.ndarray:
    """The optimal shares alone, shaped like ``problem.demand`` (no objective, marginals).

    ``rough``: single rows long enough to start from a strided sample's level stop there
    (``price_search.level_dense``): shares near the optimum that need not meet the budget,
    the starting point of the whole-unit repair, which restores the budget and exactness.
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
        weight = common_value(p)  # one weight for every zone: a number, not an array of it
        a, b = util.water(d, weight if isinstance(weight, float) else np.ascontiguousarray(p))
        w = water_fill(a, b, lo, hi, budget, util.t_max(), rough)
    return np.asarray(w).reshape(shape)


def finish(problem: AllocationProblem, w: np.ndarray) -> Allocation:
    """Wrap shares into an ``Allocation`` (objective, per-zone marginal, shadow price)."""
    # ``problem.marginal`` and ``problem.objective`` in one go (families share the work)
    value, marginal = problem.utility.value_and_marginal(w, problem.demand)
    weight = common_value(problem.weights)
    if not (isinstance(weight, float) and weight == 1.0):  # weights of 1 are not multiplied in
        marginal, value = problem.weights * marginal, problem.weights * value
    lam = shadow_price(marginal, w, problem.upper)
    objective = value.sum(-1)
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
    bound = common_value(upper)
    if isinstance(bound, float) and bound == float("inf"):  # no zone is at an upper bound
        return marginal.max(axis=-1)
    below = w < upper
    if below.all():  # marginals are >= 0: the same maximum without the masked copy
        return marginal.max(axis=-1)
    return np.where(below, marginal, 0.0).max(axis=-1)


# Batches of rows this long start Newton from the levels of every ``_ROW_STRIDE``-th zone.
_ROW_STRIDE = 16


def water_fill(
    a: Array, b: Array, lo: Array, hi: Array, budget: Array, t_max: float, rough: bool = False
) -> Array:
    """Shares ``clip(a + b t, lo, hi)`` with, per row, ``t <= t_max`` solving the budget
    (``rough``: see ``continuous_shares``).

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
    # every zone active: no masking (numpy's ``where`` costs ~10 clips per element)
    every = bool(active.all())
    hi_common = common_value(hi)
    if every and t_max == float("inf") and isinstance(hi_common, float) and hi_common == t_max:
        sated = xp.zeros_like(budget, dtype=bool)  # every zone's peak is unbounded
    else:
        with quiet(xp):
            top = xp.clip(a + b * t_max, lo, hi)
            top = top if every else xp.where(active, top, lo)
        sated = top.sum(axis=1) <= budget  # price 0: every zone at its peak and budget left
    found = None
    if rough and xp is np and a.shape[0] == 1:  # see ``continuous_shares``
        found = sample_level(a[0], b[0], lo[0], hi[0], float(budget[0]), t_max)
    if found is None or not np.isfinite(found):
        found = level(a, b, lo, hi, budget, t_max, sated)
    t = xp.where(sated, t_max, found)
    with quiet(xp):
        w = xp.clip(a + b * t[:, None], lo, hi)
        w = w if every else xp.where(active, w, lo)
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
        return np.array([_level_row(a[0], b[0], lo[0], hi[0], float(budget[0]), t_max)])
    skip = xp.zeros_like(budget, dtype=bool) if sated is None else sated
    active = b > 0
    if not bool(active.all()):  # idle zones sit at lo for any finite level: no masks later
        a = xp.where(active, a, lo)
    start = None
    n = a.shape[1]
    if n >= 8 * _ROW_STRIDE:  # start each row from the level of its strided sample
        k = _ROW_STRIDE
        sample = (a[:, ::k], b[:, ::k], lo[:, ::k], hi[:, ::k])
        start, _ = level_newton(*sample, budget * (sample[0].shape[1] / n), t_max, skip)
    t, done = level_newton(a, b, lo, hi, budget, t_max, skip, start)  # done: exact step taken
    rest = ~(done | skip)
    if bool(rest.any()):
        rows = xp.nonzero(rest)[0] if xp is np else xp.nonzero(rest)[:, 0]
        part = (a[rows], b[rows], lo[rows], hi[rows], budget[rows])
        t[rows] = newton_step(level_sorted(*part, t_max), *part)
    return t


def _level_row(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, need: float, t_max: float
) -> float:
    """One numpy row: whole-row Newton (it ends with the exact Newton step itself); if it
    does not settle, Kiwiel's search and the step."""
    active = b > 0
    a_dense = a if active.all() else np.where(active, a, lo)  # idle zones sit at lo
    t = level_dense(a_dense, b, lo, hi, need, t_max)
    if t is not None:
        return t
    t = level_select(a, b, lo, hi, need, t_max)
    t_row = newton_step(np.array([t]), a_dense[None], b[None], lo[None], hi[None], np.array([need]))
    return float(t_row[0])


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
    """One Newton step on the exact budget sum (the segment search used a running sum).
    Zones with ``b = 0`` must have ``lo <= a <= hi`` (``Utility.water`` gives ``a = 0``, and
    bounds are ``>= 0``; ``level`` passes ``a = lo``), so they sit at a bound."""
    xp = namespace(a)
    with quiet(xp):
        x = a + b * t[:, None]
        w = xp.clip(x, lo, hi)
        slope = (b * ((x > lo) & (x < hi))).sum(axis=1)
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
    beyond goes where it earns nothing (``spread_leftover``). All arrays ``[R, N]``.

    Only the zones that can take part are put in order: one numpy row by sampled selection
    (``linear_row``), numpy rows by ``fill_best`` (a partition, then a sort of those alone);
    rows they cannot settle, and torch, sort every zone (``fill_sorted``)."""
    xp = namespace(slope)
    lo_c, hi_c = (common_value(x) if xp is np else x for x in (lo, hi))
    if isinstance(lo_c, float) and isinstance(hi_c, float) and (lo_c, hi_c) == (0.0, np.inf):
        # the default bounds on numpy: a zone's top is its cap
        top, need = cap, budget
        room = np.where(slope > 0, cap, 0.0)
    else:
        top = xp.maximum(lo, xp.minimum(cap, hi))
        room = xp.where(slope > 0, top - lo, 0.0)
        need = budget - lo.sum(axis=1)
    if xp is np and slope.shape[0] == 1:
        w = linear_row(slope[0], room[0], lo[0], top[0], float(need[0]))
        if w is not None:
            return w[None]
    if xp is np and slope.shape[0] > 1:
        w = fill_best(slope, room, lo, top, need)
    else:
        w = fill_sorted(slope, room, lo, top, need)
    sated = need > room.sum(axis=1)  # every positive slope filled, budget left at price 0
    if sated.any():
        w = xp.where(sated[:, None], spread_leftover(w, hi, budget), w)
    return w


def fill_sorted(
    slope: Array, room: Array, lo: Array, top: Array, need: Array, order: Array | None = None
) -> Array:
    """The greedy fill of ``fill_linear`` along ``order`` (``[R, K]`` zones per row by
    decreasing slope; default: every zone, sorted), zones outside it left at ``lo``."""
    xp = namespace(slope)
    whole = order is None
    order = xp.argsort(-slope, axis=1) if order is None else order
    flat = flat_index(order, slope.shape[1])  # one set of gather positions for all
    room_sorted, lo_sorted, top_sorted = (take(x, order, flat) for x in (room, lo, top))
    # room of the zones ahead (an exclusive running sum; inf once an unbounded zone passed)
    ahead = xp.concatenate([0 * lo_sorted[:, :1], xp.cumsum(room_sorted[:, :-1], axis=1)], axis=1)
    fill = xp.clip(xp.clip(need[:, None] - ahead, min=0.0), max=room_sorted)
    full = (fill >= room_sorted) & (take(slope, order, flat) > 0)
    # a filled zone sits exactly at its cap (lo + (cap - lo) may round past it)
    filled = xp.where(full, top_sorted, lo_sorted + fill)
    if whole:
        return put(filled, order, flat)
    w = np.array(lo, dtype=np.float64, order="C")  # numpy only (``fill_best``)
    w.reshape(-1)[flat] = filled
    return w


def fill_best(
    slope: np.ndarray, room: np.ndarray, lo: np.ndarray, top: np.ndarray, need: np.ndarray
) -> np.ndarray:
    """``fill_sorted`` for numpy rows, ordering only the ``K`` best slopes of each row: a
    partition (``argpartition``, linear time) picks them, a sort orders them. ``K`` is
    estimated from the rows' mean room (1.25 times the zones the budget fills, plus 32);
    rows whose ``K`` best do not hold the budget are sorted whole."""
    rows, n = slope.shape
    filled_zones = need / np.maximum(room.sum(axis=1) / n, 1e-300)
    k = int(min(n, np.ceil(1.25 * float(np.max(filled_zones, initial=0.0))) + 32))
    if not 0 < k < n // 2:  # a partition then a sort of most of the row: sort it
        return fill_sorted(slope, room, lo, top, need)
    best = np.argpartition(-slope, k - 1, axis=1)[:, :k]
    best = take(best, np.argsort(-take(slope, best), axis=1))
    w = fill_sorted(slope, room, lo, top, need, best)
    short = take(room, best).sum(axis=1) < need  # the budget reaches beyond the K best
    if short.any():
        idx = np.flatnonzero(short)
        w[idx] = fill_sorted(slope[idx], room[idx], lo[idx], top[idx], need[idx])
    return w


def linear_row(
    slope: np.ndarray, room: np.ndarray, lo: np.ndarray, top: np.ndarray, need: float
) -> np.ndarray | None:
    """``fill_linear`` for one numpy row by selection instead of a full sort, or ``None``
    (the caller then sorts) when the sample's bracket misses the threshold or the row is
    sated. Floyd and Rivest's sampling selection (R. W. Floyd, R. L. Rivest, "Expected time
    bounds for selection", Commun. ACM 18 (1975) 165-172), weighted by room: a strided sample
    estimates the threshold slope ``s*`` where the rooms above it add up to ``need``; one pass
    checks that ``(s_lo, s_hi]`` brackets it, so every zone above ``s_hi`` is full, every zone
    below ``s_lo`` stays at ``lo``, and only the few in between are sorted and filled (ties in
    slope in any order, as the full sort). ``[N]`` arrays; ``room`` is 0 where ``slope <= 0``."""
    n = slope.size
    if n < 64 or not need > 0:
        return None
    room_c = np.minimum(room, need)  # no zone takes more than need: finite sums
    step = n // min(n, max(1024, n // 64))  # a sample of 1,024 to 15,625 zones
    order = np.argsort(-slope[::step])
    sample, filled = slope[::step][order], np.cumsum(room_c[::step][order]) * step
    j = int(np.searchsorted(filled, need))
    k = 16 + 3 * int(np.sqrt(len(sample)))
    s_hi = float(sample[j - k]) if j - k >= 0 else np.inf
    s_lo = float(sample[j + k]) if j + k < len(sample) else -np.inf
    above = slope > s_hi
    mid = (slope > s_lo) & ~above
    ahead = float(room_c @ above)
    if not (ahead < need <= ahead + float(room_c @ mid)):
        return None
    w = np.where(above, top, lo)
    cand = np.flatnonzero(mid)
    cand = cand[np.argsort(-slope[cand])]
    rooms = room_c[cand]
    before = np.concatenate([[ahead], ahead + np.cumsum(rooms[:-1])])
    fill = np.clip(np.clip(need - before, 0.0, None), None, rooms)
    full = (fill >= room[cand]) & (slope[cand] > 0)
    w[cand] = np.where(full, top[cand], lo[cand] + fill)
    return w

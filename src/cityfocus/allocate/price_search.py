"""Linear-time search for the water level (the budget's price) without sorting breakpoints.

The budget function of ``continuous.py``, in ``t = phi(lam)``,

    S(t) = sum_i clip(a_i + b_i t, l_i, u_i),   breakpoints t_i^l = (l_i - a_i)/b_i,
                                                           t_i^u = (u_i - a_i)/b_i,

is piecewise linear and non-decreasing; the level is the root of ``S(t) = B``. Three searches
find it without sorting the ``2N`` breakpoints:

``level_dense`` (one row, numpy; the default) is safeguarded Newton on the whole row, each
pass a few unmasked array operations (see its docstring and docs/allocation.md for the
measured comparison with the next one); long rows start from the level of a strided sample.
Rows it does not settle in ``_DENSE_PASSES`` passes go to ``level_select``.

``level_select`` (one row, numpy; the ``O(N)`` fallback) is Kiwiel's breakpoint search with
variable fixing (K. C. Kiwiel, "Breakpoint searching algorithms for the continuous quadratic
knapsack problem", Math. Program. 112 (2008) 473-491). It keeps a bracket ``tL < t* <= tR``
and the zones with a breakpoint strictly inside it. Zones whose both breakpoints lie outside are
fixed for the rest of the search: at ``u_i`` (``t_i^u <= tL``), at ``l_i`` (``t_i^l >= tR``) or
free on the whole bracket (then only ``sum a_i`` and ``sum b_i`` are kept). Each pivot is
evaluated against the remaining zones only and halves the bracket on one side. Pivots: a
Newton step on ``S`` from the last pivot when it lies inside the bracket (``S`` is close to
smooth for many zones, so this usually leaves a handful of zones after two or three
pivots), and the median of the remaining breakpoints (``np.partition``, linear-time
selection) whenever a Newton pivot failed to halve the remaining zones. Median pivots
halve the breakpoint count, so the work is ``O(N)`` (a geometric series; the Newton
pivots only add passes that at least do not grow the set). When no breakpoint is left
inside the bracket, ``S`` is linear there and the root is solved for exactly.

``level_newton`` (a batch ``[R, N]``, numpy or torch) is the same Newton step, safeguarded
by the bracket (bisection when the step leaves it), run on whole rows at once, as in the
semismooth Newton method of R. Cominetti, W. F. Mascarenhas and P. J. S. Silva, "A Newton's
method for the continuous quadratic knapsack problem", Math. Program. Comput. 6 (2014)
151-169. A row stops when its residual ``|S(t) - B|`` is within rounding; because every
``w_i(t)`` moves the same way as ``t``, ``sum_i |w_i(t) - w_i(t*)| = |S(t) - B|``, so the
stopping rule bounds the distance to the exact shares in L1. Rows not done after
``_NEWTON_PASSES`` passes are handed to the sorting reference (``continuous.level_sorted``).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cityfocus.allocate.arrays import Array, common_value, namespace, quiet

# Residual accepted by the batched Newton search, relative to the budget (a few hundred
# ulps: the sum of N float64 shares is itself only that exact).
NEWTON_RTOL = 1e-12
_NEWTON_PASSES = 16
# Below this many remaining breakpoints the median is taken from all of them.
_SAMPLE_ABOVE = 1 << 14
# Passes of whole-row Newton (``level_dense``) before handing a row to Kiwiel's search. On
# 2,000 random problems and the benchmark rows (10^4 to 10^6 zones) it settled in 3 to 11,
# the checking pass included.
_DENSE_PASSES = 14
# Rows this long start Newton from the level of every ``_SAMPLE_STRIDE``-th zone's problem
# (budget scaled): most of the passes then run on the sample.
_SAMPLE_START_ABOVE = 1 << 15
_SAMPLE_STRIDE = 16
# Rows this long sum the slope with einsum (measured at 10^6 zones: 2.2 ms against 3.5 ms
# for ``b @ free``; at 10^4 zones 23 us against 8 us).
_EINSUM_ABOVE = 1 << 16


def level_select(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, need: float, t_max: float
) -> float:
    """The level ``t <= t_max`` with ``sum_i clip(a_i + b_i t, lo_i, hi_i) = need`` for one row.

    Args:
        a, b: ``[N]`` water-filling coefficients (``b = 0``: the zone stays at ``lo``).
        lo, hi: ``[N]`` bounds (``hi`` may be ``inf``).
        need: the budget, ``sum lo <= need``.
        t_max: the level at price 0 (if ``S(t_max) < need`` the result is ``t_max``).
    """
    active = b > 0
    fixed = 0.0  # sum of the shares fixed at a bound
    if not active.all():
        fixed = float(lo[~active].sum())
        a, b, lo, hi = a[active], b[active], lo[active], hi[active]
    # bounds shared by every zone stay scalars (never gathered)
    lo_all = float(lo[0]) if lo.size and lo.strides == (0,) else None
    hi_all = float(hi[0]) if hi.size and hi.strides == (0,) else None
    with np.errstate(all="ignore"):
        tl = (lo - a) / b
        tu = (hi - a) / b
    t_low, t_high = -np.inf, t_max
    sum_a = sum_b = 0.0  # zones free on the whole bracket: share a_i + b_i t
    guess: float | None = None
    last = np.nan  # the last pivot
    side, same_side = 0, 0  # which end the last pivot moved, and how many times in a row
    mark, tries = np.inf, 0  # zones left at the last checkpoint, fast pivots since
    while True:
        # fix every zone whose breakpoints both lie outside (t_low, t_high)
        at_hi = tu <= t_low
        at_lo = tl >= t_high
        free = (tl <= t_low) & (tu >= t_high)
        settled = at_hi | at_lo | free
        if settled.any():
            fixed += _masked_sum(hi, hi_all, at_hi) + _masked_sum(lo, lo_all, at_lo)
            sum_a += float(np.where(free, a, 0.0).sum())
            sum_b += float(np.where(free, b, 0.0).sum())
            keep = np.flatnonzero(~settled)
            a, b, tl, tu = a.take(keep), b.take(keep), tl.take(keep), tu.take(keep)
            lo = lo if lo_all is not None else lo.take(keep)
            hi = hi if hi_all is not None else hi.take(keep)
        size = a.size
        if size == 0:
            break
        if 2 * size <= mark:
            mark, tries = size, 0
        pivot = _fast_pivot(guess, last, t_low, t_high, same_side)
        if pivot is None or tries >= 3:  # three fast pivots without halving: a median one
            pivot = _median_breakpoint(tl, tu, t_low, t_high)
            mark, tries = size, 0
        else:
            tries += 1
        x = a + b * pivot
        x = np.clip(x, lo if lo_all is None else lo_all, hi if hi_all is None else hi_all)
        total = fixed + sum_a + sum_b * pivot + float(x.sum())
        slope = sum_b + float(np.where((tl <= pivot) & (tu > pivot), b, 0.0).sum())
        moved = 0 if total == need else (1 if total < need else -1)
        if moved >= 0:
            t_low = pivot
        if moved <= 0:
            t_high = pivot
        same_side = same_side + 1 if moved == side else 0
        side = moved
        guess = pivot + (need - total) / slope if slope > 0 else None
        last = pivot
    if sum_b > 0:
        t = (need - fixed - sum_a) / sum_b
        return float(min(max(t, t_low), t_high))
    return float(t_low if np.isfinite(t_low) else t_high)


def level_dense(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, need: float, t_max: float
) -> float | None:
    """The level of ``level_select`` by safeguarded Newton on the whole row: once the residual
    test ``|S(t) - need| <= NEWTON_RTOL max(1, need)`` holds, one more Newton step and a
    pass that checks it, whose own step on the exact sum is the answer (as
    ``continuous.newton_step``). ``None`` if that has not happened in ``_DENSE_PASSES``
    passes (the caller then runs ``level_select``). Zones with ``b = 0`` must have ``a``
    within their bounds (``continuous`` passes ``a = lo``); ``t_max`` finite or ``inf``.

    Each pass evaluates ``S`` and its right slope with no masked gather: ``clip`` and a
    ``bool`` dot product, so it costs a few microseconds per 10,000 zones.
    """
    lo_c, hi_c = common_value(lo), common_value(hi)  # a bound shared by every zone as a number
    bounded = not (isinstance(hi_c, float) and hi_c == np.inf)
    sum_b = float(b.sum())
    if not sum_b > 0:
        return None
    # the line through every zone being free, clipped below t_max
    t = min((need - float(a.sum())) / sum_b, t_max)
    if not np.isfinite(t):
        return None
    guess = sample_level(a, b, lo, hi, need, t_max)  # long rows start from their sample's
    t = guess if guess is not None and np.isfinite(guess) else t
    t_low, t_high = -np.inf, t_max
    tol = NEWTON_RTOL * max(1.0, abs(need))
    # rounding of numpy's pairwise sum of a.size non-negative shares
    floor = (8 + np.log2(a.size + 1)) * np.finfo(np.float64).eps * max(1.0, abs(need))
    x = np.empty_like(a)
    free = np.empty(a.shape, dtype=bool)
    below = np.empty(a.shape, dtype=bool)
    long_row = a.size >= _EINSUM_ABOVE
    for _ in range(_DENSE_PASSES):
        np.multiply(b, t, out=x)
        x += a
        np.greater(x, lo_c, out=free)
        if bounded:
            free &= np.less(x, hi_c, out=below)
        # einsum reads the bool mask directly; ``@`` converts it first (faster when short)
        slope = float(np.einsum("i,i->", b, free) if long_row else b @ free)
        np.maximum(x, lo_c, out=x)
        if bounded:
            np.minimum(x, hi_c, out=x)
        total = float(x.sum())
        resid = need - total
        if resid > 0:
            t_low = t
        elif resid < 0:
            t_high = t
        step = t + resid / slope if slope > 0 else np.nan
        if abs(resid) <= tol:
            # at the rounding floor of the sum, ``t`` is the root to rounding and its own
            # step on the exact sum is the answer. Above it (but within the test) the
            # Newton step is exact unless it crosses a breakpoint (clusters of them can sit
            # at the root, e.g. bounds met to 1e-10), so take it and check it with one more
            # pass
            if abs(resid) <= floor or not slope > 0:
                return step if slope > 0 else t
            t = step
            continue
        if t_low < step < t_high:
            t = step
        elif np.isfinite(t_low) and np.isfinite(t_high):
            t = 0.5 * (t_low + t_high)
        else:
            width = abs(t) + 1.0
            t = t_low + width if np.isfinite(t_low) else t_high - width
    return None


def sample_level(
    a: np.ndarray, b: np.ndarray, lo: np.ndarray, hi: np.ndarray, need: float, t_max: float
) -> float | None:
    """For a row of ``_SAMPLE_START_ABOVE`` zones or more, ``level_dense`` of its strided
    sample (every ``_SAMPLE_STRIDE``-th zone, the budget scaled to it), else ``None``."""
    if a.size < _SAMPLE_START_ABOVE:
        return None
    k = _SAMPLE_STRIDE
    sample = np.where(b[::k] > 0, a[::k], lo[::k]), b[::k], lo[::k], hi[::k]  # idle at lo
    return level_dense(*sample, need * len(sample[1]) / a.size, t_max)


def _masked_sum(values: np.ndarray, common: float | None, mask: np.ndarray) -> float:
    """``values[mask].sum()``, with ``common`` standing in for an array of one value."""
    if common is not None:
        count = int(np.count_nonzero(mask))
        return common * count if count else 0.0
    return float(np.where(mask, values, 0.0).sum())


def _fast_pivot(
    guess: float | None, last: float, t_low: float, t_high: float, same_side: int
) -> float | None:
    """The Newton guess from the last pivot ``last``; once Newton has moved the same end of
    the bracket twice running (it approaches a convex or concave ``S`` from one side), a
    doubled step instead, to land past the root and close the bracket from the other side.
    ``None`` if the guess does not lie strictly inside the bracket."""
    if guess is None:
        return None
    if same_side >= 1:
        far = guess + (guess - last)
        if t_low < far < t_high:
            return far
    return guess if t_low < guess < t_high else None


def _median_breakpoint(tl: np.ndarray, tu: np.ndarray, t_low: float, t_high: float) -> float:
    """The median of the breakpoints strictly inside ``(t_low, t_high)``, or of a strided
    sample of them when there are many (any inside breakpoint keeps the search exact)."""
    step = max(1, tl.size // _SAMPLE_ABOVE)
    inside = _inside(tl[::step], tu[::step], t_low, t_high)
    if inside.size == 0:  # the sample missed them (the remaining zones have some)
        inside = _inside(tl, tu, t_low, t_high)
    mid = inside.size // 2
    return float(np.partition(inside, mid)[mid])


def _inside(tl: np.ndarray, tu: np.ndarray, t_low: float, t_high: float) -> np.ndarray:
    """The breakpoints strictly inside ``(t_low, t_high)``."""
    return np.concatenate([tl[(tl > t_low) & (tl < t_high)], tu[(tu > t_low) & (tu < t_high)]])


def level_newton(
    a: Array,
    b: Array,
    lo: Array,
    hi: Array,
    budget: Array,
    t_max: float,
    skip: Array,
    start: Array | None = None,
) -> tuple[Array, Array]:
    """``([R] level, [R] done)``: safeguarded Newton on every row at once (numpy or torch).

    Zones with ``b = 0`` must have ``a`` within their bounds (``continuous.level`` sets
    ``a = lo`` there), so every pass is ``clip`` and sums with no masking. A row is done
    when its residual passes the test; its level is then finished by one more Newton step
    on the exact sum (as ``continuous.newton_step``), and once at most half the rows in a
    pass are left, only those are carried on. Rows with ``done`` False did not meet the test
    in ``_NEWTON_PASSES`` passes (their level is the best found so far); the caller
    finishes them another way. Rows in ``skip`` (``[R]`` bool, e.g. sated at price 0) count
    as done from the start and keep the starting level. ``start`` (``[R]``), when given and
    finite, replaces the default start (every zone free) row by row.
    """
    xp = namespace(a)
    inf = float("inf")
    lo, hi = common_value(lo), common_value(hi)  # a bound shared by every zone stays a number
    bounded = not (hi == inf if isinstance(hi, float) else bool(xp.isinf(hi).all()))
    with quiet(xp):
        # start from the line through all zones being free, clipped below t_max
        sum_b = b.sum(axis=1)
        t = (budget - a.sum(axis=1)) / xp.where(sum_b > 0, sum_b, 1 + 0 * sum_b)
        t = xp.where(xp.isfinite(t), t, 0 * t)
        t = xp.clip(t, max=t_max) if t_max < inf else t
        if start is not None:
            t = xp.where(xp.isfinite(start), xp.clip(start, max=t_max), t)
        out = t.clone() if xp is not np else t.copy()
        done_all = skip.clone() if xp is not np else skip.copy()
        rows = _indices(xp, ~done_all)  # the rows still searched, into the full batch
        a, b, lo, hi, budget, t = (_rows(v, rows) for v in (a, b, lo, hi, budget, t))
        t_low = xp.full_like(t, -inf)
        t_high = xp.full_like(t, t_max)
        tol = NEWTON_RTOL * xp.clip(xp.abs(budget), min=1.0)
        finished = done_all[rows]  # of the carried rows
        scratch = _scratch(xp, a)
        for _ in range(_NEWTON_PASSES):
            if len(rows) == 0:
                break
            total, slope = _budget_sum(xp, a, b, lo, hi, t, bounded, scratch)
            resid = budget - total
            step = t + resid / xp.where(slope > 0, slope, 1 + 0 * slope)
            newly = ~finished & (xp.abs(resid) <= tol)
            out[rows] = xp.where(newly, xp.where(slope > 0, step, t), out[rows])
            finished = finished | newly
            done_all[rows] = finished
            left = int(len(rows) - finished.sum())
            if left == 0:
                break
            t_low = xp.where(resid > 0, xp.maximum(t_low, t), t_low)
            t_high = xp.where(resid < 0, xp.minimum(t_high, t), t_high)
            inside = (slope > 0) & (step > t_low) & (step < t_high)
            width = xp.abs(t) + 1.0
            fallback = xp.where(
                xp.isfinite(t_low) & xp.isfinite(t_high),
                0.5 * (t_low + t_high),
                xp.where(xp.isfinite(t_low), t_low + width, t_high - width),
            )
            t = xp.where(finished, t, xp.where(inside, step, fallback))
            if 2 * left <= len(rows):  # carry on with the unfinished rows only
                keep = _indices(xp, ~finished)
                rows = rows[keep]
                a, b, lo, hi, budget, t, t_low, t_high, tol, finished = (
                    _rows(v, keep) for v in (a, b, lo, hi, budget, t, t_low, t_high, tol, finished)
                )
        out[rows] = xp.where(finished, out[rows], t)  # unfinished: the best level found
    return out, done_all


def _scratch(xp: Any, a: Array) -> tuple[np.ndarray, ...] | None:
    """Work arrays for ``_budget_sum`` on numpy rows shaped like ``a`` (``None``: torch)."""
    if xp is not np:
        return None
    return np.empty(a.shape), np.empty(a.shape, dtype=bool), np.empty(a.shape, dtype=bool)


def _budget_sum(
    xp: Any,
    a: Array,
    b: Array,
    lo: Array | float,
    hi: Array | float,
    t: Array,
    bounded: bool,
    scratch: tuple[np.ndarray, ...] | None,
) -> tuple[Array, Array]:
    """``([R] S(t), [R] right slope of S)`` for the rows' levels ``t``. On numpy the work
    arrays are written in place (``scratch``, first ``R`` rows): no temporary of the batch's
    size is allocated per pass, which is about a third of a pass's time."""
    if scratch is None:
        x = a + b * t[:, None]
        free = x > lo
        if bounded:
            free = free & (x < hi)
        return _clip(xp, x, lo, hi).sum(axis=1), (b * free).sum(axis=1)
    x, free, below = (work[: len(t)] for work in scratch)
    np.multiply(b, t[:, None], out=x)
    x += a
    np.greater(x, lo, out=free)
    if bounded:
        free &= np.less(x, hi, out=below)
    slope = np.einsum("ij,ij->i", b, free)
    np.maximum(x, lo, out=x)
    if bounded:
        np.minimum(x, hi, out=x)
    return x.sum(axis=1), slope


def _clip(xp: Any, x: Array, lo: Array | float, hi: Array | float) -> Array:
    """``clip(x, lo, hi)`` with either bound a number or an array (torch takes one kind)."""
    if xp is np or isinstance(lo, float) == isinstance(hi, float):
        return xp.clip(x, lo, hi)
    return x.clamp(min=lo).clamp(max=hi)


def _rows(value: Array | float, rows: Array) -> Any:
    """Rows ``rows`` of an array; a common bound (a float) as it is."""
    return value if isinstance(value, float) else value[rows]


def _indices(xp: Any, mask: Array) -> Array:
    """The indices where the ``[R]`` bool ``mask`` holds (numpy or torch)."""
    return xp.nonzero(mask)[0] if xp is np else xp.nonzero(mask)[:, 0]

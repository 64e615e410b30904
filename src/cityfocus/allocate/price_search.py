"""Linear-time search for the water level (the budget's price) without sorting breakpoints.

The budget function of ``continuous.py``, in ``t = phi(lam)``,

    S(t) = sum_i clip(a_i + b_i t, l_i, u_i),   breakpoints t_i^l = (l_i - a_i)/b_i,
                                                           t_i^u = (u_i - a_i)/b_i,

is piecewise linear and non-decreasing; the level is the root of ``S(t) = B``. Two searches
find it in ``O(N)`` work per row instead of sorting the ``2N`` breakpoints:

``level_select`` (one row, numpy) is Kiwiel's breakpoint search with variable fixing
(K. C. Kiwiel, "Breakpoint searching algorithms for the continuous quadratic knapsack
problem", Math. Program. 112 (2008) 473-491). It keeps a bracket ``tL < t* <= tR`` and the
zones with a breakpoint strictly inside it. Zones whose both breakpoints lie outside are
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

import numpy as np

from cityfocus.allocate.arrays import Array, namespace, quiet

# Residual accepted by the batched Newton search, relative to the budget (a few hundred
# ulps: the sum of N float64 shares is itself only that exact).
NEWTON_RTOL = 1e-12
_NEWTON_PASSES = 16
# Below this many remaining breakpoints the median is taken from all of them.
_SAMPLE_ABOVE = 1 << 14


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
    a: Array, b: Array, lo: Array, hi: Array, budget: Array, t_max: float, skip: Array
) -> tuple[Array, Array]:
    """``([R] level, [R] done)``: safeguarded Newton on every row at once (numpy or torch).

    Rows with ``done`` False did not meet the residual test in ``_NEWTON_PASSES`` passes
    (their level is the best found so far); the caller finishes them another way. Rows in
    ``skip`` (``[R]`` bool, e.g. sated at price 0) count as done from the start.
    """
    xp = namespace(a)
    active = b > 0
    inf = float("inf")
    with quiet(xp):
        # start from the line through all zones being free, clipped below t_max
        sum_b = b.sum(axis=1)
        t = (budget - xp.where(active, a - lo, 0 * a).sum(axis=1) - lo.sum(axis=1)) / xp.where(
            sum_b > 0, sum_b, 1 + 0 * sum_b
        )
        t = xp.where(xp.isfinite(t), t, 0 * t)
        t = xp.clip(t, max=t_max) if t_max < inf else t
        t_low = xp.full_like(t, -inf)
        t_high = xp.full_like(t, t_max)
        tol = NEWTON_RTOL * xp.clip(xp.abs(budget), min=1.0)
        done = skip.clone() if xp is not np else skip.copy()
        for _ in range(_NEWTON_PASSES):
            x = a + b * t[:, None]
            total = xp.where(active, xp.clip(x, lo, hi), lo).sum(axis=1)
            slope = xp.where(active & (x >= lo) & (x < hi), b, 0 * b).sum(axis=1)
            resid = budget - total
            done = done | (xp.abs(resid) <= tol)
            t_low = xp.where(resid > 0, xp.maximum(t_low, t), t_low)
            t_high = xp.where(resid < 0, xp.minimum(t_high, t), t_high)
            if bool(done.all()):
                break
            step = t + resid / xp.where(slope > 0, slope, 1 + 0 * slope)
            inside = (slope > 0) & (step > t_low) & (step < t_high)
            width = xp.abs(t) + 1.0
            fallback = xp.where(
                xp.isfinite(t_low) & xp.isfinite(t_high),
                0.5 * (t_low + t_high),
                xp.where(xp.isfinite(t_low), t_low + width, t_high - width),
            )
            t = xp.where(done, t, xp.where(inside, step, fallback))
    return t, done

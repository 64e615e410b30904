"""Indivisible units (patrol cars, sensors, crews): exact integer allocation.

Problem: ``max sum_i p_i g_i(x_i)`` over integers with ``sum_i x_i = k``, ``l_i <= x_i <= u_i``.
Write ``delta_i(j) = p_i (g_i(j + 1) - g_i(j))`` for the gain of zone ``i``'s ``(j+1)``-th
unit. Concavity makes each zone's ``delta_i(j)`` non-increasing in ``j``.

Optimality (Gross 1956; Fox 1966): a feasible ``x`` is optimal **iff** no single-unit move
improves it, i.e. ``min_{i: x_i > l_i} delta_i(x_i - 1) >= max_{j: x_j < u_j} delta_j(x_j)``.
Proof: the condition gives a threshold ``theta`` with every taken increment ``>= theta >=``
every untaken one, so ``x`` holds the ``k - sum l`` largest increments of the whole pool; any
feasible ``y`` takes as many increments of that pool (as per-zone prefixes, which is always
possible because they decrease), so its gain is no larger. Hence the greedy (repeatedly give
a unit where it gains most) is optimal, and so is any local search that stops there.

Two solvers with that one stopping rule:

* ``greedy_units``: the textbook heap greedy from the lower bounds, ``O(k log N)``.
* ``solve_units``: starts from the floor of the continuous optimum (fewer than ``N`` units
  short; for a long row, of the shares at its strided sample's level, which the certificate
  below makes as good a start), gives the missing units to the zones with the best next-unit
  gains (selection, ``argpartition``), then swaps units from the worst taken increments to
  the best untaken ones in vectorised rounds until the optimality condition holds. Each
  round strictly raises the gain, so it terminates; each costs ``O(N)`` selection plus a
  sort of the pairs it moves, and the count does not grow with ``k``.

Why the swaps stay: the floor of the continuous optimum is not always a subset of an integer
optimum. With price ``lam``, every increment below the floor gains ``>= lam`` and every one
from the ceiling up gains ``<= lam``, but the increment across a fractional share can gain
more than ``lam`` (a zone whose gain falls steeply just after its share), so an optimum may
take it instead of the last floor unit of a zone whose gain is flat at ``lam``. The
selection step is exact whenever exactly the chosen zones' next-unit gains are ``>= lam``;
otherwise the swap rounds finish the job, and the stopping rule is the certificate above.
"""

from __future__ import annotations

import heapq
from typing import Any

import numpy as np

from cityfocus.allocate.arrays import common_value
from cityfocus.allocate.continuous import continuous_shares
from cityfocus.allocate.problem import Allocation, AllocationProblem
from cityfocus.allocate.utilities import Utility

# A swap must beat the loss by this relative margin, so float noise cannot cycle.
_SWAP_RTOL = 1e-12
_MAX_ROUNDS = 10_000


def _check_units(problem: AllocationProblem) -> None:
    if not problem.units:
        raise ValueError("this solver allocates whole units: build the problem with units=True")


def solve_units(problem: AllocationProblem) -> Allocation:
    """The exact optimal whole-unit allocation (floor of the relaxation, then repair)."""
    _check_units(problem)
    # the relaxation is only a start (the repair restores the budget and the optimum), so a
    # long row takes the shares at its strided sample's level
    relaxed = continuous_shares(problem, rough=True).reshape(-1, problem.n_zones)
    lo = problem.lower.reshape(relaxed.shape)
    hi = problem.upper.reshape(relaxed.shape)
    start = np.clip(np.floor(relaxed + 1e-9), lo, hi)
    rows = [_repair(problem, r, start[r]) for r in range(len(start))]
    x = np.stack([x for x, _ in rows]).reshape(problem.demand.shape)
    return finish_units(problem, x, np.stack([nxt for _, nxt in rows]))


def greedy_units(problem: AllocationProblem) -> Allocation:
    """The heap greedy: from the lower bounds, give each unit to the zone that gains most."""
    _check_units(problem)
    n = problem.n_zones
    rows = []
    for r, d in enumerate(problem.rows()):
        p, lo, hi = (a.reshape(-1, n)[r] for a in (problem.weights, problem.lower, problem.upper))
        util = problem.utility
        zone_util = [util.take([i]) for i in range(n)] if util.params_per_zone() else None
        gains = p * util.increment(lo, d, 1.0)
        x = lo.copy()
        heap = [(-g, i) for i, g in enumerate(gains.tolist()) if x[i] < hi[i]]
        heapq.heapify(heap)
        for _ in range(int(problem.budget.reshape(-1)[r] - lo.sum())):
            _, i = heapq.heappop(heap)
            x[i] += 1
            if x[i] < hi[i]:
                one = zone_util[i] if zone_util else util
                nxt = p[i] * one.increment(x[i : i + 1], d[i : i + 1], 1.0)[0]
                heapq.heappush(heap, (-float(nxt), i))
        rows.append(x)
    return finish_units(problem, np.stack(rows).reshape(problem.demand.shape))


def unit_gains(
    problem: AllocationProblem, x: np.ndarray, row: int = 0, zones: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """``(next, last)`` for one row: gain of one more unit per zone (``-inf`` at the upper
    bound) and gain of the last unit given (``+inf`` at the lower bound); with ``zones``
    (indices), for those zones only (``x`` then holds their units)."""
    d, p, lo, hi, util = _zone_data(problem, row, zones)
    nxt, last = util.unit_gains(x, d)
    return _cap_next(p * nxt, x, hi), _cap_last(p * last, x, lo)


def _zone_data(
    problem: AllocationProblem, row: int, zones: np.ndarray | None
) -> tuple[np.ndarray, Any, Any, Any, Utility]:
    """``(demand, weights, lower, upper, utility)`` of one row, for ``zones`` if given; a
    weight or bound shared by every zone comes back as a number (nothing gathered)."""
    n = problem.n_zones
    d = problem.rows()[row]
    p, lo, hi = (
        common_value(a.reshape(-1, n)[row]) for a in (problem.weights, problem.lower, problem.upper)
    )
    util = problem.utility
    if zones is not None:
        d = d[zones]
        p, lo, hi = (v if isinstance(v, float) else v[zones] for v in (p, lo, hi))
        util = util.take(zones) if util.params_per_zone() else util
    return d, p, lo, hi, util


def _cap_next(gain: np.ndarray, x: np.ndarray, hi: Any) -> np.ndarray:
    """``gain`` with ``-inf`` where ``x`` is at its upper bound ``hi``."""
    return gain if isinstance(hi, float) and hi == np.inf else np.where(x < hi, gain, -np.inf)


def _cap_last(gain: np.ndarray, x: np.ndarray, lo: Any) -> np.ndarray:
    """``gain`` with ``+inf`` where ``x`` is at its lower bound ``lo``."""
    return np.where(x > lo, gain, np.inf)


def _repair(problem: AllocationProblem, row: int, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fix the unit count of ``x`` to the budget, then swap until the optimality rule holds.

    Returns ``(x, next)``, ``next`` the gains of one more unit at the final ``x``. The gains
    are computed once for every zone (``Utility.unit_gains``, which shares the work between
    the two), then only for the zones a step changed, and only on one side: a zone given a
    unit has lost as its last unit what was its next one, and a zone that gave one back has
    as its next unit what was its last one (a round costs ``O(N)`` comparisons plus one
    ``increment`` on the moved zones)."""
    x = x.copy()
    k = float(problem.budget.reshape(-1)[row])
    nxt, last = unit_gains(problem, x, row)

    def moved(zones: np.ndarray, step: float) -> None:
        x[zones] += step
        held = x[zones]
        d, p, lo, hi, util = _zone_data(problem, row, zones)
        if step > 0:
            last[zones] = nxt[zones]
            nxt[zones] = _cap_next(p * util.increment(held, d, 1.0), held, hi)
        else:
            nxt[zones] = last[zones]
            gain = util.increment(np.maximum(held - 1.0, 0.0), d, 1.0)
            last[zones] = _cap_last(p * gain, held, lo)

    for _ in range(_MAX_ROUNDS):
        missing = int(round(k - x.sum()))
        if missing == 0:
            break
        if missing > 0:  # give one unit each to the best zones with room
            moved(_smallest(-nxt, missing), 1.0)
        else:  # take one unit each from the zones whose last unit gains least
            moved(_smallest(last, -missing), -1.0)
    for _ in range(_MAX_ROUNDS):
        # only gains above the smallest loss, and losses below the largest gain, can pair up
        best = np.flatnonzero(nxt > last.min())
        worst = np.flatnonzero(last < nxt.max())
        m = min(len(best), len(worst))
        best = _sorted_smallest(best, -nxt[best], m)
        worst = _sorted_smallest(worst, last[worst], m)
        gain, loss = nxt[best[:m]], last[worst[:m]]
        scale = np.maximum(np.abs(gain), np.abs(loss))
        better = (gain > loss + _SWAP_RTOL * scale) & np.isfinite(gain) & np.isfinite(loss)
        moves = int(np.argmin(better)) if not better.all() else m
        if moves == 0:
            return x, nxt
        # a zone is never both (its next gain would have to beat its own last one)
        moved(best[:moves], 1.0)
        moved(worst[:moves], -1.0)
    raise RuntimeError("unit repair did not converge; please report this problem")


def _sorted_smallest(index: np.ndarray, key: np.ndarray, m: int) -> np.ndarray:
    """The ``m`` entries of ``index`` with the smallest ``key``, in increasing key order
    (selection first, so only those ``m`` are sorted)."""
    if 0 < m < len(index):
        part = np.argpartition(key, m - 1)[:m]
        index, key = index[part], key[part]
    return index[np.argsort(key, kind="stable")][:m]


def _smallest(values: np.ndarray, count: int) -> np.ndarray:
    """Indices of the ``count`` smallest finite ``values`` (any order; fewer if not enough)."""
    if 0 < count < len(values):  # usually the selection holds no inf: no filtered copy
        pick = np.argpartition(values, count - 1)[:count]
        if np.isfinite(values[pick]).all():
            return pick
    finite = np.flatnonzero(np.isfinite(values))
    if count >= len(finite):
        return finite
    return finite[np.argpartition(values[finite], count - 1)[:count]]


def finish_units(
    problem: AllocationProblem, x: np.ndarray, next_gain: np.ndarray | None = None
) -> Allocation:
    """Wrap whole units into an ``Allocation``: ``marginal`` is each zone's gain from one more
    unit, ``shadow_price`` the best of those (the value of one more unit of budget).
    ``next_gain`` (``[B, N]``, as ``unit_gains`` gives at ``x``) saves recomputing them."""
    n = problem.n_zones
    nxt = next_gain
    if nxt is None:
        nxt = np.stack([unit_gains(problem, xr, r)[0] for r, xr in enumerate(x.reshape(-1, n))])
    marginal = np.where(np.isfinite(nxt), nxt, 0.0)
    price = marginal.max(axis=1)
    marginal = marginal.reshape(x.shape)
    objective = problem.objective(x)
    single = not problem.batched
    return Allocation(
        w=x,
        objective=float(objective) if single else objective,
        shadow_price=float(price[0]) if single else price,
        marginal=marginal,
        family=problem.utility.name,
        sense=problem.utility.sense,
        units=True,
    )

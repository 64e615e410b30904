"""The ``capacity`` family: units that each serve at most ``kappa`` incidents, allocated on the
predictive *distribution* of each zone's count, not on its mean.

A zone with random demand ``D_i`` (a count) and ``w_i`` units serves ``min(D_i, kappa w_i)``
incidents, so the allocation maximises

    F(w) = sum_i V_i(w_i),   V_i(w) = E[min(D_i, kappa w)] = kappa * integral_0^w S_i(kappa u) du,

with ``S_i(x) = P(D_i > x)``. For a count, ``S_i`` is constant on each ``[j, j + 1)``, so
``V_i`` is piecewise linear and concave: slope ``kappa P(D_i > j)`` for ``kappa w`` in
``[j, j + 1)``. The marginal value of a unit is ``kappa P(D_i > kappa w)``: a unit goes where
the chance that demand exceeds what is already there is highest. Plugging in the mean instead
(a point mass at ``mu_i``) gives ``V_i(w) = min(mu_i, kappa w)``, the ``linear`` family with
demand ``kappa`` and cap ``mu_i / kappa``, blind to how demand spreads.

Exactness. Both solvers below rest on the separable concave structure:

* **shares** (continuous ``w``): every ``V_i`` is a sum of linear pieces of decreasing slope;
  taking pieces in order of decreasing slope until the budget is spent (the last one in part)
  is optimal, since an exchange of budget from a steeper to a flatter piece never helps
  (the fractional knapsack argument). The shadow price is the slope of the last piece taken.
* **whole units**: the gain of a zone's k-th unit, ``g_i(k) = V_i(k) - V_i(k - 1)``, is
  non-increasing in k (concavity), so the B largest gains over all (zone, k), ties broken by
  zone order, are always a prefix per zone, and no other B gains sum higher: the greedy of
  one unit at a time and this selection give the same optimum.

``upper`` bounds each zone's units or share; the budget may exceed what all zones can use
(then the rest is left unspent and the shadow price is 0).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityfocus.allocate.errors import AllocationError


@dataclass(frozen=True)
class CapacityAllocation:
    """An optimal capacity allocation.

    Attributes:
        w: ``[N]`` units (whole when ``units``) or shares per zone.
        objective: ``sum_i E[min(D_i, kappa w_i)]``: expected incidents served.
        marginal: ``[N]`` expected incidents one more unit would serve in each zone.
        shadow_price: expected incidents the next unit of budget would serve (0 when every
            zone is saturated or at its bound).
    """

    w: np.ndarray
    objective: float
    marginal: np.ndarray
    shadow_price: float
    units: bool


def survival_grid(survival: np.ndarray) -> np.ndarray:
    """Check ``survival`` ``[N, K]`` = ``P(D_i > j)`` for j = 0..K-1: finite, in [0, 1],
    non-increasing along j. Returns it as float64."""
    s = np.asarray(survival, dtype=np.float64)
    if s.ndim != 2 or s.shape[1] == 0:
        raise AllocationError(f"capacity: survival must be [N, K] with K >= 1, got {s.shape}")
    if not np.isfinite(s).all() or (s < -1e-12).any() or (s > 1 + 1e-12).any():
        raise AllocationError("capacity: survival probabilities must lie in [0, 1]")
    if (np.diff(s, axis=1) > 1e-9).any():
        raise AllocationError("capacity: survival P(D > j) must not increase with j")
    return np.clip(s, 0.0, 1.0)


def expected_served(survival: np.ndarray, capacity: np.ndarray) -> np.ndarray:
    """``E[min(D_i, c_i)]`` for capacities ``c`` ``[N]`` (incidents; ``c`` may be fractional):
    ``sum_{j < floor c} P(D > j) + (c - floor c) P(D > floor c)``. Capacities beyond the grid
    count the grid's last probability as 0 (extend the grid to make that exact)."""
    s = np.asarray(survival, dtype=np.float64)
    c = np.clip(np.asarray(capacity, dtype=np.float64), 0.0, float(s.shape[1]))
    whole = np.floor(c).astype(np.int64)
    cumulative = np.concatenate([np.zeros((s.shape[0], 1)), np.cumsum(s, axis=1)], axis=1)
    rows = np.arange(s.shape[0])
    padded = np.concatenate([s, np.zeros((s.shape[0], 1))], axis=1)
    return cumulative[rows, whole] + (c - whole) * padded[rows, whole]


def solve_capacity(survival: np.ndarray, kappa: float, budget: float, *, units: bool = True,
                   upper: np.ndarray | float | None = None) -> CapacityAllocation:
    """The allocation maximising expected incidents served (see the module docstring).

    Args:
        survival: ``[N, K]`` ``P(D_i > j)`` for j = 0..K-1; K must reach ``kappa * budget``
            (or the largest ``kappa * upper``) for the optimum to see every unit's value.
        kappa: incidents one unit can serve (> 0).
        budget: units (a whole number when ``units``) or total share (>= 0).
        units: whole units (True) or continuous shares.
        upper: per-zone (or common) upper bound on units or share; None: unbounded.
    """
    s = survival_grid(survival)
    n, k_grid = s.shape
    if not (np.isfinite(kappa) and kappa > 0):
        raise AllocationError(f"capacity: kappa = {kappa} must be > 0 and finite")
    if not (np.isfinite(budget) and budget >= 0):
        raise AllocationError(f"capacity: budget = {budget} must be >= 0 and finite")
    if units and budget != np.floor(budget):
        raise AllocationError(f"capacity: a budget of whole units must be a whole number, "
                              f"got {budget}")
    cap = np.full(n, np.inf) if upper is None else np.broadcast_to(
        np.asarray(upper, dtype=np.float64), (n,)).copy()
    if (cap < 0).any() or np.isnan(cap).any():
        raise AllocationError("capacity: upper bounds must be >= 0")
    limit = np.minimum(cap, k_grid / kappa)  # past the grid a unit serves nothing more
    if units:
        return _whole_units(s, kappa, int(budget), np.floor(limit))
    return _shares(s, kappa, float(budget), limit)


def _whole_units(s: np.ndarray, kappa: float, budget: int,
                 limit: np.ndarray) -> CapacityAllocation:
    n = s.shape[0]
    most = int(min(budget, limit.max(initial=0.0))) if n else 0
    steps = np.arange(most + 1, dtype=np.float64)
    served = np.stack([expected_served(s, np.full(n, kappa * k)) for k in steps], axis=1)
    gains = np.diff(served, axis=1)  # [N, most]: the k-th unit's gain, non-increasing in k
    allowed = steps[1:][None, :] <= limit[:, None]
    gains = np.where(allowed, gains, -np.inf)
    flat = gains.ravel()
    take = min(budget, int(np.isfinite(flat).sum()))
    w = np.zeros(n)
    if take > 0:
        # the `take` largest gains; ties by zone then unit order keep each zone's a prefix
        order = np.lexsort((np.tile(np.arange(most), n), np.repeat(np.arange(n), most), -flat))
        chosen = order[:take]
        np.add.at(w, chosen // most, 1.0)
    objective = float(expected_served(s, kappa * w).sum())
    nxt = expected_served(s, kappa * (w + 1)) - expected_served(s, kappa * w)
    marginal = np.where(w + 1 <= limit, nxt, 0.0)
    return CapacityAllocation(w, objective, marginal, float(marginal.max(initial=0.0)), True)


def _shares(s: np.ndarray, kappa: float, budget: float,
            limit: np.ndarray) -> CapacityAllocation:
    n, k_grid = s.shape
    # pieces: zone i, piece j spans shares [j/kappa, (j+1)/kappa) at slope kappa * s[i, j]
    start = np.arange(k_grid)[None, :] / kappa
    length = np.clip(np.minimum(limit[:, None] - start, 1.0 / kappa), 0.0, None)
    slope = kappa * s
    order = np.lexsort((np.tile(np.arange(k_grid), n), np.repeat(np.arange(n), k_grid),
                        -slope.ravel()))
    lengths = length.ravel()[order]
    slopes = slope.ravel()[order]
    used = np.clip(budget - (np.cumsum(lengths) - lengths), 0.0, lengths)
    used[slopes <= 0] = 0.0
    w = np.zeros(n)
    np.add.at(w, order // k_grid, used)
    objective = float(expected_served(s, kappa * w).sum())
    price = 0.0
    partial = np.flatnonzero(used > 0)
    if partial.size and used.sum() >= budget - 1e-12:
        last = partial[-1]
        price = float(slopes[last])
    j = np.minimum(np.floor(kappa * w + 1e-12).astype(np.int64), k_grid - 1)
    marginal = np.where(w < limit - 1e-12, kappa * s[np.arange(n), j], 0.0)
    return CapacityAllocation(w, objective, marginal, price, False)


def mean_plug_in(mean: np.ndarray, kappa: float, budget: float, *, units: bool = True,
                 upper: np.ndarray | float | None = None) -> np.ndarray:
    """The allocation that treats each zone's demand as exactly its mean ``mu_i``:
    ``V_i(w) = min(mu_i, kappa w)`` (a point mass; the ``linear`` family with demand
    ``kappa`` and cap ``mu_i / kappa``). Returns ``w`` ``[N]``."""
    from cityfocus.allocate import AllocationProblem, solve

    mu = np.clip(np.asarray(mean, dtype=np.float64), 0.0, None)
    n = len(mu)
    bound = np.full(n, np.inf) if upper is None else np.broadcast_to(
        np.asarray(upper, dtype=np.float64), (n,))
    # a zone with no expected demand gets a tiny cap (the family needs caps > 0): no value
    problem = AllocationProblem(np.full(n, kappa), budget, "linear", units=units,
                                upper=bound, cap=np.maximum(mu / kappa, 1e-12))
    return np.asarray(solve(problem).w, dtype=np.float64)

"""Several parts at once: resource kinds with their own budgets, or domains sharing one budget
under a weighted multi-objective, and the Pareto sweep over those weights.

A *part* is an ``AllocationProblem`` over its own zones (a domain such as traffic signals,
air sensors or patrol beats, each with its own family, demand and bounds).

* Own budgets (``budget=None``): parts are independent; each is solved exactly on its own.
* One shared budget ``B`` with objective weights ``omega_k``::

      maximise  sum_k omega_k sum_{i in k} p_i gain_{k,i}(w_i)
      s.t.      sum_k sum_{i in k} w_i = B,   l <= w <= u

  Cost families enter as gains (``-cost``), so weights trade comparable quantities only if
  the user scales them so. The KKT conditions share one price ``lam`` across parts:
  ``w_i(lam) = clip(h_i(lam / (omega_k p_i)), l_i, u_i)``, non-increasing in ``lam``.
  Families differ, so there is no common transform; the price is bracketed by bisection
  in ``log lam`` down to adjacent floats ``lam_lo < lam_hi``, and the shares are the exact
  budget-meeting blend ``w = w(lam_hi) + theta (w(lam_lo) - w(lam_hi))``: both ends are
  within bounds, only zones whose marginal crosses the (float-width) bracket move, and a
  ``linear`` zone whose slope sits in it takes exactly the remainder.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cityfocus.allocate.continuous import spread_leftover
from cityfocus.allocate.errors import AllocationError
from cityfocus.allocate.problem import Allocation, AllocationProblem
from cityfocus.allocate.solve import solve
from cityfocus.allocate.utilities import phi

_BISECTIONS = 200  # more than enough to reach adjacent floats from any bracket


@dataclass
class MultiAllocation:
    """Allocations of several parts.

    Attributes:
        parts: name -> ``Allocation`` (each with its own objective in its natural sense).
        budget_split: name -> total given to that part.
        objective: ``sum_k omega_k * gain_k`` (gain scale: costs negated).
        shadow_price: the shared budget's price ``lam``; ``None`` with own budgets.
        weights: the objective weights used.
    """

    parts: dict[str, Allocation]
    budget_split: dict[str, float]
    objective: float
    shadow_price: float | None
    weights: dict[str, float] = field(default_factory=dict)


def solve_multi(
    parts: Mapping[str, AllocationProblem],
    budget: float | None = None,
    objective_weights: Mapping[str, float] | None = None,
) -> MultiAllocation:
    """Solve several parts: each on its own budget, or all on one shared ``budget``.

    Args:
        parts: name -> single (not batched) problem. With a shared budget a part's own
            budget is ignored; its demand, family, bounds and weights are used.
        budget: the shared budget, or ``None`` for each part's own.
        objective_weights: name -> ``omega_k >= 0`` (default 1 each).

    Raises:
        AllocationError: no parts, a batched part, unknown/negative weights, an
            infeasible shared budget, or whole units with a shared budget.
    """
    names = list(parts)
    if not names:
        raise AllocationError("give at least one part to allocate")
    omega = _weights(names, objective_weights)
    for name, prob in parts.items():
        if prob.batched:
            raise AllocationError(f"part {name!r}: batched problems cannot be combined")
        if budget is not None and prob.units:
            raise AllocationError(
                f"part {name!r}: whole units with a shared budget are not supported; "
                "give each part its own budget or use shares"
            )
    if budget is None:
        solved = {name: solve(prob) for name, prob in parts.items()}
        split = {name: float(prob.budget) for name, prob in parts.items()}
        price = None
    else:
        solved, split, price = _shared(parts, float(budget), omega)
    total = sum(omega[n] * float(np.asarray(solved[n].gain)) for n in names)
    return MultiAllocation(solved, split, total, price, omega)


def _weights(names: list[str], given: Mapping[str, float] | None) -> dict[str, float]:
    omega = {n: 1.0 for n in names}
    for name, value in (given or {}).items():
        if name not in omega:
            raise AllocationError(f"objective weight for unknown part {name!r}; parts: {names}")
        if not np.isfinite(value) or value < 0:
            raise AllocationError(f"part {name!r}: objective weight {value} must be >= 0")
        omega[name] = float(value)
    return omega


def _shares_at(prob: AllocationProblem, omega: float, lam: float) -> np.ndarray:
    """``w(lam)`` of one part: each zone at the share where its weighted marginal is ``lam``
    (``lam = 0``: every zone at its peak)."""
    util, d, lo, hi = prob.utility, prob.demand, prob.lower, prob.upper
    p = omega * prob.weights
    if util.phi is None:
        cap = np.broadcast_to(np.asarray(util.params()["cap"], dtype=np.float64), d.shape)
        top = np.maximum(lo, np.minimum(cap, hi))
        return np.where(p * d > lam, top, lo)
    a, b = util.water(d, p)
    t = util.t_max() if lam <= 0 else min(float(phi(util.phi, np.float64(lam))), util.t_max())
    with np.errstate(invalid="ignore"):
        return np.where(b > 0, np.clip(a + b * t, lo, hi), lo)


def _shared(
    parts: Mapping[str, AllocationProblem], budget: float, omega: dict[str, float]
) -> tuple[dict[str, Allocation], dict[str, float], float]:
    names = list(parts)
    lo_sum = sum(float(p.lower.sum()) for p in parts.values())
    hi_sum = sum(float(p.upper.sum()) for p in parts.values())
    tol = 1e-12 * max(1.0, abs(budget))
    if not (lo_sum - tol <= budget <= hi_sum + tol):
        raise AllocationError(
            f"shared budget {budget:g} outside [sum of lower bounds {lo_sum:g}, "
            f"sum of upper bounds {hi_sum:g}]"
        )

    def shares(lam: float) -> list[np.ndarray]:
        return [_shares_at(parts[n], omega[n], lam) for n in names]

    def total(ws: list[np.ndarray]) -> float:
        return float(sum(w.sum() for w in ws))

    peak = shares(0.0)
    if total(peak) <= budget:  # every zone sated: price 0, spread the rest
        flat = spread_leftover(
            np.concatenate(peak)[None, :],
            np.concatenate([parts[n].upper for n in names])[None, :],
            np.array([budget]),
        )[0]
        return _wrap(parts, names, _split(flat, peak), 0.0, omega)
    lam_hi = max(
        float((omega[n] * parts[n].marginal(parts[n].lower)).max(initial=0.0)) for n in names
    )
    lam_hi = max(lam_hi, np.finfo(float).tiny) * 2.0
    lam_lo = lam_hi
    while total(shares(lam_lo)) < budget and lam_lo > 1e-300:
        lam_lo *= 1e-4
    for _ in range(_BISECTIONS):
        mid = float(np.sqrt(lam_lo * lam_hi))
        if not lam_lo < mid < lam_hi:
            break
        if total(shares(mid)) >= budget:
            lam_lo = mid
        else:
            lam_hi = mid
    w_lo, w_hi = shares(lam_lo), shares(lam_hi)
    s_lo, s_hi = total(w_lo), total(w_hi)
    theta = 1.0 if s_lo <= s_hi else min(max((budget - s_hi) / (s_lo - s_hi), 0.0), 1.0)
    ws = [h + theta * (lo - h) for lo, h in zip(w_lo, w_hi, strict=True)]
    return _wrap(parts, names, ws, lam_hi, omega)


def _split(flat: np.ndarray, like: list[np.ndarray]) -> list[np.ndarray]:
    return np.split(flat, np.cumsum([len(w) for w in like])[:-1])


def _wrap(
    parts: Mapping[str, AllocationProblem],
    names: list[str],
    ws: list[np.ndarray],
    lam: float,
    omega: dict[str, float],
) -> tuple[dict[str, Allocation], dict[str, float], float]:
    solved = {}
    for name, w in zip(names, ws, strict=True):
        prob = parts[name]
        solved[name] = Allocation(
            w=w,
            objective=float(prob.objective(w)),
            shadow_price=lam / omega[name] if omega[name] > 0 else float("inf"),
            marginal=prob.marginal(w),
            family=prob.utility.name,
            sense=prob.utility.sense,
        )
    return solved, {n: float(w.sum()) for n, w in zip(names, ws, strict=True)}, lam


@dataclass
class ParetoPoint:
    """One point of a sweep: the weights, each part's objective (natural sense) and share
    of the budget, and whether no other point of the sweep beats it on every part."""

    weights: dict[str, float]
    objectives: dict[str, float]
    budget_split: dict[str, float]
    efficient: bool = True


def pareto_sweep(
    parts: Mapping[str, AllocationProblem], budget: float, steps: int = 11
) -> list[ParetoPoint]:
    """Solve the shared-budget problem for objective weights on a grid of the simplex
    (``steps`` values per part, weights summing to 1) and mark the efficient points.

    Two parts give ``steps`` points from all-to-the-second to all-to-the-first; the
    efficient ones trace the trade-off curve between the two objectives.
    """
    names = list(parts)
    if steps < 2:
        raise AllocationError(f"steps must be >= 2, got {steps}")
    grid = [
        combo
        for combo in itertools.product(range(steps), repeat=len(names))
        if sum(combo) == steps - 1
    ]
    points = []
    for combo in grid:
        omega = {n: c / (steps - 1) for n, c in zip(names, combo, strict=True)}
        result = solve_multi(parts, budget, omega)
        objectives = {n: a.objective for n, a in result.parts.items()}
        points.append(ParetoPoint(omega, objectives, result.budget_split))
    gains = np.array(
        [
            [
                p.objectives[n] if parts[n].utility.sense == "max" else -p.objectives[n]
                for n in names
            ]
            for p in points
        ]
    )
    scale = 1e-9 * np.maximum(1.0, np.abs(gains).max(axis=0))
    for i, point in enumerate(points):
        dominated = (gains >= gains[i] - scale).all(axis=1) & (gains > gains[i] + scale).any(axis=1)
        point.efficient = not bool(dominated.any())
    return points


def weighted_gain(
    parts: Mapping[str, AllocationProblem],
    ws: Mapping[str, Any],
    objective_weights: Mapping[str, float] | None = None,
) -> float:
    """``sum_k omega_k gain_k(w_k)`` for given shares (to compare any split)."""
    omega = _weights(list(parts), objective_weights)
    return float(sum(omega[n] * float(parts[n].gain(np.asarray(ws[n]))) for n in parts))

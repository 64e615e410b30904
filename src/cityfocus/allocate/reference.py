"""The exactness reference: the same problem written for cvxpy (needs the ``dev`` extra),
and the random instances the tests and ``benchmarks/allocation.py`` check the engine on.

The engine never uses this module. Each family is
written in its disciplined-convex form (exponential cone for ``coverage``/``log``, second-order
cone for ``variance``/``delay``, an LP for ``linear``) and solved by Clarabel by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cityfocus.allocate.continuous import water_fill
from cityfocus.allocate.problem import AllocationProblem
from cityfocus.allocate.utilities import Delay

# Clarabel's defaults stop at 1e-8 gaps; the reference is asked for more.
TIGHT = {"tol_gap_abs": 1e-12, "tol_gap_rel": 1e-12, "tol_feas": 1e-12, "tol_ktratio": 1e-10}


def cvxpy_problem(problem: AllocationProblem, row: int = 0) -> tuple[Any, Any]:
    """``(cvxpy.Problem, w variable)`` for one row of ``problem`` (continuous shares)."""
    import cvxpy as cp

    n = problem.n_zones
    d = problem.rows()[row]
    p = problem.weights.reshape(-1, n)[row]
    lo = problem.lower.reshape(-1, n)[row]
    hi = problem.upper.reshape(-1, n)[row]
    budget = float(problem.budget.reshape(-1)[row])
    util = problem.utility
    params = {
        k: np.broadcast_to(np.asarray(v, dtype=np.float64), (n,)) for k, v in util.params().items()
    }
    w = cp.Variable(n)
    pd = p * d
    objective: cp.Maximize | cp.Minimize
    if util.name == "coverage":
        alpha = params["alpha"]
        objective = cp.Maximize(pd.sum() - pd @ cp.exp(-cp.multiply(alpha, w)))
    elif util.name == "log":
        alpha = params["alpha"]
        objective = cp.Maximize(pd @ cp.log(1 + cp.multiply(alpha, w)))
    elif util.name == "variance":
        alpha = params["alpha"]
        objective = cp.Minimize(pd @ cp.inv_pos(1 + cp.multiply(alpha, w)))
    elif util.name == "linear":
        objective = cp.Maximize(pd @ cp.minimum(w, params["cap"]))
    elif isinstance(util, Delay):
        scale = util.cycle / (1.0 - d / params["saturation"])
        objective = cp.Minimize(0.5 * (pd * scale) @ cp.square(cp.pos(1 - w)))
    else:
        raise ValueError(f"no cvxpy form for family {util.name!r}")
    constraints = [cp.sum(w) == budget, w >= lo]
    finite = np.isfinite(hi)
    if finite.any():
        constraints.append(w[np.flatnonzero(finite)] <= hi[finite])
    return cp.Problem(objective, constraints), w


def solve_cvxpy(problem: AllocationProblem, row: int = 0, tight: bool = True) -> np.ndarray:
    """cvxpy + Clarabel's optimal ``w`` ``[N]`` for one row of ``problem``, as returned
    (interior-point solutions may break bounds or the budget by ~1e-9)."""
    prob, w = cvxpy_problem(problem, row)
    prob.solve(solver="CLARABEL", **(TIGHT if tight else {}))
    if w.value is None:
        raise RuntimeError(f"cvxpy/Clarabel returned status {prob.status}")
    return np.asarray(w.value, dtype=np.float64)


def project_feasible(problem: AllocationProblem, w: np.ndarray, row: int = 0) -> np.ndarray:
    """Euclidean projection of ``w`` ``[N]`` onto ``{sum w = B, lower <= w <= upper}`` of one
    row: ``clip(w + t, lower, upper)`` with the budget met (water-filling with ``b = 1``)."""
    n = problem.n_zones
    lo = problem.lower.reshape(-1, n)[row : row + 1]
    hi = problem.upper.reshape(-1, n)[row : row + 1]
    budget = problem.budget.reshape(-1)[row : row + 1]
    a = np.asarray(w, dtype=np.float64)[None, :]
    return water_fill(a, np.ones_like(a), lo, hi, budget, float("inf"))[0]


def family_params(family: str, demand: np.ndarray, rng: np.random.Generator) -> dict[str, Any]:
    """Random per-zone parameters that make a valid ``family`` instance for ``demand``."""
    n = demand.shape[-1]
    if family in ("coverage", "log", "variance"):
        return {"alpha": rng.uniform(0.1, 5.0, n)}
    if family == "linear":
        return {"cap": rng.uniform(0.1, 3.0, n)}
    saturation = demand.reshape(-1, n).max(axis=0) * rng.uniform(1.2, 4.0, n)
    return {"saturation": saturation + rng.uniform(0.5, 2.0, n), "cycle": rng.uniform(30, 120)}


def random_problem(
    family: str, n: int, rng: np.random.Generator, units: bool = False, rows: int | None = None
) -> AllocationProblem:
    """A feasible random instance: demand over four orders of magnitude with ~15% zeros,
    random priority weights, lower bounds on ~40% of zones, infinite upper bounds on
    ~40% (green shares capped at 1.2 for ``delay``), a budget anywhere in the feasible
    range up to ~2 per zone; whole-unit bounds and budget when ``units``."""
    shape = (n,) if rows is None else (rows, n)
    demand = rng.uniform(0.0, 10.0, shape) * (rng.random(shape) > 0.15)
    demand *= 10.0 ** rng.uniform(-2, 2)
    lower: np.ndarray
    upper: np.ndarray
    if units:
        lower = rng.integers(0, 2, n).astype(float)
        upper = lower + rng.integers(0, 6, n)
        upper[rng.random(n) < 0.3] = np.inf
    else:
        lower = rng.uniform(0.0, 0.3, n) * (rng.random(n) < 0.4)
        upper = lower + rng.uniform(0.0, 3.0, n)
        upper[rng.random(n) < 0.4] = np.inf
        if family == "delay":
            upper = np.maximum(np.minimum(upper, 1.2), lower)
    span = min(upper.sum(), lower.sum() + rng.uniform(0.0, 2.0) * n)
    budget = rng.uniform(lower.sum(), span, None if rows is None else rows)
    return AllocationProblem(
        demand,
        np.floor(budget) if units else budget,
        family,
        lower=lower,
        upper=upper,
        weights=rng.uniform(0.5, 2.0, n),
        units=units,
        **family_params(family, demand, rng),
    )

"""The exactness reference: the same problem written for cvxpy (needs the ``dev`` extra).

Only tests and ``benchmarks/allocation.py`` use it; the engine never does. Each family is
written in its disciplined-convex form (exponential cone for ``coverage``/``log``, second-order
cone for ``variance``/``delay``, an LP for ``linear``) and solved by Clarabel by default.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cityfocus.allocate.continuous import water_fill
from cityfocus.allocate.problem import AllocationProblem

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
    elif util.name == "delay":
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

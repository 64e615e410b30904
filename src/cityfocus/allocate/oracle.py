"""Hindsight: the allocation we would have chosen had we known the realized demand, and the
regret of any allocation against it.

For realized demand ``y`` and an allocation ``w`` chosen before ``y`` was known::

    regret(w; y) = F(w*(y); y) - F(w; y) >= 0,    F = sum_i p_i gain_i(w_i; y_i),

with ``w*(y)`` the exact optimum of the same problem (budget, bounds, weights, family,
units) for demand ``y``. Regret is in gain units: for cost families (``variance``,
``delay``) it is the extra cost paid.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cityfocus.allocate.errors import AllocationError
from cityfocus.allocate.problem import Allocation, AllocationProblem
from cityfocus.allocate.solve import solve


def oracle(problem: AllocationProblem, realized: Any) -> Allocation:
    """The hindsight-optimal allocation of ``problem`` for ``realized`` demand (same shape)."""
    return solve(problem.with_demand(realized))


def regret(problem: AllocationProblem, w: Any, realized: Any) -> Any:
    """``F(w*(y); y) - F(w; y)`` for ``w`` ``[N]`` or ``[B, N]``; a float or ``[B]``.

    Raises:
        AllocationError: if ``w`` does not have the demand's shape.
    """
    w = np.asarray(w, dtype=np.float64)
    if w.shape != problem.demand.shape:
        raise AllocationError(f"allocation shape {w.shape} != demand shape {problem.demand.shape}")
    truth = problem.with_demand(realized)
    best = solve(truth)
    gap = np.asarray(best.gain) - truth.gain(w)
    return float(gap) if gap.ndim == 0 else gap


def with_gap(problem: AllocationProblem, alloc: Allocation, realized: Any) -> Allocation:
    """``alloc`` with its ``gap`` (regret against the oracle for ``realized``) filled in."""
    alloc.gap = regret(problem, alloc.w, realized)
    return alloc

"""One entry point: pick the exact solver a problem needs."""

from __future__ import annotations

from typing import Any

from cityfocus.allocate.continuous import solve_continuous
from cityfocus.allocate.problem import Allocation, AllocationProblem
from cityfocus.allocate.units import solve_units


def solve(problem: AllocationProblem) -> Allocation:
    """The optimal allocation of ``problem``: whole units if ``problem.units``, else shares."""
    return solve_units(problem) if problem.units else solve_continuous(problem)


def allocate(demand: Any, budget: Any, family: str = "coverage", **options: Any) -> Allocation:
    """Shortcut for ``solve(AllocationProblem(demand, budget, family, **options))``.

    ``options`` are those of ``AllocationProblem``: ``lower``, ``upper``, ``weights``,
    ``units`` and the family parameters (``alpha``, ``cap``, ``saturation``, ``cycle``).
    """
    return solve(AllocationProblem(demand, budget, family, **options))

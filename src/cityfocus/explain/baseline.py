"""The exact plan against the proportional rule: what the solver changes, and what it is worth.

The rule (``allocate.rules.proportional``) splits the same budget in proportion to the same
forecast demand, in whole units by largest remainder when the problem counts units; both
plans are scored with the problem's own objective.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityfocus.allocate import Allocation, AllocationProblem
from cityfocus.allocate.rules import proportional

# shares closer than this fraction of the budget count as the same plan
_SAME_SHARE = 1e-9


@dataclass(frozen=True)
class RuleComparison:
    """The exact allocation beside the proportional rule's.

    Attributes:
        w: ``[N]`` the rule's units or shares.
        objective: the rule's objective (the problem's natural sense: a cost for ``min``).
        exact: the exact plan's objective.
        sense: ``"max"`` or ``"min"``.
        within_bounds: whether the rule's plan respects the problem's per-zone bounds (the
            rule ignores them).
    """

    w: np.ndarray
    objective: float
    exact: float
    sense: str
    within_bounds: bool

    @property
    def improvement(self) -> float:
        """How much better the exact plan is, as a fraction of the rule's objective (NaN when
        the rule scores 0); positive when the exact plan is better, in either sense."""
        if self.objective == 0:
            return float("nan")
        better = self.exact - self.objective if self.sense == "max" else self.objective - self.exact
        return better / abs(self.objective)


def compare_with_proportional(problem: AllocationProblem,
                              allocation: Allocation) -> RuleComparison:
    """Score the proportional rule on ``problem`` (one, not batched) beside ``allocation``."""
    budget = float(problem.budget)
    w = proportional(problem.demand, budget, units=problem.units)
    slack = _SAME_SHARE * max(budget, 1.0)
    within = bool(((w >= problem.lower - slack) & (w <= problem.upper + slack)).all())
    return RuleComparison(w=np.asarray(w, dtype=np.float64),
                          objective=float(problem.objective(w)),
                          exact=float(allocation.objective), sense=problem.utility.sense,
                          within_bounds=within)


def moved(exact: np.ndarray, rule: np.ndarray, budget: float, units: bool) -> np.ndarray:
    """``[N]`` exact minus rule, with differences below rounding set to 0."""
    diff = np.asarray(exact, dtype=np.float64) - np.asarray(rule, dtype=np.float64)
    if units:
        return np.round(diff)
    return np.where(np.abs(diff) > _SAME_SHARE * max(budget, 1.0), diff, 0.0)

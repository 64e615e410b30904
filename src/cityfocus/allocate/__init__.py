"""The allocation engine: split scarce budgets across zones, exactly and fast.

``solve(AllocationProblem(demand, budget, "coverage"))`` returns an ``Allocation`` (shares
or whole units, objective, shadow price, per-zone marginal value). numpy only; the batched
torch solver lives in ``cityfocus.allocate.torch_layer`` and is imported on demand.
"""

from cityfocus.allocate.continuous import solve_continuous
from cityfocus.allocate.errors import AllocationError
from cityfocus.allocate.multi import MultiAllocation, pareto_sweep, solve_multi
from cityfocus.allocate.oracle import oracle, regret
from cityfocus.allocate.problem import Allocation, AllocationProblem
from cityfocus.allocate.solve import allocate, solve
from cityfocus.allocate.units import greedy_units, solve_units
from cityfocus.allocate.utilities import (
    FAMILIES,
    Coverage,
    Delay,
    Linear,
    Log,
    Utility,
    Variance,
    make_utility,
)

__all__ = [
    "FAMILIES",
    "Allocation",
    "AllocationError",
    "AllocationProblem",
    "Coverage",
    "Delay",
    "Linear",
    "Log",
    "MultiAllocation",
    "Utility",
    "Variance",
    "allocate",
    "greedy_units",
    "make_utility",
    "oracle",
    "pareto_sweep",
    "regret",
    "solve",
    "solve_continuous",
    "solve_multi",
    "solve_units",
]

"""The decision task in torch: the continuous relaxation that decision learning trains through.

``DecisionTask`` itself (numpy: the problem, the exact solve, realized and oracle objective)
lives in ``cityfocus.allocate.task`` so numpy-only code reaches it without torch. Training
always goes through
the continuous relaxation (shares), the smoothed form of the integer problem.
"""

from __future__ import annotations

import torch

from cityfocus.allocate.task import DecisionTask
from cityfocus.allocate.torch_layer import solve_torch

__all__ = ["relaxed_gain", "relaxed_shares"]


def relaxed_shares(task: DecisionTask, demand: torch.Tensor) -> torch.Tensor:
    """Differentiable optimal shares ``[B, N]`` of ``task``'s continuous relaxation for
    demand ``[B, N]`` (implicit-KKT gradients, ``allocate.torch_layer``)."""
    return solve_torch(demand, task.budget, task.family, lower=task.lower, upper=task.upper,
                       check=False, **task.params).w


def relaxed_gain(task: DecisionTask, w: torch.Tensor, realized: torch.Tensor) -> torch.Tensor:
    """``[B]`` realized objective (gain) of shares ``w`` ``[B, N]`` on realized demand."""
    return task.utility.gain(w, realized).sum(-1)

"""Batched exact allocation in torch (CPU or GPU, the device of the input), differentiable.

The water level is found by the same sorted-breakpoint code as the numpy solver
(``continuous.level``, run on tensors under ``no_grad``). The shares are then recomputed
from the level *with* autograd, on the active set it found::

    F = {i : l_i < a_i + b_i t < u_i}   (zones strictly between their bounds)
    t = (B - sum_{i not in F} bound_i - sum_{i in F} a_i) / sum_{i in F} b_i
    w_i = a_i + b_i t  (i in F),     w_i = bound_i  (otherwise)

so gradients are those of the KKT conditions with the active set held fixed (implicit
differentiation, exact wherever the active set is locally constant, i.e. almost everywhere):
``dw_i/dd_j = (da_i/dd_j + db_i/dd_j t) + b_i dt/dd_j`` on ``F``, zero off it, and the budget
reaches ``w`` through ``t`` alone, ``dw_i/dB = b_i / sum_F b``. ``linear`` is piecewise
constant in demand (zero gradient almost everywhere); its budget gradient goes to the zone
being filled. Use float64 for exactness; float32 is fine for training.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import torch

from cityfocus.allocate.continuous import (
    fill_linear,
    level,
    shadow_price,
    spread_leftover,
    water_fill,
)
from cityfocus.allocate.errors import AllocationError, where
from cityfocus.allocate.utilities import Utility, make_utility


class TorchAllocation(NamedTuple):
    """Shares ``w`` ``[B, N]`` (or ``[N]``), objective and shadow price ``[B]`` (or ``[]``)."""

    w: torch.Tensor
    objective: torch.Tensor
    shadow_price: torch.Tensor


def _as(value: Any, ref: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
    """``value`` (number, array or tensor) broadcast to ``shape`` on ``ref``'s dtype/device."""
    t = torch.as_tensor(value, dtype=ref.dtype, device=ref.device)
    return t.expand(shape) if t.shape != shape else t


def _validate(
    d: torch.Tensor, lo: torch.Tensor, hi: torch.Tensor, budget: torch.Tensor, util: Utility
) -> None:
    """The checks of ``AllocationProblem`` that matter here (one device sync)."""
    bad = ~torch.isfinite(d) | (d < 0)
    if bool(bad.any()):
        row, zone = (int(i) for i in torch.nonzero(bad)[0])
        raise AllocationError(
            f"{where(zone, row)}: demand {float(d[row, zone])} must be finite and >= 0"
        )
    if bool((hi < lo).any()):
        row, zone = (int(i) for i in torch.nonzero(hi < lo)[0])
        raise AllocationError(f"{where(zone, row)}: upper bound < lower bound")
    tol = 1e-9 * budget.abs().clamp(min=1.0)
    if bool((lo.sum(-1) > budget + tol).any() | (hi.sum(-1) < budget - tol).any()):
        raise AllocationError("budget outside [sum of lower bounds, sum of upper bounds]")
    util.check_demand(d.detach().cpu().numpy())


def solve_torch(
    demand: torch.Tensor,
    budget: Any,
    utility: str | Utility = "coverage",
    *,
    lower: Any = 0.0,
    upper: Any = float("inf"),
    weights: Any = None,
    check: bool = True,
    **params: Any,
) -> TorchAllocation:
    """Exact optimal shares for a batch of problems, differentiable in demand and budget.

    Args:
        demand: ``[B, N]`` (or ``[N]``) tensor, >= 0; sets dtype and device.
        budget: number or ``[B]`` tensor.
        utility: family name or ``Utility``; ``params`` as in ``make_utility``.
        lower, upper, weights: numbers, ``[N]`` or ``[B, N]`` (arrays or tensors).
        check: validate inputs (costs one device sync); off inside hot training loops
            once the data is known to be clean.

    Returns:
        ``TorchAllocation(w, objective, shadow_price)``; ``objective`` is in the family's
        natural sense (a cost for ``variance``/``delay``).
    """
    util = make_utility(utility, **params)
    single = demand.dim() == 1
    d = demand.unsqueeze(0) if single else demand
    shape = tuple(d.shape)
    lo, hi = _as(lower, d, shape), _as(upper, d, shape)
    p = _as(1.0 if weights is None else weights, d, shape)
    b_total = _as(budget, d, shape[:1])
    if check:
        _validate(d, lo, hi, b_total, util)
    inputs = (d, p, lo, hi, b_total)
    if d.device.type == "cpu" and not (
        torch.is_grad_enabled() and any(x.requires_grad for x in inputs)
    ):
        out = _solve_numpy(util, *(x.detach().numpy() for x in inputs))
        w, objective, price = (torch.as_tensor(x, dtype=d.dtype) for x in out)
    else:
        w, objective, price = _solve_tensors(util, *inputs)
    if single:
        return TorchAllocation(w[0], objective[0], price[0])
    return TorchAllocation(w, objective, price)


def _solve_numpy(
    util: Utility, d: np.ndarray, p: np.ndarray, lo: np.ndarray, hi: np.ndarray, budget: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """No gradient wanted, on the CPU: the numpy solver on zero-copy views of the tensors
    (torch's CPU kernels are ~2x slower here; the answer is the same maths)."""
    if util.phi is None:
        cap = np.broadcast_to(np.asarray(util.params()["cap"], dtype=d.dtype), d.shape)
        w = fill_linear(p * d, cap, lo, hi, budget)
    else:
        a, b = util.water(d, np.ascontiguousarray(p))
        w = water_fill(a, b, lo, hi, budget, util.t_max())
    value, marginal = util.value_and_marginal(w, d)
    marginal = p * marginal
    return w, (p * value).sum(-1), shadow_price(marginal, w, hi)


def _solve_tensors(
    util: Utility,
    d: torch.Tensor,
    p: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    b_total: torch.Tensor,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The torch solver: differentiable shares, objective and shadow price."""
    if util.phi is None:
        cap = _as(util.params()["cap"], d, tuple(d.shape))
        slope = p * d
        # shares are piecewise constant in demand: keep it in the graph with a zero gradient
        w = fill_linear(slope, cap, lo, hi, b_total) + 0 * slope
    else:
        w = _water_fill_differentiable(util, d, p, lo, hi, b_total)
    marginal = p * util.marginal(w, d)
    price = torch.where(w < hi, marginal, torch.zeros_like(marginal)).amax(-1)
    return w, (p * util.value(w, d)).sum(-1), price


def _water_fill_differentiable(
    util: Utility,
    d: torch.Tensor,
    p: torch.Tensor,
    lo: torch.Tensor,
    hi: torch.Tensor,
    budget: torch.Tensor,
) -> torch.Tensor:
    """Water-filling with the level found without autograd and the shares rebuilt with it
    (only when a gradient can flow: otherwise the plain ``water_fill`` shares)."""
    t_max = util.t_max()
    inputs = (d, p, lo, hi, budget)
    if not (torch.is_grad_enabled() and any(x.requires_grad for x in inputs)):
        with torch.no_grad():
            return water_fill(*util.water(d, p), lo, hi, budget, t_max)
    with torch.no_grad():
        a0, b0 = util.water(d, p)
        active = b0 > 0
        top = torch.where(active, torch.clip(a0 + b0 * t_max, lo, hi), lo)
        sated = top.sum(-1) <= budget
        t = level(a0, b0, lo, hi, budget, t_max)
        t = torch.where(sated, torch.zeros_like(t), t)  # any finite level; replaced below
        x = a0 + b0 * t[:, None]
        free = active & (x > lo) & (x < hi)
    a, b = util.water(d, p)
    zero = torch.zeros_like(a)
    bound = torch.where(active & (x >= hi), hi, lo)
    fixed = torch.where(free, zero, bound).sum(-1)
    slope = torch.where(free, b, zero).sum(-1)
    has_free = slope > 0
    level_g = (budget - fixed - torch.where(free, a, zero).sum(-1)) / torch.where(
        has_free, slope, torch.ones_like(slope)
    )
    w = torch.where(free, a + b * level_g[:, None], bound)
    if bool(sated.any()):
        sated_top = torch.where(sated[:, None], top, lo)  # no inf/NaN in rows not taken
        w = torch.where(sated[:, None], spread_leftover(sated_top, hi, budget), w)
    return w


class AllocationLayer(torch.nn.Module):
    """``nn.Module`` form of ``solve_torch``: demand ``[B, N]`` in, shares ``[B, N]`` out.

    Args:
        utility: family name or ``Utility``.
        budget: number or ``[B]``.
        lower, upper, weights: as in ``solve_torch``.
        **params: family parameters (``alpha``, ``cap``, ``saturation``, ``cycle``).
    """

    def __init__(
        self,
        utility: str | Utility = "coverage",
        budget: float = 1.0,
        *,
        lower: Any = 0.0,
        upper: Any = float("inf"),
        weights: Any = None,
        **params: Any,
    ) -> None:
        super().__init__()
        self.utility = make_utility(utility, **params)
        self.budget, self.lower, self.upper, self.weights = budget, lower, upper, weights

    def forward(self, demand: torch.Tensor) -> torch.Tensor:
        return solve_torch(
            demand,
            self.budget,
            self.utility,
            lower=self.lower,
            upper=self.upper,
            weights=self.weights,
            check=False,
        ).w

    def extra_repr(self) -> str:
        return f"{self.utility.to_config()}, budget={self.budget}"


def as_numpy(alloc: TorchAllocation) -> dict[str, np.ndarray]:
    """Detached numpy copies of a ``TorchAllocation``'s fields."""
    return {k: v.detach().cpu().numpy() for k, v in alloc._asdict().items()}

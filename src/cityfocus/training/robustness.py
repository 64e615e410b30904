"""Training for broken and hostile inputs: random masking of input readings (a model that has
learned to forecast from what is observed keeps working when sensors go dark) and adversarial
training with the fast gradient sign method (Goodfellow, Shlens & Szegedy 2015, "Explaining
and harnessing adversarial examples", ICLR): each batch's loss is the mean of the clean loss
and the loss on inputs moved by ``epsilon`` per reading of the target feature in the
direction that raises it most."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

Inputs = dict[str, torch.Tensor]


@dataclass(frozen=True)
class Robustness:
    """Options of a fit: ``input_dropout`` (share of observed input readings masked at random
    in each batch) and ``epsilon`` (the FGSM bound per target-feature reading, in scaled
    units: a scalar or one per zone; None: no adversarial training)."""

    input_dropout: float = 0.0
    epsilon: torch.Tensor | None = None
    target_index: int = 0


def drop_inputs(inputs: Inputs, rate: float) -> Inputs:
    """Mask each observed input reading with probability ``rate`` (its value set to 0, as
    unobserved readings are)."""
    keep = (torch.rand_like(inputs["x_mask"]) >= rate).to(inputs["x_mask"].dtype)
    mask = inputs["x_mask"] * keep
    return {**inputs, "x": inputs["x"] * mask, "x_mask": mask}


def perturb(inputs: Inputs, delta: torch.Tensor, k: int) -> Inputs:
    """Add ``delta`` ``[B, L, N]`` to the observed readings of feature ``k``."""
    x = inputs["x"].clone()
    x[..., k] = x[..., k] + delta * inputs["x_mask"][..., k]
    return {**inputs, "x": x}


def fgsm(inputs: Inputs, loss_of: Callable[[Inputs], torch.Tensor], epsilon: torch.Tensor,
         k: int) -> Inputs:
    """The inputs moved by ``epsilon`` (scaled units) per observed reading of feature ``k``
    in the sign of the loss's gradient (no gradient flows through the move)."""
    x = inputs["x"].detach().requires_grad_(True)
    loss = loss_of({**inputs, "x": x})
    (grad,) = torch.autograd.grad(loss, x)
    return perturb({**inputs, "x": x.detach()}, epsilon * grad[..., k].sign(), k)


def robust_loss(inputs: Inputs, loss_of: Callable[[Inputs], torch.Tensor],
                robust: Robustness) -> torch.Tensor:
    """The batch loss under ``robust``'s options."""
    if robust.input_dropout > 0:
        inputs = drop_inputs(inputs, robust.input_dropout)
    clean = loss_of(inputs)
    if robust.epsilon is None:
        return clean
    return 0.5 * (clean + loss_of(fgsm(inputs, loss_of, robust.epsilon, robust.target_index)))

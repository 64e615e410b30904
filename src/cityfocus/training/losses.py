"""Masked losses: a missing target never counts."""

from __future__ import annotations

import torch


def masked_mse(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean squared error over entries where ``mask`` is True (any shape, all the same); a
    float ``mask`` weighs each entry (a weighted mean)."""
    mask = mask.to(pred.dtype)
    return ((pred - target) ** 2 * mask).sum() / mask.sum().clamp_min(1.0)


def masked_mae(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean absolute error over entries where ``mask`` is True (float: weights)."""
    mask = mask.to(pred.dtype)
    return ((pred - target).abs() * mask).sum() / mask.sum().clamp_min(1.0)


def masked_poisson_nll(rate: torch.Tensor, target: torch.Tensor,
                       mask: torch.Tensor) -> torch.Tensor:
    """Mean Poisson negative log-likelihood ``rate - y log(rate) + log(y!)`` of counts
    ``target`` under positive rates ``rate`` (original units), over entries where ``mask``
    is True (float: weights)."""
    mask = mask.to(rate.dtype)
    y = target.clamp_min(0.0)
    nll = rate - y * torch.log(rate.clamp_min(1e-8)) + torch.lgamma(y + 1.0)
    return (nll * mask).sum() / mask.sum().clamp_min(1.0)

"""What a training phase minimises and what validation scores, and the forecast objective.

An ``Objective`` is a batch loss over ``n_samples`` windows plus a validation metric; a
``Phase`` is one run of the training loop with one objective. The forecast objective lives
here because every torch model trains with it; the decision objectives (imitate, decide)
are composed by ``cityfocus.learn.modes``.

Forecast objective: masked regression of the target (MSE or MAE on the scaled target). Each
horizon step's error is weighted by the inverse of persistence's error at that step on the
training windows (``step_weights``), so a step counts by how much worse than the naive
forecast it does, not by its raw error: with plain MSE the far steps of a 24-step forecast,
whose errors are many times larger, would drown out the first. Validation: the same
weighted loss in original units (mean squared or absolute error), so early stopping selects
the epoch that best estimates what the loss estimates (the mean for MSE: an absolute-error
validation would favour epochs that shrink sparse counts towards zero).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from cityfocus.errors import CityfocusError
from cityfocus.training.losses import masked_mae, masked_mse, masked_poisson_nll
from cityfocus.training.robustness import Robustness, robust_loss
from cityfocus.training.tensors import WindowTensors, chunks
from cityfocus.training.trainer import TrainConfig

StepLoss = Callable[[torch.nn.Module, np.ndarray], torch.Tensor]
Metric = Callable[[torch.nn.Module], float]
Unscale = Callable[[torch.Tensor], torch.Tensor]
LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]
LOSSES = ("mse", "mae", "poisson")


class Objective(NamedTuple):
    """A training loss over ``n_samples`` windows and its validation score."""

    step_loss: StepLoss
    val_metric: Metric
    n_samples: int


class FitWindows(NamedTuple):
    """What a fit trains on: the dataset's tensors, the training and validation window
    starts, how to bring network outputs back to original units, and whether the network
    kept weights from an earlier fit (``warm``), and the fit's robustness options (input
    masking, adversarial training; ``training.robustness``)."""

    tensors: WindowTensors
    train_starts: np.ndarray
    val_starts: np.ndarray
    unscale: Unscale
    warm: bool
    robust: Robustness = Robustness()


class Phase(NamedTuple):
    """One run of the training loop: its label (the mode), settings and objective (built
    when the phase starts)."""

    mode: str
    config: TrainConfig
    objective: Callable[[], Objective]


def loss_function(loss: str) -> LossFn:
    """The masked loss named ``loss``: ``mse`` or ``mae`` (of scaled values), or
    ``poisson`` (the Poisson likelihood of counts, on positive rates in original units)."""
    if loss not in LOSSES:
        raise CityfocusError(f"unknown loss {loss!r}; use {', '.join(LOSSES)}")
    return {"mse": masked_mse, "mae": masked_mae, "poisson": masked_poisson_nll}[loss]


def forecast_objective(fit: FitWindows, loss: str, weigh_steps: bool = True) -> Objective:
    """Masked regression of the target over ``fit``'s windows (``weigh_steps=False``: every
    horizon step's error counts the same)."""
    loss_fn = loss_function(loss)
    tensors, train_starts, val_starts = fit.tensors, fit.train_starts, fit.val_starts
    weight = (step_weights(tensors, train_starts, loss) if weigh_steps
              else torch.ones(tensors.horizon, device=tensors.device))[None, :, None]

    def step_loss(net: torch.nn.Module, index: np.ndarray) -> torch.Tensor:
        starts = train_starts[index]
        if loss == "poisson":  # a likelihood of counts: rates and counts in original units
            y, m = tensors.targets(starts, scaled=False)
            return robust_loss(tensors.inputs(starts),
                               lambda inputs: loss_fn(fit.unscale(net(inputs)), y, m * weight),
                               fit.robust)
        y, m = tensors.targets(starts)
        return robust_loss(tensors.inputs(starts),
                           lambda inputs: loss_fn(net(inputs), y, m * weight), fit.robust)

    def val_loss(net: torch.nn.Module) -> float:
        total, count = 0.0, 0.0
        for chunk in chunks(val_starts):
            y, m = tensors.targets(chunk, scaled=False)
            w = m * weight
            total += float(loss_fn(fit.unscale(net(tensors.inputs(chunk))), y, w)) * float(w.sum())
            count += float(w.sum())
        return total / max(count, 1e-12)

    return Objective(step_loss, val_loss, len(train_starts))


def step_weights(tensors: WindowTensors, starts: np.ndarray, loss: str) -> torch.Tensor:
    """``[H]`` weights, mean 1: the inverse of persistence's mean squared (``mse``) or
    absolute (``mae``) error at each horizon step over the windows ``starts``, original
    units. Persistence is the last observed input reading; a step without any pair of
    observed readings, or where persistence is exact, gets the mean weight."""
    total = torch.zeros(tensors.horizon, dtype=torch.float64, device=tensors.device)
    count = torch.zeros_like(total)
    for chunk in chunks(starts):
        xs, _ = tensors.steps(chunk)
        end = xs[:, -1]
        last, last_seen = tensors.raw_y[end], tensors.y_mask[end]
        y, m = tensors.targets(chunk, scaled=False)
        both = (m & last_seen[:, None]).double()
        error = (y - last[:, None]).double()
        error = error**2 if loss == "mse" else error.abs()
        total += (error * both).sum((0, 2))
        count += both.sum((0, 2))
    scale = total / count.clamp_min(1.0)
    known = (count > 0) & (scale > 0)
    if not known.any():
        return torch.ones(tensors.horizon, device=tensors.device)
    inverse = 1.0 / scale.clamp_min(1e-300)
    weight = torch.where(known, inverse, inverse[known].mean())
    return (weight / weight.mean()).float()

"""The three learning modes: what a training step minimises and what validation scores.

- ``forecast``: masked regression of the target (MSE or MAE on the scaled target); the
  allocation is solved afterwards from the forecast (predict-then-optimize). Each horizon
  step's error is weighted by the inverse of persistence's error at that step on the
  training windows (``step_weights``), so a step counts by how much worse than the naive
  forecast it does, not by its raw error: with plain MSE the far steps of a 24-step
  forecast, whose errors are many times larger, would drown out the first. Validation:
  the same weighted loss in original units (mean squared or absolute error), so early
  stopping selects the epoch that best estimates what the loss estimates (the mean for
  MSE: an absolute-error validation would favour epochs that shrink sparse counts
  towards zero).
- ``imitate``: the original formulation of this system: the network's output, averaged over
  the horizon, is read as one score per zone, ``w = budget * softmax(scores)``, trained with
  MSE against the hindsight-oracle shares ``w*(y)`` of realized demand.
- ``decide``: decision-focused: the loss is the realized regret
  ``F(w*(y); y) - F(w(y_hat); y)`` of the shares solved from the forecast, back-propagated
  through the exact allocation solver (implicit KKT gradients, ``allocate.torch_layer``),
  normalised by the oracle's objective, plus ``mix`` times the forecast loss for stability.

Demand is the target summed over the horizon, missing readings counted as 0; windows
without any observed target are left out of the decision losses. ``imitate`` and
``decide`` validate on the normalised regret of the continuous relaxation.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch

from cityfocus.errors import CityfocusError
from cityfocus.learn.decision import DecisionTask
from cityfocus.learn.losses import masked_mae, masked_mse

MODES = ("forecast", "imitate", "decide")

StepLoss = Callable[[torch.nn.Module, np.ndarray], torch.Tensor]
Metric = Callable[[torch.nn.Module], float]
Unscale = Callable[[torch.Tensor], torch.Tensor]


class Objective(NamedTuple):
    """A mode's training loss over ``n_samples`` windows and its validation score."""

    step_loss: StepLoss
    val_metric: Metric
    n_samples: int


def imitation_shares(output: torch.Tensor, budget: float) -> torch.Tensor:
    """``[B, N]`` shares from an imitate-mode network's ``[B, H, N]`` output."""
    return budget * torch.softmax(output.mean(1), dim=-1)


def build_objective(mode: str, tensors, train_starts: np.ndarray, val_starts: np.ndarray,
                    unscale: Unscale, task: DecisionTask | None, loss: str,
                    mix: float, weigh_steps: bool = True) -> Objective:
    """The training objective of ``mode`` over a ``WindowTensors`` (``weigh_steps=False``:
    every horizon step's forecast error counts the same)."""
    if mode not in MODES:
        raise CityfocusError(f"unknown mode {mode!r}; use one of {', '.join(MODES)}")
    if loss not in ("mse", "mae"):
        raise CityfocusError(f"unknown loss {loss!r}; use mse or mae")
    loss_fn = masked_mse if loss == "mse" else masked_mae
    if mode == "forecast":
        weight = (step_weights(tensors, train_starts, loss) if weigh_steps
                  else torch.ones(tensors.horizon, device=tensors.device))
        return _forecast(tensors, train_starts, val_starts, unscale, loss_fn, weight)
    if task is None:
        raise CityfocusError(f"mode {mode!r} needs a decision task (family, budget, ...)")
    train_starts = _with_observed_target(tensors, train_starts, "training")
    val_starts = _with_observed_target(tensors, val_starts, "validation")
    if mode == "imitate":
        if task.lower != 0 or np.isfinite(task.upper):
            raise CityfocusError("imitate mode supports no per-zone bounds (softmax shares)")
        return _imitate(tensors, train_starts, val_starts, task)
    return _decide(tensors, train_starts, val_starts, unscale, task, loss_fn, mix)


def realized_demand(tensors, starts: np.ndarray) -> torch.Tensor:
    """``[B, N]`` realized demand: the target summed over the horizon, missing as 0."""
    y, m = tensors.targets(starts, scaled=False)
    return (y * m).sum(1).clamp_min(0.0)


def _with_observed_target(tensors, starts: np.ndarray, part: str) -> np.ndarray:
    _, m = tensors.targets(starts, scaled=False)
    keep = m.flatten(1).any(1).cpu().numpy()
    if not keep.any():
        raise CityfocusError(f"no {part} window has an observed target: nothing to decide on")
    return starts[keep]


def step_weights(tensors, starts: np.ndarray, loss: str) -> torch.Tensor:
    """``[H]`` weights, mean 1: the inverse of persistence's mean squared (``mse``) or
    absolute (``mae``) error at each horizon step over the windows ``starts``, original
    units. Persistence is the last observed input reading; a step without any pair of
    observed readings, or where persistence is exact, gets the mean weight."""
    total = torch.zeros(tensors.horizon, dtype=torch.float64, device=tensors.device)
    count = torch.zeros_like(total)
    for chunk in chunks(starts):
        s = torch.as_tensor(chunk, device=tensors.device)
        end = s + tensors.lookback - 1
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


def _forecast(tensors, train_starts, val_starts, unscale, loss_fn, weight) -> Objective:
    weight = weight[None, :, None]

    def step_loss(net: torch.nn.Module, index: np.ndarray) -> torch.Tensor:
        starts = train_starts[index]
        y, m = tensors.targets(starts)
        return loss_fn(net(tensors.inputs(starts)), y, m * weight)

    def val_loss(net: torch.nn.Module) -> float:
        total, count = 0.0, 0.0
        for chunk in chunks(val_starts):
            y, m = tensors.targets(chunk, scaled=False)
            w = m * weight
            total += float(loss_fn(unscale(net(tensors.inputs(chunk))), y, w)) * float(w.sum())
            count += float(w.sum())
        return total / max(count, 1e-12)

    return Objective(step_loss, val_loss, len(train_starts))


def _oracle(task: DecisionTask, demand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Oracle shares and gains for realized demand (no gradient)."""
    with torch.no_grad():
        w = torch.cat([task.shares(chunk) for chunk in demand.split(1024)])
        return w, task.gain_torch(w, demand)


def _regret_metric(tensors, starts: np.ndarray, task: DecisionTask,
                   shares: Callable[[torch.nn.Module, np.ndarray], torch.Tensor]) -> Metric:
    demand = realized_demand(tensors, starts)
    _, best = _oracle(task, demand)
    scale = float(best.abs().sum().clamp_min(1e-12))

    def normalised_regret(net: torch.nn.Module) -> float:
        total = 0.0
        for chunk, index in zip(chunks(starts), chunks(np.arange(len(starts))), strict=True):
            gain = task.gain_torch(shares(net, chunk), demand[index])
            total += float((best[index] - gain).sum())
        return total / scale

    return normalised_regret


def _imitate(tensors, train_starts, val_starts, task) -> Objective:
    target, _ = _oracle(task, realized_demand(tensors, train_starts))

    def shares(net: torch.nn.Module, starts: np.ndarray) -> torch.Tensor:
        return imitation_shares(net(tensors.inputs(starts)), task.budget)

    def step_loss(net: torch.nn.Module, index: np.ndarray) -> torch.Tensor:
        w = shares(net, train_starts[index])
        return ((w - target[index]) ** 2).mean() / task.budget**2

    return Objective(step_loss, _regret_metric(tensors, val_starts, task, shares),
                     len(train_starts))


def _decide(tensors, train_starts, val_starts, unscale, task, loss_fn,
            mix: float) -> Objective:
    demand = realized_demand(tensors, train_starts)
    _, best = _oracle(task, demand)

    def shares(net: torch.nn.Module, starts: np.ndarray) -> torch.Tensor:
        forecast = unscale(net(tensors.inputs(starts))).clamp_min(0.0).sum(1)
        return task.shares(forecast)

    def step_loss(net: torch.nn.Module, index: np.ndarray) -> torch.Tensor:
        starts = train_starts[index]
        pred = net(tensors.inputs(starts))
        forecast = unscale(pred).clamp_min(0.0).sum(1)
        gain = task.gain_torch(task.shares(forecast), demand[index])
        regret = (best[index] - gain).sum() / best[index].abs().sum().clamp_min(1e-12)
        if mix == 0:
            return regret
        y, m = tensors.targets(starts)
        return regret + mix * loss_fn(pred, y, m)

    return Objective(step_loss, _regret_metric(tensors, val_starts, task, shares),
                     len(train_starts))


def chunks(values: np.ndarray, size: int = 256) -> list[np.ndarray]:
    """``values`` in consecutive pieces of about ``size`` (at least one piece)."""
    return np.array_split(values, max(len(values) // size, 1))

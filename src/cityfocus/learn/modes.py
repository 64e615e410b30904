"""The three learning modes: what a training step minimises and what validation scores.

- ``forecast``: masked regression of the target, then the allocation is solved from the
  forecast (predict-then-optimize); the objective is the training engine's
  (``cityfocus.training.objectives.forecast_objective``).
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

``decision_plan`` is the training plan a ``NeuralForecaster`` is given to train in every
mode: the model layer fits and predicts, this layer says what the fit minimises.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import numpy as np
import torch

from cityfocus.allocate.task import DecisionTask
from cityfocus.errors import CityfocusError
from cityfocus.learn.decision import relaxed_gain, relaxed_shares
from cityfocus.models.neural import NeuralForecaster
from cityfocus.training.objectives import (
    FitWindows,
    LossFn,
    Metric,
    Objective,
    Phase,
    Unscale,
    forecast_objective,
    loss_function,
)
from cityfocus.training.tensors import WindowTensors, chunks
from cityfocus.training.trainer import TrainConfig

MODES = ("forecast", "imitate", "decide")


def decision_plan(model: NeuralForecaster, fit: FitWindows, config: TrainConfig) -> list[Phase]:
    """The training phases of ``model.mode``: one phase of that mode's objective, except a
    fresh ``decide`` fit with ``pretrain``: the forecast objective first, then the regret
    at ``finetune_lr`` times the learning rate, validated before its first epoch so the
    pretrained weights are kept unless fine-tuning lowers the validation regret."""
    if model.mode not in MODES:
        raise CityfocusError(f"unknown mode {model.mode!r}; use one of {', '.join(MODES)}")
    if model.mode != "forecast" and model.task is None:  # before any pretraining epoch
        raise CityfocusError(f"mode {model.mode!r} needs a decision task (family, budget, ...)")
    task = None if model.task is None else DecisionTask.from_config(model.task)

    def phase(mode: str, phase_config: TrainConfig) -> Phase:
        return Phase(mode, phase_config, lambda: build_objective(
            mode, fit, task, model.loss, model.mix, model.weigh_steps))

    if model.mode == "decide" and model.pretrain and not fit.warm:
        finetune = replace(config, lr=model.lr * model.finetune_lr, validate_start=True)
        return [phase("forecast", config), phase("decide", finetune)]
    return [phase(model.mode, config)]


def build_objective(mode: str, fit: FitWindows, task: DecisionTask | None, loss: str,
                    mix: float, weigh_steps: bool = True) -> Objective:
    """The training objective of ``mode`` over ``fit``'s windows (``weigh_steps=False``:
    every horizon step's forecast error counts the same). ``decision_plan`` has checked the
    mode and that a decision mode has its task, before any epoch."""
    loss_fn = loss_function(loss)
    if mode == "forecast":
        return forecast_objective(fit, loss, weigh_steps)
    assert task is not None and mode in MODES
    tensors = fit.tensors
    train_starts = _with_observed_target(tensors, fit.train_starts, "training")
    val_starts = _with_observed_target(tensors, fit.val_starts, "validation")
    if mode == "imitate":
        if task.lower != 0 or np.isfinite(task.upper):
            raise CityfocusError("imitate mode supports no per-zone bounds (softmax shares)")
        return _imitate(tensors, train_starts, val_starts, task)
    return _decide(tensors, train_starts, val_starts, fit.unscale, task, loss_fn, mix)


def imitation_shares(output: torch.Tensor, budget: float) -> torch.Tensor:
    """``[B, N]`` shares from an imitate-mode network's ``[B, H, N]`` output."""
    return budget * torch.softmax(output.mean(1), dim=-1)


def realized_demand(tensors: WindowTensors, starts: np.ndarray) -> torch.Tensor:
    """``[B, N]`` realized demand: the target summed over the horizon, missing as 0."""
    y, m = tensors.targets(starts, scaled=False)
    return (y * m).sum(1).clamp_min(0.0)


def _with_observed_target(tensors: WindowTensors, starts: np.ndarray, part: str) -> np.ndarray:
    _, m = tensors.targets(starts, scaled=False)
    keep = m.flatten(1).any(1).cpu().numpy()
    if not keep.any():
        raise CityfocusError(f"no {part} window has an observed target: nothing to decide on")
    return starts[keep]


Shares = Callable[[torch.nn.Module, np.ndarray], torch.Tensor]


def _oracle(task: DecisionTask, demand: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Oracle shares and gains for realized demand (no gradient)."""
    with torch.no_grad():
        w = torch.cat([relaxed_shares(task, chunk) for chunk in demand.split(1024)])
        return w, relaxed_gain(task, w, demand)


def _regret_metric(tensors: WindowTensors, starts: np.ndarray, task: DecisionTask,
                   shares: Shares) -> Metric:
    demand = realized_demand(tensors, starts)
    _, best = _oracle(task, demand)
    scale = float(best.abs().sum().clamp_min(1e-12))

    def normalised_regret(net: torch.nn.Module) -> float:
        total = 0.0
        for chunk, index in zip(chunks(starts), chunks(np.arange(len(starts))), strict=True):
            gain = relaxed_gain(task, shares(net, chunk), demand[index])
            total += float((best[index] - gain).sum())
        return total / scale

    return normalised_regret


def _imitate(tensors: WindowTensors, train_starts: np.ndarray, val_starts: np.ndarray,
             task: DecisionTask) -> Objective:
    target, _ = _oracle(task, realized_demand(tensors, train_starts))

    def shares(net: torch.nn.Module, starts: np.ndarray) -> torch.Tensor:
        return imitation_shares(net(tensors.inputs(starts)), task.budget)

    def step_loss(net: torch.nn.Module, index: np.ndarray) -> torch.Tensor:
        w = shares(net, train_starts[index])
        return ((w - target[index]) ** 2).mean() / task.budget**2

    return Objective(step_loss, _regret_metric(tensors, val_starts, task, shares),
                     len(train_starts))


def _decide(tensors: WindowTensors, train_starts: np.ndarray, val_starts: np.ndarray,
            unscale: Unscale, task: DecisionTask, loss_fn: LossFn, mix: float) -> Objective:
    demand = realized_demand(tensors, train_starts)
    _, best = _oracle(task, demand)

    def shares(net: torch.nn.Module, starts: np.ndarray) -> torch.Tensor:
        forecast = unscale(net(tensors.inputs(starts))).clamp_min(0.0).sum(1)
        return relaxed_shares(task, forecast)

    def step_loss(net: torch.nn.Module, index: np.ndarray) -> torch.Tensor:
        starts = train_starts[index]
        pred = net(tensors.inputs(starts))
        forecast = unscale(pred).clamp_min(0.0).sum(1)
        gain = relaxed_gain(task, relaxed_shares(task, forecast), demand[index])
        regret = (best[index] - gain).sum() / best[index].abs().sum().clamp_min(1e-12)
        if mix == 0:
            return regret
        y, m = tensors.targets(starts)
        return regret + mix * loss_fn(pred, y, m)

    return Objective(step_loss, _regret_metric(tensors, val_starts, task, shares),
                     len(train_starts))

"""Projected gradient descent (Madry et al. 2018, "Towards deep learning models resistant to
adversarial attacks", ICLR) on a forecaster's input readings of the target feature, bounded
per reading in the data's own units (for example +-5 mph on a speed sensor): ``steps``
signed-gradient steps of ``epsilon / 4``, each projected back into the box, from no
perturbation. Two goals:

- ``forecast``: raise the forecast's squared error against what happened;
- ``decision``: raise the regret of the allocation made from the forecast — the demand (the
  forecast summed over the horizon) goes through the task's differentiable relaxation
  (``cityfocus.learn.decision``), and the attack lowers that allocation's gain on the
  realized demand. The attacked forecasts are then scored with the exact solver.

Only observed readings move (an unobserved one stays unobserved).
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch

from cityfocus.allocate.task import DecisionTask
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError
from cityfocus.learn.decision import relaxed_gain, relaxed_shares
from cityfocus.models.neural import NeuralForecaster
from cityfocus.training.losses import masked_mse
from cityfocus.training.robustness import perturb
from cityfocus.training.tensors import WindowTensors, chunks


def pgd_forecasts(model: NeuralForecaster, windows: Windows, epsilon: float, *,
                  goal: Literal["forecast", "decision"] = "forecast",
                  task: DecisionTask | None = None, steps: int = 10) -> np.ndarray:
    """``[S, H, N]`` forecasts (original units) of ``windows`` after the attack."""
    if epsilon < 0 or not np.isfinite(epsilon):
        raise CityfocusError(f"attack bound {epsilon} must be >= 0 and finite")
    if goal == "decision" and task is None:
        raise CityfocusError("a decision attack needs the decision task")
    net = model.network_
    device = next(net.parameters()).device
    k = model.schema_["target_index"]
    _, std = model.scaler_.target_params(k)
    bound = torch.as_tensor(epsilon / np.asarray(std, dtype=np.float32), device=device)
    tensors = WindowTensors(windows.data, model.scaler_, model.lookback, model.horizon, device)
    out = []
    was_training = net.training
    net.eval()
    for chunk in chunks(windows.starts):
        inputs = tensors.inputs(chunk)
        y, m = tensors.targets(chunk, scaled=False)
        realized = (y * m).sum(1).clamp_min(0.0)
        delta = torch.zeros_like(inputs["x"][..., k])
        for _ in range(steps if epsilon > 0 else 0):
            delta.requires_grad_(True)
            pred = model._unscale(net(perturb(inputs, delta, k)), device)
            if goal == "forecast":
                harm = masked_mse(pred, y, m)
            else:
                assert task is not None
                shares = relaxed_shares(task, pred.clamp_min(0.0).sum(1))
                harm = -relaxed_gain(task, shares, realized).sum()
            (grad,) = torch.autograd.grad(harm, delta)
            with torch.no_grad():
                delta = torch.maximum(torch.minimum(delta + bound / 4 * grad.sign(), bound),
                                      -bound)
        with torch.no_grad():
            out.append(model._unscale(net(perturb(inputs, delta.detach(), k)), device).cpu())
    if was_training:
        net.train()
    return torch.cat(out).numpy().astype(np.float64)

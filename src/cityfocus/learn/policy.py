"""Turn any trained model into decisions: ``[S, N]`` allocations for a set of windows.

Forecasters (baselines, ``forecast`` and ``decide`` modes) forecast demand and the task's
exact solver allocates it; an ``imitate``-mode network outputs its shares directly, which
are rounded to whole units (largest remainder) when the task counts units.
"""

from __future__ import annotations

import numpy as np

from cityfocus.allocate.rules import round_units
from cityfocus.data.windows import Windows
from cityfocus.learn.decision import DecisionTask
from cityfocus.learn.modes import imitation_shares


def forecast_demand(model, windows: Windows) -> np.ndarray:
    """``[S, N]`` forecast demand: the forecast summed over the horizon, floored at 0."""
    return np.clip(model.predict_windows(windows), 0.0, None).sum(axis=1)


def decide_windows(model, windows: Windows, task: DecisionTask) -> np.ndarray:
    """``[S, N]`` allocations of ``task`` made by ``model`` for every window."""
    if getattr(model, "mode", "forecast") == "imitate":
        shares = imitation_shares(model.network_outputs(windows), task.budget).numpy()
        return round_units(shares, int(task.budget)) if task.units else shares.astype(np.float64)
    return task.decide(forecast_demand(model, windows))

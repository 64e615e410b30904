"""Forecasters by name, trainable in every learning mode: the model registry's forecasters
with the decision modes' training plan (``modes.decision_plan``) passed in.

Use these to train or refit for a decision (``mode="imitate"`` or ``"decide"``); the model
registry's own ``make_forecaster`` / ``load_forecaster`` fit forecasts only.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cityfocus.learn.modes import decision_plan
from cityfocus.models import registry
from cityfocus.models.neural import NeuralForecaster
from cityfocus.models.registry import MODELS, NEURAL, Forecaster

__all__ = ["MODELS", "NEURAL", "Forecaster", "load_forecaster", "make_forecaster"]


def make_forecaster(name: str, lookback: int, horizon: int, **params: Any) -> Forecaster:
    """Build the forecaster ``name`` (``models.registry.make_forecaster``); a neural one
    trains with ``params["mode"]`` (forecast, imitate or decide)."""
    if name in NEURAL:
        params = {"training_plan": decision_plan, **params}
    return registry.make_forecaster(name, lookback, horizon, **params)


def load_forecaster(path: str | Path, device: str = "auto") -> NeuralForecaster:
    """Rebuild a forecaster saved with ``save(path)``, ready to predict and to refit in the
    mode it was trained in."""
    return registry.load_forecaster(path, device=device, training_plan=decision_plan)

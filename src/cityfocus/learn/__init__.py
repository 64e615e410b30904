"""Decision learning: the forecast / imitate / decide modes (``modes``), the task in torch
(``decision``), forecasters trainable in every mode (``registry``) and the policies that
turn a model into allocations (``policies``). The training loop itself is
``cityfocus.training``; its names stay importable from here."""

from cityfocus.learn.modes import MODES, decision_plan
from cityfocus.learn.registry import load_forecaster, make_forecaster
from cityfocus.training import TrainConfig, TrainResult, masked_mae, masked_mse, train_network

__all__ = [
    "MODES",
    "TrainConfig",
    "TrainResult",
    "decision_plan",
    "load_forecaster",
    "make_forecaster",
    "masked_mae",
    "masked_mse",
    "train_network",
]

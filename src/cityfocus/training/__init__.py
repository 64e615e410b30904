"""The training engine: the one loop every torch model uses, masked losses, window tensors and
the forecast objective. Knows nothing of models or decisions."""

from cityfocus.training.losses import masked_mae, masked_mse
from cityfocus.training.objectives import FitWindows, Objective, Phase, forecast_objective
from cityfocus.training.tensors import WindowTensors
from cityfocus.training.trainer import TrainConfig, TrainResult, train_network

__all__ = [
    "FitWindows",
    "Objective",
    "Phase",
    "TrainConfig",
    "TrainResult",
    "WindowTensors",
    "forecast_objective",
    "masked_mae",
    "masked_mse",
    "train_network",
]

"""Training: the one loop every torch model uses, and the masked losses."""

from cityfocus.learn.losses import masked_mae, masked_mse
from cityfocus.learn.trainer import TrainConfig, TrainResult, train_network

__all__ = ["TrainConfig", "TrainResult", "masked_mae", "masked_mse", "train_network"]

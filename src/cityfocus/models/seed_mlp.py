"""seed_mlp: the reference network of cityfocus's original design, kept as a baseline.

``Linear(input, hidden) -> ReLU -> Linear(hidden, output)`` over the flattened input
window (all zones, all features, missing entries as 0), trained with MSE (every horizon
step alike), Adam (lr 1e-3), batch 32, 100 epochs: the original recipe. It shares the
training loop, so it also gets early stopping on validation, but no weight decay, dropout
or clipping by default.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cityfocus.models.neural import NeuralForecaster


class SeedMLPNetwork(nn.Module):
    def __init__(self, lookback: int, horizon: int, n_zones: int, n_features: int,
                 hidden: int) -> None:
        super().__init__()
        self.horizon, self.n_zones = horizon, n_zones
        self.layers = nn.Sequential(
            nn.Linear(lookback * n_zones * n_features, hidden),
            nn.ReLU(),
            nn.Linear(hidden, horizon * n_zones),
        )

    def forward(self, inputs: dict[str, torch.Tensor], return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, None]:
        x = inputs["x"].flatten(1)  # [B, L*N*F]
        out = self.layers(x).view(-1, self.horizon, self.n_zones)
        return (out, None) if return_attention else out


class SeedMLP(NeuralForecaster):
    """The original two-layer ReLU network (see module docstring).

    Args:
        hidden: width of the hidden layer.
        (others: see ``NeuralForecaster``)
    """

    name = "seed_mlp"
    weigh_steps = False

    def __init__(self, lookback: int = 12, horizon: int = 3, *, hidden: int = 128,
                 epochs: int = 100, batch_size: int = 32, lr: float = 1e-3,
                 weight_decay: float = 0.0, clip_norm: float | None = None,
                 patience: int | None = 100, **kwargs: Any) -> None:
        super().__init__(lookback, horizon, epochs=epochs, batch_size=batch_size, lr=lr,
                         weight_decay=weight_decay, clip_norm=clip_norm, patience=patience,
                         **kwargs)
        self.hidden = hidden

    def build_network(self, schema: dict[str, Any]) -> nn.Module:
        return SeedMLPNetwork(self.lookback, self.horizon, schema["n_zones"],
                              schema["n_features"], self.hidden)

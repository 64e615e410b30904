"""lstm: one LSTM with weights shared by every zone, reading that zone's own history."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from cityfocus.models.layers import TimeEncoding
from cityfocus.models.neural import NeuralForecaster


class LSTMNetwork(nn.Module):
    """Per zone: ``[x, mask, zone embedding, time embedding]`` per step -> LSTM -> H outputs."""

    def __init__(self, horizon: int, n_zones: int, n_features: int, slots_per_day: int,
                 weekly: bool, hidden: int, layers: int, dropout: float) -> None:
        super().__init__()
        self.zone = nn.Embedding(n_zones, 8)
        nn.init.normal_(self.zone.weight, std=0.1)
        self.time = TimeEncoding(slots_per_day, 8, weekly)
        self.lstm = nn.LSTM(2 * n_features + 16, hidden, num_layers=layers, batch_first=True,
                            dropout=dropout if layers > 1 else 0.0)
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(hidden, horizon))

    def forward(self, inputs: dict[str, torch.Tensor], return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, None]:
        x, m, tm = inputs["x"], inputs["x_mask"], inputs["x_time"]
        B, L, N, _ = x.shape
        time = self.time(tm)  # [B, L, 8]
        zone = self.zone.weight  # [N, 8]
        steps = torch.cat([x, m, zone.expand(B, L, N, -1),
                           time[:, :, None, :].expand(B, L, N, -1)], dim=-1)
        seq = steps.permute(0, 2, 1, 3).reshape(B * N, L, -1)
        _, (h, _) = self.lstm(seq)
        out = self.head(h[-1]).view(B, N, -1).transpose(1, 2)  # [B, H, N]
        return (out, None) if return_attention else out


class LSTMForecaster(NeuralForecaster):
    """Shared-weight LSTM over each zone's history.

    Args:
        hidden: LSTM state size.
        layers: stacked LSTM layers.
        dropout: dropout between layers and before the output.
    """

    name = "lstm"

    def __init__(self, lookback: int = 12, horizon: int = 3, *, hidden: int = 64,
                 layers: int = 2, dropout: float = 0.1, **kwargs: Any) -> None:
        super().__init__(lookback, horizon, **kwargs)
        self.hidden, self.layers, self.dropout = hidden, layers, dropout

    def build_network(self, schema: dict[str, Any]) -> nn.Module:
        return LSTMNetwork(self.horizon, schema["n_zones"], schema["n_features"],
                           schema["slots_per_day"], schema["weekly"], self.hidden, self.layers,
                           self.dropout)

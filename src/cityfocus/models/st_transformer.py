"""st_transformer: temporal self-attention over the lookback, spatial attention across zones.

Each (step, zone) reading becomes a token: a projection of ``[x, mask]`` (so missing
readings are seen as missing, not as zeros) plus embeddings of the zone, the time of day
and weekday (``layers.TimeEncoding``) and the position in the window. Temporal blocks
attend over the L steps of each zone; the last step's token then summarises the zone,
and spatial blocks attend across zones with the adjacency as an additive, per-head bias
(``logits + beta_h * A'``, ``A'`` = adjacency plus self-loops scaled to [0, 1]). A head reads
each zone's summary with the embedding of every target time, and a linear skip from the
linear part adds what a linear model can: the zone's own target history (weights shared
across zones) and its seasonal profile, the zone's training mean at each target time's
(weekday, slot of day). ``fit`` sets the profile and starts the linear part as the
least-squares fit on the training windows (``neural.seasonal_profile``,
``neural.fit_linear_part``) with the head's output at 0, so the network starts as the best
linear forecaster (persistence-like on smooth speeds, a blend of the recent mean and the
historical average on sparse daily counts) and training learns what attention adds.

Every forecast returns the attention weights: ``temporal`` per layer ``[B, N, heads, L, L]``
and ``spatial`` per layer ``[B, heads, N, N]`` (row = the zone attending).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch
from torch import nn

from cityfocus.errors import CityfocusError
from cityfocus.models.layers import TimeEncoding
from cityfocus.models.neural import NeuralForecaster


class MultiHeadAttention(nn.Module):
    """Scaled dot-product attention that returns its weights ``[*, heads, S, S]``."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        if dim % heads:
            raise ValueError(f"model width {dim} is not divisible by {heads} heads")
        self.heads, self.head_dim = heads, dim // heads
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor,
                bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        *lead, S, D = h.shape
        q, k, v = self.qkv(h).view(*lead, S, 3, self.heads, self.head_dim).unbind(-3)
        q, k, v = (t.transpose(-2, -3) for t in (q, k, v))  # [*, heads, S, hd]
        logits = q @ k.transpose(-1, -2) / math.sqrt(self.head_dim)
        if bias is not None:
            logits = logits + bias
        weights = logits.softmax(-1)
        out = (self.dropout(weights) @ v).transpose(-2, -3).reshape(*lead, S, D)
        return self.out(out), weights


class Block(nn.Module):
    """Pre-norm transformer block: attention then feed-forward, both residual."""

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attention = MultiHeadAttention(dim, heads, dropout)
        self.ff = nn.Sequential(nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout),
                                nn.Linear(2 * dim, dim))
        self.dropout = nn.Dropout(dropout)

    def forward(self, h: torch.Tensor,
                bias: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        out, weights = self.attention(self.norm1(h), bias)
        h = h + self.dropout(out)
        return h + self.dropout(self.ff(self.norm2(h))), weights


class STTransformerNetwork(nn.Module):
    graph: torch.Tensor  # buffer [N, N]: self-loops plus the adjacency, scaled to max 1
    profile: torch.Tensor  # buffer [7 or 1, slots_per_day, N]: see ``seasonal_profile``

    def __init__(self, lookback: int, horizon: int, n_zones: int, n_features: int,
                 slots_per_day: int, weekly: bool, target_index: int,
                 adjacency: np.ndarray | None,
                 dim: int, heads: int, temporal_layers: int, spatial_layers: int,
                 dropout: float, start: str = "linear") -> None:
        super().__init__()
        if start not in ("linear", "random"):
            raise CityfocusError(f"unknown start {start!r}; use linear or random")
        self.linear_start = start == "linear"
        self.target_index = target_index
        self.inp = nn.Linear(2 * n_features, dim)
        self.zone = nn.Embedding(n_zones, dim)
        self.time = TimeEncoding(slots_per_day, dim, weekly)
        self.position = nn.Parameter(torch.zeros(lookback, dim))
        self.horizon_step = nn.Parameter(torch.zeros(horizon, dim))
        self.temporal = nn.ModuleList(Block(dim, heads, dropout) for _ in range(temporal_layers))
        self.spatial = nn.ModuleList(Block(dim, heads, dropout) for _ in range(spatial_layers))
        self.graph_weight = nn.Parameter(torch.full((spatial_layers, heads, 1, 1), 2.0))
        graph = np.eye(n_zones, dtype=np.float32)
        if adjacency is not None:
            graph = graph + np.asarray(adjacency, dtype=np.float32)
        self.register_buffer("graph", torch.from_numpy(graph / graph.max()))
        self.norm = nn.LayerNorm(dim)
        self.head = nn.Sequential(nn.Linear(dim, dim), nn.GELU(), head_out := nn.Linear(dim, 1))
        self.skip = nn.Linear(lookback, horizon)
        self.profile_weight = nn.Parameter(torch.zeros(horizon))
        self.register_buffer("profile", torch.zeros(7 if weekly else 1, slots_per_day, n_zones))
        nn.init.normal_(self.position, std=0.02)
        nn.init.normal_(self.horizon_step, std=0.02)
        nn.init.normal_(self.zone.weight, std=0.02)
        if not self.linear_start:
            return
        # the head starts silent: the network is its linear part (persistence until ``fit``
        # sets it to the training data's least-squares fit); attention learns the residual
        with torch.no_grad():
            self.skip.weight.zero_()
            self.skip.weight[:, -1] = 1.0
            self.skip.bias.zero_()
            head_out.weight.zero_()
            head_out.bias.zero_()

    def forward(self, inputs: dict[str, torch.Tensor], return_attention: bool = False
                ) -> torch.Tensor | tuple[torch.Tensor, dict[str, list[torch.Tensor]]]:
        x, m = inputs["x"], inputs["x_mask"]
        B, L, N, _ = x.shape
        h = (self.inp(torch.cat([x, m], -1)) + self.zone.weight
             + self.time(inputs["x_time"])[:, :, None] + self.position[:, None])
        h = h.transpose(1, 2)  # [B, N, L, D]
        temporal_maps = []
        for block in self.temporal:
            h, weights = block(h)
            temporal_maps.append(weights)  # [B, N, heads, L, L]
        z = h[:, :, -1]  # [B, N, D]: each zone's summary at the last input step
        spatial_maps = []
        for layer, block in enumerate(self.spatial):
            z, weights = block(z, self.graph_weight[layer] * self.graph)
            spatial_maps.append(weights)  # [B, heads, N, N]
        future = self.time(inputs["y_time"]) + self.horizon_step  # [B, H, D]
        out = self.head(self.norm(z[:, None] + future[:, :, None])).squeeze(-1)  # [B, H, N]
        history, seasonal = self.linear_terms(inputs).split([x.shape[1], 1], -1)
        out = out + self.skip(history[:, 0]).transpose(1, 2)
        out = out + self.profile_weight[:, None] * seasonal[..., 0]
        if not return_attention:
            return out
        return out, {"temporal": temporal_maps, "spatial": spatial_maps}


    def linear_terms(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor:
        """``[B, H, N, L + 1]``: the target's L readings (missing as 0; the same for every
        horizon step) and the seasonal profile at each target time."""
        x, m = inputs["x"], inputs["x_mask"]
        history = (x[..., self.target_index] * m[..., self.target_index]).transpose(1, 2)
        time = inputs["y_time"]  # [B, H, 2]: slot, weekday
        day = time[..., 1] if self.profile.shape[0] == 7 else torch.zeros_like(time[..., 1])
        seasonal = self.profile[day, time[..., 0]]  # [B, H, N]
        H = time.shape[1]
        return torch.cat([history[:, None].expand(-1, H, -1, -1), seasonal[..., None]], -1)

    def set_linear(self, coef: torch.Tensor) -> None:
        """Coefficients ``[H, L + 2]`` of ``linear_terms`` plus intercept."""
        L = self.skip.in_features
        with torch.no_grad():
            self.skip.weight.copy_(coef[:, :L])
            self.profile_weight.copy_(coef[:, L])
            self.skip.bias.copy_(coef[:, L + 1])

    def set_profile(self, profile: torch.Tensor) -> None:
        self.profile.copy_(profile.to(self.profile))


class STTransformer(NeuralForecaster):
    """Spatio-temporal transformer (see module docstring).

    Args:
        dim: token width.
        heads: attention heads per block.
        temporal_layers: blocks attending over time.
        spatial_layers: blocks attending across zones.
        dropout: dropout on attention weights, feed-forward and residual paths.
        start: ``"linear"`` (the least-squares linear part with a silent head, see above)
            or ``"random"`` (every layer at PyTorch's default initialisation; kept to
            measure what the starting point does to the attention, docs/explain.md).
        (others: see ``NeuralForecaster``)
    """

    name = "st_transformer"
    uses_graph = True

    def __init__(self, lookback: int = 12, horizon: int = 3, *, dim: int = 64, heads: int = 4,
                 temporal_layers: int = 2, spatial_layers: int = 2, dropout: float = 0.1,
                 start: str = "linear", **kwargs: Any) -> None:
        super().__init__(lookback, horizon, **kwargs)
        self.dim, self.heads, self.dropout = dim, heads, dropout
        self.temporal_layers, self.spatial_layers = temporal_layers, spatial_layers
        self.start = start

    def build_network(self, schema: dict[str, Any]) -> nn.Module:
        return STTransformerNetwork(
            self.lookback, self.horizon, schema["n_zones"], schema["n_features"],
            schema["slots_per_day"], schema["weekly"], schema["target_index"],
            schema.get("adjacency"),
            self.dim, self.heads, self.temporal_layers, self.spatial_layers, self.dropout,
            self.start,
        )

"""Layers shared by the neural forecasters."""

from __future__ import annotations

import math

import torch
from torch import nn


class TimeEncoding(nn.Module):
    """Embed ``[..., 2]`` (slot of day, weekday) time features into ``dim``.

    The slot of day enters as smooth Fourier features (``harmonics`` sine/cosine pairs of the
    daily cycle) so that nearby slots share what they learn, even when each slot occurs only
    a few times in training; the weekday as a small learned embedding, used only when the
    training data spans at least two weeks (otherwise some weekdays are never seen and their
    embedding would be noise).
    """

    frequencies: torch.Tensor  # buffer [harmonics]

    def __init__(self, slots_per_day: int, dim: int, weekday: bool, harmonics: int = 4) -> None:
        super().__init__()
        self.slots_per_day = max(slots_per_day, 1)
        self.register_buffer("frequencies", torch.arange(1, harmonics + 1, dtype=torch.float32))
        self.daily = nn.Linear(2 * harmonics, dim)
        self.weekday = nn.Embedding(7, dim) if weekday else None
        if self.weekday is not None:
            nn.init.normal_(self.weekday.weight, std=0.02)

    def forward(self, time: torch.Tensor) -> torch.Tensor:
        phase = 2 * math.pi * time[..., :1].float() / self.slots_per_day * self.frequencies
        out = self.daily(torch.cat([phase.sin(), phase.cos()], dim=-1))
        if self.weekday is not None:
            out = out + self.weekday(time[..., 1])
        return out

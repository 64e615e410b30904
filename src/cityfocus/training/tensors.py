"""WindowTensors: a dataset's scaled arrays as tensors, gathered into network inputs by
window start (the windows' steps come from ``cityfocus.data.windows.window_steps``)."""

from __future__ import annotations

import numpy as np
import torch

from cityfocus.data.citydata import CityData
from cityfocus.data.scaling import Scaler
from cityfocus.data.windows import time_features, window_steps


class WindowTensors:
    """A dataset's scaled arrays as tensors on ``device``.

    Attributes:
        x: ``[T, N, F]`` scaled values (0 where unobserved); ``mask`` ``[T, N, F]`` observed.
        time: ``[T, 2]`` (slot of day, weekday) of each step.
        y, y_mask: ``[T, N]`` the scaled target and its observed-mask; ``raw_y`` the target in
            original units.
    """

    def __init__(self, data: CityData, scaler: Scaler, lookback: int, horizon: int,
                 device: torch.device) -> None:
        k = data.target_index
        scaled = np.where(data.mask, scaler.transform(data.values), 0.0).astype(np.float32)
        self.x = torch.from_numpy(scaled).to(device)
        self.mask = torch.from_numpy(data.mask).to(device)
        self.time = torch.from_numpy(time_features(data.timestamps, data.freq)).to(device)
        self.target_index = k
        self.y = self.x[:, :, k]
        self.y_mask = self.mask[:, :, k]
        self.raw_y = torch.from_numpy(data.values[:, :, k]).to(device)
        self.lookback, self.horizon, self.device = lookback, horizon, device

    def steps(self, starts: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        """Input ``[B, L]`` and target ``[B, H]`` steps of the windows at ``starts``."""
        xs, ys = window_steps(starts, self.lookback, self.horizon)
        return torch.as_tensor(xs, device=self.device), torch.as_tensor(ys, device=self.device)

    def inputs(self, starts: np.ndarray) -> dict[str, torch.Tensor]:
        """Network inputs for windows starting at ``starts``: x/x_mask ``[B, L, N, F]``,
        x_time ``[B, L, 2]``, y_time ``[B, H, 2]``."""
        xs, ys = self.steps(starts)
        return {"x": self.x[xs], "x_mask": self.mask[xs].float(), "x_time": self.time[xs],
                "y_time": self.time[ys]}

    def targets(self, starts: np.ndarray, scaled: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """``[B, H, N]`` targets (scaled or original units) and their observed-mask."""
        _, ys = self.steps(starts)
        return (self.y if scaled else self.raw_y)[ys], self.y_mask[ys]


def chunks(values: np.ndarray, size: int = 256) -> list[np.ndarray]:
    """``values`` in consecutive pieces of about ``size`` (at least one piece)."""
    return np.array_split(values, max(len(values) // size, 1))

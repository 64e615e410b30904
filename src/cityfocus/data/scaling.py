"""Scalers fitted on the training part only, over observed entries only.

``StandardScaler`` z-scores each feature (optionally each zone's feature); ``MaxScaler``
divides by one maximum (the T-GCN protocol). Both act on the last axis ``F`` of any
``[..., N, F]`` array and round-trip through ``to_config`` / ``from_config``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError


class StandardScaler:
    """``(x - mean) / std`` per feature, or per (zone, feature) with ``per_zone=True``.

    Statistics use observed entries only; a constant or never-observed column gets std 1.
    """

    def __init__(self, per_zone: bool = False) -> None:
        self.per_zone = per_zone

    def fit(self, data: CityData) -> StandardScaler:
        axes = (0,) if self.per_zone else (0, 1)
        count = data.mask.sum(axis=axes)
        if (count == 0).all():
            raise DataError("cannot fit a scaler: no observed value", source=data.name)
        safe = np.maximum(count, 1)
        mean = (data.values * data.mask).sum(axis=axes) / safe
        centred = (data.values - mean) * data.mask
        var = (centred**2).sum(axis=axes) / safe
        std = np.sqrt(var)
        self.mean_ = mean.astype(np.float32)
        self.std_ = np.where(std > 1e-8, std, 1.0).astype(np.float32)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Scale ``[..., N, F]`` (or ``[..., F]`` when not per zone)."""
        return ((x - self.mean_) / self.std_).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return (x * self.std_ + self.mean_).astype(np.float32)

    def target_params(self, feature: int) -> tuple[np.ndarray, np.ndarray]:
        """``(mean, std)`` of one feature, ``[N]`` arrays per zone or scalars broadcast."""
        return self.mean_[..., feature], self.std_[..., feature]

    def to_config(self) -> dict[str, Any]:
        return {"kind": "standard", "per_zone": self.per_zone,
                "mean": self.mean_.tolist(), "std": self.std_.tolist()}


class MaxScaler:
    """``x / max`` with one maximum over all observed entries of all features."""

    def fit(self, data: CityData) -> MaxScaler:
        if not data.mask.any():
            raise DataError("cannot fit a scaler: no observed value", source=data.name)
        peak = float(np.abs(data.values[data.mask]).max())
        self.max_ = np.float32(peak if peak > 0 else 1.0)
        return self

    def transform(self, x: np.ndarray) -> np.ndarray:
        return (x / self.max_).astype(np.float32)

    def inverse_transform(self, x: np.ndarray) -> np.ndarray:
        return (x * self.max_).astype(np.float32)

    def target_params(self, feature: int) -> tuple[np.float32, np.float32]:
        return np.float32(0.0), self.max_

    def to_config(self) -> dict[str, Any]:
        return {"kind": "max", "max": float(self.max_)}


Scaler = StandardScaler | MaxScaler


def scaler_from_config(config: dict[str, Any]) -> Scaler:
    """Rebuild a fitted scaler saved with ``to_config``."""
    if config.get("kind") == "standard":
        scaler = StandardScaler(per_zone=bool(config["per_zone"]))
        scaler.mean_ = np.asarray(config["mean"], dtype=np.float32)
        scaler.std_ = np.asarray(config["std"], dtype=np.float32)
        return scaler
    if config.get("kind") == "max":
        max_scaler = MaxScaler()
        max_scaler.max_ = np.float32(config["max"])
        return max_scaler
    raise DataError(f"unknown scaler kind {config.get('kind')!r}; expected 'standard' or 'max'")

"""The Forecast a model returns: what each zone will need over the horizon."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.errors import DataError


@dataclass(frozen=True)
class Forecast:
    """A forecast of the target feature.

    Attributes:
        mean: ``[H, N]`` expected target per horizon step and zone (original units).
        timestamps: ``[H]`` the steps forecast.
        zones: ``[N]`` zone ids.
        attention: per-layer attention maps for models that have them, else None.
        window_end: timestamp of the last input step used.
    """

    mean: np.ndarray
    timestamps: pd.DatetimeIndex
    zones: list[str]
    window_end: pd.Timestamp | None = None
    attention: dict[str, Any] | None = field(default=None)


def forecast_start(data: CityData, at: int | None, needed: int) -> int:
    """Resolve ``at``, the first step to forecast (default: just after the data), and check
    that ``needed`` earlier steps exist."""
    T = data.shape[0]
    at = T if at is None else at
    if not needed <= at <= T:
        raise DataError(
            f"cannot forecast from step {at}: need {needed} earlier steps and at <= T={T}",
            source=data.name,
        )
    return at


def forecast_times(data: CityData, at: int, horizon: int) -> pd.DatetimeIndex:
    """Timestamps of steps ``at .. at+horizon-1`` (they may lie past the data's end)."""
    start = data.timestamps[0] + at * data.freq
    return pd.DatetimeIndex([start + h * data.freq for h in range(horizon)])

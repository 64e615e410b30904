"""The Forecast a model returns: what each zone will need over the horizon."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd


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

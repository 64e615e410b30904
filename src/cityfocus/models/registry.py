"""Forecasters by name, so benchmarks and the CLI build any model the same way."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError
from cityfocus.models.baselines import HistoricalAverage, Persistence
from cityfocus.models.forecast import Forecast


class Forecaster(Protocol):
    """What every model offers (scikit-learn style; learned state ends in ``_``)."""

    lookback: int
    horizon: int

    def fit(self, train: CityData, val: CityData | None = None) -> Forecaster: ...

    def predict(self, data: CityData, at: int | None = None) -> Forecast: ...

    def predict_windows(self, windows: Windows) -> np.ndarray: ...


def _historical_average(lookback: int, horizon: int, **params: Any) -> Forecaster:
    return HistoricalAverage(horizon=horizon, **params)


def _persistence(lookback: int, horizon: int, **params: Any) -> Forecaster:
    return Persistence(horizon=horizon, **params)


MODELS: dict[str, Callable[..., Forecaster]] = {
    "historical_average": _historical_average,
    "persistence": _persistence,
}


def make_forecaster(name: str, lookback: int, horizon: int, **params: Any) -> Forecaster:
    """Build the forecaster ``name`` for windows of ``lookback`` inputs and ``horizon`` outputs."""
    if name not in MODELS:
        raise CityfocusError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](lookback, horizon, **params)

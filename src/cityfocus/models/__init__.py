"""Forecasters: every model fits ``fit(train, val)`` / ``predict(data, at)`` and returns a Forecast."""

from cityfocus.models.baselines import HistoricalAverage, Persistence
from cityfocus.models.forecast import Forecast

__all__ = ["Forecast", "HistoricalAverage", "Persistence"]

"""Forecasters: ``fit(train, val)``, ``predict(data, at) -> Forecast``, ``predict_windows``."""

from cityfocus.models.baselines import HistoricalAverage, Persistence
from cityfocus.models.forecast import Forecast

__all__ = ["Forecast", "HistoricalAverage", "Persistence"]

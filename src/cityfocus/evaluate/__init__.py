"""Evaluation: masked forecast metrics (numpy only) and the forecast benchmark runner."""

from cityfocus.evaluate.manifest import Manifest
from cityfocus.evaluate.metrics import (
    MAPE_EPS,
    METRIC_DEFINITIONS,
    METRICS,
    accuracy,
    count_metrics,
    explained_variance,
    forecast_metrics,
    mae,
    mape,
    positive_entry_metrics,
    r2,
    rmse,
)

__all__ = [
    "MAPE_EPS",
    "METRICS",
    "METRIC_DEFINITIONS",
    "Manifest",
    "accuracy",
    "count_metrics",
    "explained_variance",
    "forecast_metrics",
    "mae",
    "mape",
    "positive_entry_metrics",
    "r2",
    "rmse",
]

"""Evaluation, numpy only: masked forecast metrics, decision metrics (regret, hit rate, ...),
paired bootstrap intervals, Markdown tables. The benchmark runners live apart, in
``cityfocus_bench``."""

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

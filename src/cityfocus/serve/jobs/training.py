"""What a worker runs for a job: a ``Trainer`` turns the stored observations and the job's
forecaster and params into a checkpoint. The historical average is trained here (numpy);
neural forecasters by ``cityfocus.cli.serve_compute.train`` (torch), which the worker
command passes in, so nothing under ``cityfocus.serve`` imports torch."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from cityfocus.data.citydata import CityData
from cityfocus.models.baselines import HistoricalAverage
from cityfocus.serve.models.checkpoint import average_checkpoint

DEFAULT_LOOKBACK = 24

#: ``report(progress 0..1 or None, log line)``
Report = Callable[[float | None, str], None]


@dataclass(frozen=True)
class Trained:
    """A trained model: its checkpoint's bytes and the params to record with the version."""

    checkpoint: bytes
    params: dict[str, Any]


class Trainer(Protocol):
    def __call__(self, data: CityData, forecaster: str, params: dict[str, Any],
                 report: Report) -> Trained: ...


def train_average(data: CityData, params: dict[str, Any], report: Report) -> Trained:
    """Fit the historical average once (to check the data serves it) and keep its config."""
    weekly = bool(params.get("weekly", True))
    report(0.1, f"historical_average (weekly={weekly}) on {data.shape[0]} steps x "
                f"{data.shape[1]} zones")
    HistoricalAverage(horizon=1, weekly=weekly).fit(data)
    report(0.9, "fitted")
    return Trained(average_checkpoint({"weekly": weekly}), {"weekly": weekly})


def train_numpy_only(data: CityData, forecaster: str, params: dict[str, Any],
                     report: Report) -> Trained:
    """A trainer for workers without torch: the historical average only."""
    if forecaster != "historical_average":
        raise ValueError(f"this worker trains only historical_average, not {forecaster}")
    return train_average(data, params, report)

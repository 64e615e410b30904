"""The forecast benchmark: every registered model on a dataset under its published protocol.

The protocols (split, lookback, horizons, scored windows) come from each dataset's card
through ``protocols``; this module runs them and scores with the masked metrics.

Models come from ``cityfocus.models.registry.MODELS`` at run time with the hyperparameters of
the card's ``[forecast.models]`` table. Test inputs may reach back into earlier parts (never
forward) except under the T-GCN rule. ``fit(train, val)`` receives the two parts as
consecutive pieces (``Split.train``, ``Split.val``); a model that needs input context for its
first validation windows joins them itself.
"""

from __future__ import annotations

import json
import math
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.split import Split
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError
from cityfocus.evaluate.manifest import Manifest, git_commit
from cityfocus.evaluate.metrics import count_metrics, forecast_metrics
from cityfocus.outputs import atomic_file
from cityfocus.seeding import seed_everything
from cityfocus_bench.protocols import (
    Protocol,
    forecast_protocol,
    iterated_window_mean,
    load_benchmark_data,
    scored_windows,
    with_target,
)

DEFAULT_SEED = 0

QUICK_PARAMS: dict[str, dict[str, Any]] = {}
"""``QUICK_PARAMS[model]``: overrides for ``--quick`` smoke runs."""

QUICK_EPOCHS = 2
"""``--quick`` caps the ``epochs`` of any model that has that hyperparameter (unless
``QUICK_PARAMS`` sets it)."""


@dataclass(frozen=True)
class Job:
    """One model fit: a model, a horizon and (count protocol) a category."""

    model: str
    horizon: int
    category: str | None = None

    def describe(self) -> str:
        tail = f", {self.category}" if self.category else ""
        return f"{self.model} (H={self.horizon}{tail})"


def resolve(dataset: str, models: list[str] | None) -> tuple[Protocol, list[str]]:
    """Check the dataset (it needs a card with a forecast protocol) and the model names;
    ``models=None`` means every registered model."""
    from cityfocus.models.registry import MODELS

    protocol = forecast_protocol(dataset)
    chosen = list(MODELS) if not models else list(dict.fromkeys(models))
    unknown = [m for m in chosen if m not in MODELS]
    if unknown:
        raise CityfocusError(f"unknown model {unknown[0]!r}; choose from {', '.join(MODELS)}")
    return protocol, chosen


def plan(dataset: str, models: list[str] | None = None) -> list[Job]:
    """Every fit the benchmark will run, in order (for progress bars)."""
    return _jobs(*resolve(dataset, models))


def _jobs(protocol: Protocol, chosen: list[str]) -> list[Job]:
    return [
        Job(model, horizon, category)
        for model in chosen
        for horizon in protocol.horizons
        for category in (protocol.categories or (None,))
    ]


def fit_model(name: str, lookback: int, horizon: int, split: Split, params: dict[str, Any],
              seed: int, quick: bool = False) -> tuple[Any, float]:
    """Build model ``name`` from the registry with ``params`` and fit it on ``split.train``
    (``split.val`` for early stopping) under the run's seed; returns it and the fit seconds.

    The run's ``seed`` reaches models that store one (unless ``params`` sets it); ``quick``
    caps ``epochs`` at ``QUICK_EPOCHS`` (unless ``params`` sets it).
    """
    from cityfocus.learn.registry import make_forecaster

    seed_everything(seed)
    model = make_forecaster(name, lookback, horizon, **params)
    if hasattr(model, "seed") and "seed" not in params:
        model.seed = seed  # a stored hyperparameter (scikit-learn style): the run's seed wins
    if quick and hasattr(model, "epochs") and "epochs" not in params:
        model.epochs = min(model.epochs, QUICK_EPOCHS)
    started = time.perf_counter()
    model.fit(split.train, split.val)
    return model, time.perf_counter() - started


def fit_and_predict(
    job: Job, protocol: Protocol, split: Split, windows: Windows, params: dict[str, Any],
    seed: int, quick: bool = False,
) -> tuple[np.ndarray, dict[str, float]]:
    """Fit one model on the train part (validation for early stopping) and forecast the test
    windows; returns ``[S, H, N]`` forecasts and timings in seconds."""
    model, fit_seconds = fit_model(job.model, protocol.lookback, job.horizon, split, params,
                                   seed, quick)
    fitted = time.perf_counter()
    y_hat = np.asarray(model.predict_windows(windows), dtype=np.float64)
    predicted = time.perf_counter()
    expected = (len(windows), job.horizon, split.data.shape[1])
    if y_hat.shape != expected:
        raise RuntimeError(f"{job.model} returned forecasts of shape {y_hat.shape}, "
                           f"expected {expected}")
    timing = {"fit_seconds": fit_seconds, "predict_seconds": predicted - fitted,
              "predict_ms_per_window": 1000 * (predicted - fitted) / len(windows)}
    return y_hat, timing


def benchmark_manifest(protocol: Protocol, data: CityData, split: Split, horizon: int,
                       seed: int, command: str | None, quick: bool, **extra: Any) -> Manifest:
    """The manifest of a figure made under ``protocol`` (``extra``: model, params, task...)."""
    return Manifest(
        data={"name": data.name, "shape": list(data.shape), "target": data.target,
              "units": protocol.units, "quick_slice": quick},
        split={"rule": protocol.split_rule,
               **{part: list(split.bounds(part)) for part in ("train", "val", "test")},
               "test_windows": "inside the test part, last window dropped (T-GCN)"
               if protocol.tgcn_windows else "targets in the test part, inputs may reach back"},
        lookback=protocol.lookback, horizon=horizon, seed=seed, command=command, extra=extra,
    )


def run_forecast_benchmark(
    dataset: str,
    *,
    models: list[str] | None = None,
    quick: bool = False,
    seed: int = DEFAULT_SEED,
    command: str | None = None,
    progress: Callable[[Job], None] | None = None,
) -> dict[str, Any]:
    """Train and score the chosen models (default: all registered) under ``dataset``'s protocol.

    Args:
        dataset: a built-in dataset name or a data path, with a card holding a forecast
            protocol.
        models: model names (default: every model in the registry).
        quick: smoke run: a slice of the data, ``QUICK_PARAMS``, at most ``QUICK_EPOCHS``
            epochs (numbers not comparable).
        seed: seed set before every fit.
        command: the command line, recorded in every manifest.
        progress: called with each ``Job`` before it runs.

    Returns:
        A JSON-ready dict: ``dataset``, ``protocol``, ``manifest``, ``runs`` (one per model and
        horizon, with ``metrics`` or ``count_metrics`` and timings), ``protocol_check`` and
        ``references`` (quoted published figures).

    Raises:
        CityfocusError: an unknown dataset or model, or unusable data.
    """
    protocol, chosen = resolve(dataset, models)
    jobs = _jobs(protocol, chosen)
    data, rate = load_benchmark_data(protocol, quick)
    split = protocol.split(data)
    runs: list[dict[str, Any]] = []
    for model in dict.fromkeys(job.model for job in jobs):
        for horizon in protocol.horizons:
            model_jobs = [j for j in jobs if j.model == model and j.horizon == horizon]
            runs.append(_run_model(model_jobs, protocol, data, split, rate, seed, command,
                                   quick, progress))
    checks = []
    if protocol.tgcn_windows:
        for horizon in protocol.horizons:
            windows = scored_windows(protocol, split, horizon)
            batch = windows.batch()
            checks.append({
                "model": "window_mean_ha", "horizon": horizon,
                "description": "T-GCN's HA (iterated mean of the input window), computed here",
                "metrics": forecast_metrics(
                    batch.y, iterated_window_mean(windows), batch.y_mask,
                    manifest=benchmark_manifest(protocol, data, split, horizon, seed, command,
                                                quick)),
            })
    return {
        "dataset": dataset,
        "quick": quick,
        "protocol": {"lookback": protocol.lookback, "horizons": list(protocol.horizons),
                     "split_rule": protocol.split_rule, "target": data.target,
                     "categories": list(protocol.categories),
                     "report_steps": list(protocol.report_steps), "units": protocol.units,
                     "step_minutes": data.freq.total_seconds() / 60, "note": protocol.note},
        "manifest": benchmark_manifest(protocol, data, split, max(protocol.horizons), seed,
                                       command, quick).as_dict(),
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "torch": getattr(sys.modules.get("torch"), "__version__", None),
                        "machine": platform.machine(), "git_commit": git_commit(),
                        "created": datetime.now(UTC).isoformat(timespec="seconds")},
        "runs": runs,
        "protocol_check": checks,
        "references": [] if quick else list(protocol.card.references),
    }


def _run_model(
    jobs: list[Job], protocol: Protocol, data: CityData, split: Split,
    rate: np.ndarray | None, seed: int, command: str | None, quick: bool,
    progress: Callable[[Job], None] | None,
) -> dict[str, Any]:
    """One model at one horizon: all its category runs, scored together."""
    model, horizon = jobs[0].model, jobs[0].horizon
    params = dict(protocol.models.get(model, {}))
    if quick:
        params.update(QUICK_PARAMS.get(model, {}))
    truths, forecasts, masks, timings = [], [], [], []
    for job in jobs:
        if progress is not None:
            progress(job)
        job_split = split if job.category is None else protocol.split(
            with_target(data, job.category))
        windows = scored_windows(protocol, job_split, horizon)
        y_hat, timing = fit_and_predict(job, protocol, job_split, windows, params, seed,
                                        quick)
        batch = windows.batch()
        truths.append(batch.y)
        forecasts.append(y_hat)
        masks.append(batch.y_mask)
        timings.append(timing | ({"category": job.category} if job.category else {}))
    manifest = benchmark_manifest(protocol, data, split, horizon, seed, command, quick,
                                  model=model, params=params)
    run: dict[str, Any] = {
        "model": model, "horizon": horizon, "params": params, "n_windows": len(truths[0]),
        "fit_seconds": sum(t["fit_seconds"] for t in timings),
        "predict_seconds": sum(t["predict_seconds"] for t in timings),
        "timings": timings,
    }
    if protocol.categories:
        stack = [np.stack(arrays, axis=-1) for arrays in (truths, forecasts, masks)]
        run["count_metrics"] = count_metrics(*stack, categories=protocol.categories,
                                             manifest=manifest)
        run["metrics_by_category"] = {
            job.category: forecast_metrics(y, y_hat, m, metrics=("mae", "rmse"),
                                           manifest=manifest)
            for job, y, y_hat, m in zip(jobs, truths, forecasts, masks, strict=True)
        }
    else:
        run["metrics"] = forecast_metrics(truths[0], forecasts[0], masks[0], manifest=manifest)
    if rate is not None:
        windows = scored_windows(protocol, split, horizon)
        steps = windows.starts[:, None] + protocol.lookback + np.arange(horizon)[None, :]
        run["metrics_vs_truth_rate"] = forecast_metrics(
            rate[steps], forecasts[0], metrics=("mae", "rmse"), manifest=manifest)
    return run


def jsonable(value: Any) -> Any:
    """Nested results with numpy scalars made plain and NaN/inf made None (strict JSON)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(result: dict[str, Any], path: str | Path) -> None:
    """Write a benchmark result as strict JSON, atomically."""
    atomic_file(path).write(json.dumps(jsonable(result), indent=2, ensure_ascii=False) + "\n")

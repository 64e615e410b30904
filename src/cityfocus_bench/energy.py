"""The energy benchmark: day-ahead node net-load forecasts on SimBench grids, and the daily
flexibility decision made from them, judged by pandapower's AC power flow on the realized
profiles.

For each grid (a dataset with a card: ``simbench_lv``, ``simbench_mv``) the card's forecast
protocol gives the split and the models' hyperparameters. Every model forecasts the 96
quarter-hours of each test day from the day before (windows starting at midnight). The
daily budget (MWh of curtailable infeed) is fixed from the training days only. Every row
(rules, forecasts + the exact engine, the hindsight oracle) then plans each test day, and
every quarter-hour in which a row curtails is re-run as an AC power flow; quarter-hours
without action share the no-action power flow.
"""

from __future__ import annotations

import platform
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.readers.simbench_grid import SIMBENCH_DATASETS, STEPS_PER_DAY
from cityfocus.data.split import Split
from cityfocus.data.windows import Windows
from cityfocus.energy.flexibility import (
    HOURS,
    STEPS_PER_HOUR,
    daily_budget,
    plan_day,
    rule_day,
    scenarios_of,
)
from cityfocus.energy.grid import STEP_HOURS, GridCase, load_grid
from cityfocus.errors import CityfocusError
from cityfocus.evaluate.manifest import git_commit
from cityfocus.evaluate.metrics import forecast_metrics
from cityfocus_bench.forecast import DEFAULT_SEED, QUICK_EPOCHS, fit_model
from cityfocus_bench.protocols import Protocol, forecast_protocol, load_benchmark_data

DATASETS = tuple(SIMBENCH_DATASETS)
BASELINE_MODELS = ("historical_average", "persistence")
NEURAL_MODELS = ("seed_mlp", "lstm", "st_transformer")
DEFAULT_MODELS = ("seed_mlp",)
"""Run by default: on 2 shared cores one lstm or st_transformer epoch over the ~10,000
day-ahead training windows (96 steps in, 96 out) takes many minutes; add them with
``--models``."""
RULE_FORECAST = "historical_average"
"""The forecast the rules read (a rule needs no trained model)."""
BUDGET_FRACTION = 0.5
"""The daily budget: this share of the mean energy the hindsight plan needs on the training
days that need any (a scarce budget, fixed before any test day is seen)."""
QUICK_DAYS = 21
SCREENING_SAMPLE = 40
"""Screened quarter-hours re-run with real power flows per grid, to check the screening."""
CALIBRATION_DAYS = 12
"""Training days whose power flows fit the voltage model's offsets."""


@dataclass(frozen=True)
class EnergyJob:
    """One step of the run: a forecast fit or the power flows of a row."""

    dataset: str
    what: str

    def describe(self) -> str:
        return f"{self.dataset}: {self.what}"


def resolve(datasets: list[str] | None, models: list[str] | None) -> tuple[list[str], list[str]]:
    """Check the grid and model names (None: all)."""
    chosen = list(DATASETS) if not datasets else list(dict.fromkeys(datasets))
    bad = [d for d in chosen if d not in DATASETS]
    if bad:
        raise CityfocusError(f"unknown energy dataset {bad[0]!r}; choose from "
                             f"{', '.join(DATASETS)}")
    picked = list(DEFAULT_MODELS) if models is None else list(dict.fromkeys(models))
    unknown = [m for m in picked if m not in NEURAL_MODELS]
    if unknown:
        raise CityfocusError(f"unknown model {unknown[0]!r} for the energy benchmark; choose "
                             f"from {', '.join(NEURAL_MODELS)}")
    return chosen, picked


def plan(datasets: list[str] | None, models: list[str] | None) -> list[EnergyJob]:
    """Every step the run takes, in order (for progress bars)."""
    chosen, picked = resolve(datasets, models)
    return [EnergyJob(d, w) for d in chosen
            for w in [*BASELINE_MODELS, *picked, "power flows"]]


def run_energy_benchmark(
    datasets: list[str] | None = None,
    *,
    models: list[str] | None = None,
    quick: bool = False,
    seed: int = DEFAULT_SEED,
    threads: int | None = None,
    command: str | None = None,
    progress: Callable[[EnergyJob], None] | None = None,
) -> dict[str, Any]:
    """Forecast, decide and judge on each grid; a JSON-ready result.

    Args:
        datasets: grid datasets (default: all of ``DATASETS``).
        models: neural models (default: ``DEFAULT_MODELS``; ``[]``: baselines only). The
            cityfocus row is the one with the lowest validation MAE (never a test figure).
        quick: smoke run on the last ``QUICK_DAYS`` days, at most ``QUICK_EPOCHS`` epochs.
        seed: seed set before every fit.
        threads: torch CPU threads (None: torch's default).
        command: the command line, recorded.
        progress: called with each ``EnergyJob`` before it runs.
    """
    chosen, picked = resolve(datasets, models)
    started = time.perf_counter()
    if threads is not None:
        import torch

        torch.set_num_threads(threads)
    grids = [_run_grid(d, picked, quick, seed, progress) for d in chosen]
    torch_module = sys.modules.get("torch")
    result: dict[str, Any] = {
        "benchmark": "energy",
        "quick": quick,
        "command": command,
        "seed": seed,
        "settings": {"budget_fraction": BUDGET_FRACTION, "rule_forecast": RULE_FORECAST,
                     "step_hours": STEP_HOURS, "cityfocus_model": "the neural model with the "
                     "lowest validation MAE"},
        "environment": {
            "python": platform.python_version(), "numpy": np.__version__,
            "torch": getattr(torch_module, "__version__", None),
            "threads": torch_module.get_num_threads() if torch_module else None,
            "pandapower": _version("pandapower"), "simbench": _version("simbench"),
            "machine": platform.machine(), "git_commit": git_commit(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        },
        "grids": grids,
    }
    result["environment"]["wall_seconds"] = time.perf_counter() - started
    return result


def _version(package: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(package)
    except PackageNotFoundError:
        return None


def _data(protocol: Protocol, quick: bool) -> CityData:
    data, _ = load_benchmark_data(protocol, quick=False)
    if quick:  # the end of the period, where the grid's PV overloads it
        days = data.shape[0] // STEPS_PER_DAY
        data = data.slice_time((days - QUICK_DAYS) * STEPS_PER_DAY, days * STEPS_PER_DAY)
    return data


def day_windows(split: Split, lookback: int, part: str = "test") -> Windows:
    """The day-ahead windows of a part: targets are its whole days from midnight, inputs the
    L steps before."""
    start, stop = split.bounds(part)
    first_day = -(-start // STEPS_PER_DAY) * STEPS_PER_DAY
    first_day = max(first_day, -(-lookback // STEPS_PER_DAY) * STEPS_PER_DAY)
    return Windows(split.data, lookback, STEPS_PER_DAY, target_start=first_day,
                   target_stop=stop, context=True, stride=STEPS_PER_DAY)


def _run_grid(dataset: str, models: list[str], quick: bool, seed: int,
              progress: Callable[[EnergyJob], None] | None) -> dict[str, Any]:
    protocol = forecast_protocol(dataset)
    data = _data(protocol, quick)
    split = protocol.split(data)
    windows = day_windows(split, protocol.lookback)
    batch = windows.batch()
    val_windows = day_windows(split, protocol.lookback, "val")
    val_truth = val_windows.batch().y.astype(np.float64)
    forecasts: dict[str, np.ndarray] = {}
    errors: dict[str, np.ndarray] = {}
    fits: dict[str, dict[str, Any]] = {}
    for name in [*BASELINE_MODELS, *models]:
        if progress is not None:
            progress(EnergyJob(dataset, name))
        params = dict(protocol.models.get(name, {}))
        model, seconds = fit_model(name, protocol.lookback, STEPS_PER_DAY, split, params, seed,
                                   quick)
        forecasts[name] = np.asarray(model.predict_windows(windows), dtype=np.float64)
        errors[name] = val_truth - np.asarray(model.predict_windows(val_windows),
                                              dtype=np.float64)
        fits[name] = _fit_record(model, seconds, params, quick)
    forecast_rows = {name: forecast_metrics(batch.y, y_hat, batch.y_mask,
                                            metrics=("mae", "rmse"))
                     for name, y_hat in forecasts.items()}
    if progress is not None:
        progress(EnergyJob(dataset, "power flows"))
    code = str(data.meta["grid_code"])
    case = load_grid(code)
    first_step = int(data.meta["first_day"]) * STEPS_PER_DAY + _offset(data)
    train_days = _whole_days(split, "train")
    train_loads = np.stack([case.net_load(first_step + np.arange(d * STEPS_PER_DAY,
                                                                 (d + 1) * STEPS_PER_DAY))
                            for d in train_days]) if train_days else np.zeros((0, 96, 1))
    case.calibrate_voltage(_calibration_steps(first_step, train_days))
    budget = daily_budget(case, train_loads, BUDGET_FRACTION)
    test_steps = [first_step + windows.lookback + int(s) + np.arange(STEPS_PER_DAY)
                  for s in windows.starts]
    val_mae = {name: float(np.abs(err).mean()) for name, err in errors.items()}
    cityfocus = min(models, key=lambda m: val_mae[m]) if models else None
    decisions = _decisions(case, forecasts, errors, test_steps, budget, models, cityfocus)
    pf_started, flows_before = time.perf_counter(), case.power_flows
    skipped: list[tuple[int, np.ndarray]] = []
    rows = [_judge(case, label, plans, test_steps, skipped)
            for label, plans in decisions.items()]
    check = screening_check(case, skipped, SCREENING_SAMPLE, seed)
    return {
        "dataset": dataset,
        "grid_code": code,
        "shape": list(data.shape),
        "zones": int(data.shape[1]),
        "elements": len(case.ratings),
        "period": [str(data.timestamps[0]), str(data.timestamps[-1])],
        "split": {part: list(split.bounds(part)) for part in ("train", "val", "test")},
        "split_rule": protocol.split_rule,
        "test_days": [str(data.timestamps[int(s) + windows.lookback].date())
                      for s in windows.starts],
        "lookback": protocol.lookback,
        "horizon": STEPS_PER_DAY,
        "report_steps": list(protocol.report_steps),
        "budget_mwh_per_day": budget,
        "validation_mae": val_mae,
        "cityfocus_model": cityfocus,
        "fits": fits,
        "forecast": forecast_rows,
        "decisions": rows,
        "power_flows": case.power_flows,
        "power_flow_seconds": time.perf_counter() - pf_started,
        "power_flows_of_rows": case.power_flows - flows_before,
        "screening_check": check,
    }


def screening_check(case: GridCase, skipped: list[tuple[int, np.ndarray]], sample: int,
                    seed: int) -> dict[str, Any]:
    """Run real power flows on a seeded sample of the screened (step, curtailment) pairs
    and count those with a violation the screening assumed away."""
    rng = np.random.default_rng(seed)
    picks: list[int] = [int(i) for i in rng.choice(len(skipped), size=min(sample, len(skipped)),
                                                   replace=False)] if skipped else []
    mismatches = sum(case.run(*skipped[i]).violated for i in picks)
    return {"screened": len(skipped), "checked": len(picks), "mismatches": int(mismatches)}


def _offset(data: CityData) -> int:
    """Steps from the dataset's first day to its first step (a quick slice starts later)."""
    import pandas as pd

    first = pd.Timestamp(data.timestamps[0])
    day0 = pd.Timestamp("2016-01-01") + pd.Timedelta(days=int(data.meta["first_day"]))
    return int((first - day0) / pd.Timedelta(minutes=15))


def _calibration_steps(first_step: int, train_days: list[int]) -> np.ndarray:
    """Training quarter-hours the voltage model is fitted on: 06:00, 12:00, 13:00 and 18:00
    of ``CALIBRATION_DAYS`` training days spread over the part."""
    days = np.array(train_days)[np.linspace(0, len(train_days) - 1,
                                            min(CALIBRATION_DAYS, len(train_days))).astype(int)]
    slots = np.array([24, 48, 52, 72])
    return (first_step + days[:, None] * STEPS_PER_DAY + slots[None]).ravel()


def _whole_days(split: Split, part: str) -> list[int]:
    start, stop = split.bounds(part)
    first = -(-start // STEPS_PER_DAY)
    return list(range(first, stop // STEPS_PER_DAY))


def _fit_record(model: Any, seconds: float, params: dict[str, Any],
                quick: bool) -> dict[str, Any]:
    record: dict[str, Any] = {"fit_seconds": seconds, "params": params}
    result = getattr(model, "train_result_", None)
    if result is not None:
        record |= {"epochs_run": len(result.history), "best_epoch": result.best_epoch,
                   "stopped": result.stopped, "max_epochs": getattr(model, "epochs", None)}
    if quick:
        record["quick_epoch_cap"] = QUICK_EPOCHS
    return record


def _decisions(case: GridCase, forecasts: dict[str, np.ndarray],
               errors: dict[str, np.ndarray], test_steps: list[np.ndarray], budget: float,
               models: list[str], cityfocus: str | None) -> dict[str, list[np.ndarray]]:
    """Each row's ``[24, N]`` curtailment plan per test day."""
    rows: dict[str, list[np.ndarray]] = {}
    rule_forecast = forecasts[RULE_FORECAST]
    for rule in ("no action", "uniform", "proportional", "largest nodes"):
        rows[rule] = [rule_day(rule, f, budget) for f in rule_forecast]
    for name in [*BASELINE_MODELS, *models]:
        label = f"{name} + solver"
        if name == cityfocus:
            label = f"cityfocus: {name} + solver (forecast mode)"
        rows[label] = [plan_day(case, scenarios_of(f, errors[name]), budget)
                       for f in forecasts[name]]
    rows["oracle (hindsight)"] = [plan_day(case, case.net_load(steps), budget)
                                  for steps in test_steps]
    return rows


def _judge(case: GridCase, label: str, plans: list[np.ndarray], test_steps: list[np.ndarray],
           skipped_steps: list[tuple[int, np.ndarray]]) -> dict[str, Any]:
    """AC power flows of every test quarter-hour under a row's plans."""
    overload = curtailed = planned = voltage = 0.0
    violation_hours = overload_hours = screened = 0
    element_overload = np.zeros(len(case.ratings))
    for plan, steps in zip(plans, test_steps, strict=True):
        infeed = case.curtailable(steps)
        for hour in range(HOURS):
            hour_steps = steps[hour * STEPS_PER_HOUR:(hour + 1) * STEPS_PER_HOUR]
            curtail = plan[hour]
            violated = overloaded = False
            for k, step in enumerate(hour_steps):
                result, skipped = case.judge(int(step), curtail if curtail.any() else None)
                screened += skipped
                if skipped:
                    skipped_steps.append((int(step), curtail))
                element_overload += result.overload_mva * STEP_HOURS
                voltage += result.voltage_excess * STEP_HOURS
                violated |= result.violated
                overloaded |= bool((result.overload_mva > 0).any())
                taken = np.minimum(curtail, infeed[hour * STEPS_PER_HOUR + k])
                curtailed += float(taken.sum()) * STEP_HOURS
            planned += float(curtail.sum())
            violation_hours += violated
            overload_hours += overloaded
    overload = float(element_overload.sum())
    worst = int(np.argmax(element_overload))
    return {"row": label, "overload_mwh": overload, "voltage_excess_pu_h": voltage,
            "violation_hours": violation_hours,
            "overload_hours": overload_hours, "curtailed_mwh": curtailed,
            "planned_mwh": planned, "screened_steps": screened,
            "worst_element": case.names[worst] if overload > 0 else None}


def targets(grid: dict[str, Any]) -> dict[str, Any]:
    """The issue's targets judged on one grid's rows (None where a row is missing)."""
    rows = {r["row"]: r for r in grid["decisions"]}
    cityfocus = next((r for label, r in rows.items() if label.startswith("cityfocus")), None)
    base, prop, oracle = rows["no action"], rows["proportional"], rows["oracle (hindsight)"]
    out: dict[str, Any] = {}
    if cityfocus is not None:
        removed = base["overload_mwh"] - cityfocus["overload_mwh"]
        best = base["overload_mwh"] - oracle["overload_mwh"]
        vs_prop = (1 - cityfocus["overload_mwh"] / prop["overload_mwh"]
                   if prop["overload_mwh"] > 0 else None)
        out["reduction_vs_proportional"] = vs_prop
        out["share_of_oracle_reduction"] = removed / best if best > 0 else None
        key = "voltage_excess_pu_h"  # the same two readings on voltage violations
        removed_v = base[key] - cityfocus[key]
        best_v = base[key] - oracle[key]
        out["voltage_reduction_vs_proportional"] = (1 - cityfocus[key] / prop[key]
                                                    if prop[key] > 0 else None)
        out["voltage_share_of_oracle_reduction"] = removed_v / best_v if best_v > 0 else None
    forecast = grid["forecast"]
    model = grid.get("cityfocus_model")
    if model is not None:
        beats = []
        for step in grid["report_steps"]:
            mine = forecast[model]["per_step"]
            ok = all(mine[m][step - 1] < forecast[b]["per_step"][m][step - 1]
                     for b in BASELINE_MODELS for m in ("mae", "rmse"))
            beats.append({"step": step, "beats_both": ok})
        out["forecast_beats_baselines"] = beats
        out["forecast_model"] = model
    return out

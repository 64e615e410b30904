"""The decision benchmark: how good are the allocations each model and training mode makes?

Every row turns the test windows of a dataset into allocations of one ``DecisionTask`` and is
scored on the realized demand (the target summed over the horizon) with
``evaluate.decisions.decision_metrics``. Rows: the rules ``uniform`` and
``historical_average rule`` (shares proportional to the historical-average forecast),
``historical_average + solver`` (forecast, then the exact solver), the hindsight
``oracle``, and each neural model trained in each mode of ``cityfocus.learn.modes``.

Splits, data slices, scored windows and model fitting are the forecast benchmark's
(``protocols``, ``forecast.fit_model``); only the decision on top is new here.
"""

from __future__ import annotations

import math
import platform
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from cityfocus.allocate.rules import proportional, uniform
from cityfocus.allocate.task import DecisionTask
from cityfocus.data.cards import DecisionCard, load_card
from cityfocus.data.split import Split
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError
from cityfocus.evaluate.decisions import decision_metrics, hotspot_parts
from cityfocus.evaluate.manifest import git_commit
from cityfocus.evaluate.metrics import rmse
from cityfocus.learn.modes import MODES, imitation_shares
from cityfocus.learn.policies import decide_windows, forecast_demand
from cityfocus_bench.aims import check_targets
from cityfocus_bench.forecast import (
    DEFAULT_SEED,
    QUICK_EPOCHS,
    benchmark_manifest,
    fit_model,
)
from cityfocus_bench.protocols import (
    Protocol,
    load_benchmark_data,
    no_protocol_error,
    scored_windows,
    with_target,
)

BASELINES = ("uniform", "historical_average rule", "historical_average + solver", "oracle")
DECISION_MODELS = ("seed_mlp", "lstm", "st_transformer")


@dataclass(frozen=True)
class DecisionProtocol:
    """How one dataset is benchmarked for decisions.

    Attributes:
        forecast: the data protocol (split, lookback, one horizon, target, units) shared with
            the forecast benchmark's machinery.
        task: the allocation made from every test window.
        spec: the card's ``[decision]`` section: the targets scored in turn, whether demand
            counts incidents, the bootstrap block, the aims, the texts (``DecisionCard``).
    """

    forecast: Protocol
    task: DecisionTask
    spec: DecisionCard

    @property
    def dataset(self) -> str:
        return self.forecast.dataset

    @property
    def horizon(self) -> int:
        return self.forecast.horizons[0]


def decision_protocol(dataset: str) -> DecisionProtocol:
    """The decision benchmark protocol of a built-in dataset name or a data path with a card.

    Raises:
        CityfocusError: the dataset has no card with a ``[decision]`` section.
    """
    card = load_card(dataset)
    d = card.decision
    if d is None:
        raise no_protocol_error(dataset, card, "decision")
    task = d.task
    return DecisionProtocol(
        Protocol(card, d.lookback, (d.horizon,), d.split, d.target, d.categories,
                 models=d.models),
        DecisionTask(task.get("family", "coverage"), task.get("budget", 10),
                     task.get("units", True), params=dict(task.get("params", {}))),
        d)


MIX = 0.1
"""Weight of the forecast loss added to the regret in ``decide`` mode."""


@dataclass(frozen=True)
class DecisionJob:
    """One fit: a target, and a model in a mode (``historical_average`` has no mode)."""

    target: str | None
    model: str
    mode: str | None = None

    def describe(self) -> str:
        tail = f", {self.target}" if self.target else ""
        return f"{self.model}{f' ({self.mode})' if self.mode else ''}{tail}"


@dataclass
class _Scoring:
    """What every row of one target is scored against."""

    windows: Windows
    realized: np.ndarray  # [S, N]: planted rate or counts summed over the horizon
    counts: np.ndarray  # [S, N]: realized counts summed over the horizon
    truth_rate: bool
    incidents: bool
    best: np.ndarray  # [S]: the hindsight oracle's gain on ``realized``
    rows: list[dict[str, Any]] = field(default_factory=list)


def resolve(dataset: str, models: list[str] | None,
            modes: list[str] | None) -> tuple[DecisionProtocol, list[str], list[str]]:
    """Check the dataset, model and mode names (``None``: all of them)."""
    protocol = decision_protocol(dataset)
    chosen = list(DECISION_MODELS) if models is None else list(dict.fromkeys(models))
    unknown = [m for m in chosen if m not in DECISION_MODELS]
    if unknown:
        raise CityfocusError(f"unknown model {unknown[0]!r} for the decision benchmark; choose "
                             f"from {', '.join(DECISION_MODELS)}")
    picked = list(MODES) if modes is None else list(dict.fromkeys(modes))
    bad = [m for m in picked if m not in MODES]
    if bad:
        raise CityfocusError(f"unknown mode {bad[0]!r}; choose from {', '.join(MODES)}")
    return protocol, chosen, picked


def plan(dataset: str, models: list[str] | None = None,
         modes: list[str] | None = None) -> list[DecisionJob]:
    """Every fit the benchmark will run, in order (for progress bars)."""
    return _jobs(*resolve(dataset, models, modes))


def _jobs(protocol: DecisionProtocol, chosen: list[str],
          picked: list[str]) -> list[DecisionJob]:
    return [job for target in (protocol.spec.targets or (None,)) for job in (
        DecisionJob(target, "historical_average"),
        *(DecisionJob(target, model, mode) for model in chosen for mode in picked))]


def run_decision_benchmark(
    dataset: str,
    *,
    models: list[str] | None = None,
    modes: list[str] | None = None,
    quick: bool = False,
    seed: int = DEFAULT_SEED,
    threads: int | None = None,
    command: str | None = None,
    progress: Callable[[DecisionJob], None] | None = None,
) -> dict[str, Any]:
    """Allocate with every baseline and every chosen model x mode; score the decisions.

    Args:
        dataset: a built-in dataset name or a data path, with a card holding a decision
            protocol.
        models: neural model names (default ``DECISION_MODELS``; ``[]`` for baselines only).
        modes: training modes (default all of ``learn.modes.MODES``).
        quick: smoke run: a slice of the data, at most ``QUICK_EPOCHS`` epochs.
        seed: seed set before every fit.
        threads: torch CPU threads (None: torch's default). On a shared machine one thread
            per run avoids the oversubscription that makes every epoch several times slower.
        command: the command line, recorded in the manifest.
        progress: called with each ``DecisionJob`` before it runs.

    Returns:
        A JSON-ready dict: ``dataset``, ``quick``, ``protocol``, ``task``, ``manifest``,
        ``environment`` and ``targets`` (per scored target: ``rows``, each with its
        ``metrics``, for the synthetic city also ``metrics_on_counts``, the forecast
        ``rmse``, timings and the per-epoch training ``history``).

    Raises:
        CityfocusError: an unknown dataset, model or mode, or unusable data.
    """
    protocol, chosen, picked = resolve(dataset, models, modes)
    jobs = _jobs(protocol, chosen, picked)
    import torch

    if threads is not None:
        if threads < 1:
            raise CityfocusError(f"threads must be >= 1, got {threads}")
        torch.set_num_threads(threads)
    data, rate = load_benchmark_data(protocol.forecast, quick)
    protocol.task.check(data.shape[1])
    targets = []
    for target in protocol.spec.targets or (None,):
        target_data = data if target is None else with_target(data, target)
        split = protocol.forecast.split(target_data)
        scoring = _scoring(protocol, split, rate)
        for job in (j for j in jobs if j.target == target):
            if progress is not None:
                progress(job)
            scoring.rows += _rows(job, protocol, split, scoring, seed, quick)
        rows = sorted(scoring.rows + _rule_rows(protocol, scoring), key=_baselines_first)
        targets.append({"target": target_data.target, "n_decisions": len(scoring.windows),
                        "rows": rows})
    manifest = benchmark_manifest(protocol.forecast, data, split, protocol.horizon, seed,
                                  command, quick, task=protocol.task.to_config(), mix=MIX,
                                  params=protocol.forecast.models)
    result = {
        "dataset": dataset,
        "quick": quick,
        "protocol": {"lookback": protocol.forecast.lookback, "horizon": protocol.horizon,
                     "split_rule": protocol.forecast.split_rule,
                     "targets": [t["target"] for t in targets], "units": protocol.forecast.units,
                     "decision": protocol.spec.decision, "truth_rate": protocol.spec.truth_rate,
                     "incidents": protocol.spec.incidents, "block": protocol.spec.block,
                     "note": protocol.spec.note, "aims": protocol.spec.aims},
        "task": protocol.task.to_config(),
        "manifest": manifest.as_dict(_DEFINITIONS),
        "environment": {"python": platform.python_version(), "numpy": np.__version__,
                        "torch": torch.__version__, "torch_threads": torch.get_num_threads(),
                        "machine": platform.machine(), "git_commit": git_commit(),
                        "created": datetime.now(UTC).isoformat(timespec="seconds")},
        "targets": targets,
    }
    result["checks"] = check_targets(result)  # verdicts and intervals, stored once
    return result


_DEFINITIONS = {
    "realized_objective": "mean over decisions of F(w; y), the task's gain on realized demand",
    "oracle_objective": "mean over decisions of F(w*(y); y), the best allocation in hindsight",
    "regret": "mean over decisions of oracle - realized objective (>= 0)",
    "normalized_regret": "sum of regrets / sum of |oracle objectives|",
    "hit_rate": "share of realized demand in zones given at least one unit, pooled",
    "precision/recall/f1": "attended zones vs hotspots (the k largest realized demands, k = "
    "zones the oracle attends), pooled",
    "auc": "forecast demand (imitate: shares; rules: their scores) vs hotspot labels",
    "rmse": "RMSE of the per-step forecast against the observed target, original units",
    "seconds_per_epoch": "mean seconds of a training epoch (validation included); decide: "
    "the regret fine-tuning epochs, the forecast-loss pretraining reported apart",
}


def _scoring(protocol: DecisionProtocol, split: Split, rate: np.ndarray | None) -> _Scoring:
    windows = scored_windows(protocol.forecast, split, protocol.horizon)
    batch = windows.batch()
    counts = np.clip((batch.y * batch.y_mask).sum(1), 0.0, None).astype(np.float64)
    realized = counts
    if protocol.spec.truth_rate:
        if rate is None:
            raise CityfocusError(f"{protocol.dataset} has no planted rate to score against")
        steps = windows.starts[:, None] + windows.lookback + np.arange(windows.horizon)
        realized = rate[steps].sum(1).astype(np.float64)
    return _Scoring(windows, realized, counts, protocol.spec.truth_rate, protocol.spec.incidents,
                    protocol.task.oracle_gain(realized))


def _score(name: str, kind: str, mode: str | None, task: DecisionTask, scoring: _Scoring,
           w: np.ndarray, scores: np.ndarray | None) -> dict[str, Any]:
    row: dict[str, Any] = {"name": name, "kind": kind, "mode": mode,
                           "metrics": decision_metrics(task, w, scoring.realized, scores),
                           "per_decision": _per_decision(task, scoring, w)}
    if scoring.truth_rate:
        row["metrics_on_counts"] = decision_metrics(task, w, scoring.counts, scores)
    return row


def _per_decision(task: DecisionTask, scoring: _Scoring, w: np.ndarray) -> dict[str, list]:
    """Each decision's regret (and, for incident data, the demand that fell in attended
    zones, the zones attended and the most as many zones could have held, for PAI and PEI):
    what the paired bootstrap of ``aims`` resamples."""
    realized = scoring.realized
    out = {"regret": _rounded(scoring.best - task.gain(w, realized))}
    if scoring.incidents:
        parts = hotspot_parts(w, realized)
        out["attended"] = _rounded(parts["hits"])
        out["zones_attended"] = _rounded(parts["zones_attended"])
        out["best_same_area"] = _rounded(parts["best_same_area"])
    return out


def _rounded(values: np.ndarray) -> list[float]:
    return [float(f"{v:.7g}") for v in np.asarray(values, dtype=np.float64)]


def _baselines_first(row: dict[str, Any]) -> int:
    """Sort key: baselines in ``BASELINES`` order, then models in the order they ran."""
    return BASELINES.index(row["name"]) if row["name"] in BASELINES else len(BASELINES)


def _rule_rows(protocol: DecisionProtocol, scoring: _Scoring) -> list[dict[str, Any]]:
    """``uniform`` and ``oracle``: the rows that need no fit."""
    task, realized = protocol.task, scoring.realized
    even = uniform(realized.shape, task.budget, task.units)
    return [_score("uniform", "rule", None, task, scoring, even, None),
            _score("oracle", "oracle", None, task, scoring, task.decide(realized), realized)]


def _rows(job: DecisionJob, protocol: DecisionProtocol, split: Split, scoring: _Scoring, seed: int,
          quick: bool) -> list[dict[str, Any]]:
    """The rows one fit gives: HA gives its rule and its forecast-then-solve rows."""
    task, windows = protocol.task, scoring.windows
    params = dict(protocol.forecast.models.get(job.model, {}))
    if quick and "epochs" in params:
        params["epochs"] = QUICK_EPOCHS
    if job.mode is not None:
        params |= {"mode": job.mode, "task": task.to_config(), "mix": MIX}
    model, fit_seconds = fit_model(job.model, protocol.forecast.lookback, protocol.horizon,
                                   split, params, seed, quick)
    timing = _timing(model, fit_seconds)
    if job.mode == "imitate":
        shares = imitation_shares(model.network_outputs(windows), task.budget).numpy()
        row = _score(job.model, "model", job.mode, task, scoring,
                     decide_windows(model, windows, task), shares)
        return [row | {"rmse": None, "params": params, **timing}]
    y_hat = model.predict_windows(windows)
    batch = windows.batch()
    error = rmse(batch.y, y_hat, batch.y_mask)
    demand = forecast_demand(model, windows)
    solved = _score(job.model if job.mode else "historical_average + solver",
                    "model" if job.mode else "baseline", job.mode, task, scoring,
                    task.decide(demand), demand)
    solved |= {"rmse": error, "params": params, **timing}
    if job.mode is not None:
        return [solved]
    if protocol.spec.incidents and not protocol.spec.truth_rate:
        solved["noise_floor"] = poisson_floor(task, demand, seed)
    rule = _score("historical_average rule", "rule", None, task, scoring,
                  proportional(demand, task.budget, task.units), demand)
    return [rule | {"rmse": None, "params": params, **timing}, solved]


FLOOR_DRAWS = 20


def poisson_floor(task: DecisionTask, mean: np.ndarray, seed: int,
                  draws: int = FLOOR_DRAWS) -> dict[str, Any]:
    """How much regret counting noise alone leaves: the normalized regret the allocation
    solved from ``mean`` would have against the hindsight oracle if each zone's count were
    Poisson with that mean (``draws`` simulated test periods; mean and standard deviation).

    With real counts the true mean is unknown, so this is a yardstick, not a bound: it says
    how much of a row's regret a forecast as informative as ``mean`` cannot remove."""
    rng = np.random.default_rng(seed)
    w = task.decide(mean)
    values = [decision_metrics(task, w, rng.poisson(np.clip(mean, 0.0, None)))
              ["normalized_regret"] for _ in range(draws)]
    return {"normalized_regret": float(np.mean(values)), "sd": float(np.std(values)),
            "draws": draws}


def _timing(model: Any, fit_seconds: float) -> dict[str, Any]:
    """Fit cost and training curves; for a decide fit that was pretrained with the forecast
    loss, ``epochs`` and ``seconds_per_epoch`` are the regret phase's (the pretraining is
    reported apart), so the epoch-cost target compares a regret epoch with a forecast one."""
    result = getattr(model, "train_result_", None)
    if result is None:
        return {"fit_seconds": fit_seconds, "epochs": None, "seconds_per_epoch": None}
    out = {"fit_seconds": fit_seconds, **_phase(result),
           "best_epoch": result.best_epoch, "stopped": result.stopped}
    pretrain = getattr(model, "pretrain_result_", None)
    if pretrain is not None:
        out["pretrain"] = {**_phase(pretrain), "best_epoch": pretrain.best_epoch,
                           "stopped": pretrain.stopped}
    return out


def _phase(result: Any) -> dict[str, Any]:
    """Epochs trained (a validate-only epoch 0 left out) and mean seconds per epoch."""
    trained = [h for h in result.history if h["epoch"] >= 1]
    if trained and all("seconds" in h for h in trained):
        seconds = sum(h["seconds"] for h in trained)
    else:  # histories without per-epoch seconds: the whole phase, validation included
        seconds = result.seconds
    return {"epochs": len(trained),
            "seconds_per_epoch": seconds / len(trained) if trained else math.nan,
            "history": result.history}

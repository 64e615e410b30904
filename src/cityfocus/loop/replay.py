"""The replay: allocate, observe through an observation model, store, refit, repeat.

Decision k covers the ``horizon`` data steps starting at ``at = start + k * horizon``. The
policy sees only its store (the data before ``start`` as the city recorded it, then only
what its own allocations revealed), allocates, and is scored on the block's true demand
(``ReplaySource.demand`` summed over the block) against the hindsight oracle. Every
``retrain_every`` decisions the policy is refitted on its store (neural models fine-tune
from their current weights); ``retrain_every = 0`` freezes the model fitted at the start.
After each decision the whole state (store, counters, random generator, model) is
checkpointed, so a stopped replay resumes with identical results.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from cityfocus.allocate.task import DecisionTask
from cityfocus.data.cards import load_card
from cityfocus.data.citydata import CityData
from cityfocus.errors import CityfocusError
from cityfocus.learn.policies import POLICIES, make_policy
from cityfocus.loop.checkpoint import load_latest, save_step
from cityfocus.loop.observe import OBSERVATIONS, reveal

Hook = Callable[[str], None]
T = TypeVar("T")


def _resolved(value: T | None, name: str) -> T:
    """``value`` of a config field that ``ReplayConfig.resolved`` fills in."""
    if value is None:
        raise ValueError(f"ReplayConfig.{name} is unset: use config.resolved()")
    return value


@dataclass(frozen=True)
class ReplayConfig:
    """One replay. ``None`` fields take the replay defaults of the dataset's card.

    Attributes:
        data: dataset name (``synthetic`` builds the synthetic city with its truth).
        policy: one of ``POLICIES``.
        observe: ``full`` or ``attention`` (see ``cityfocus.loop.observe``).
        steps: S, number of decisions replayed.
        retrain_every: K, refit every K decisions (0: frozen after the first fit).
        start: data step of the first decision (default: the last S * horizon steps).
        horizon: data steps per decision.
        model: forecaster of the model-based policies; model_params its hyperparameters.
        train_window: refit on the last this many data steps of the store (None: all).
        family, budget, units, alpha: the decision task (``alpha`` is the coverage law's).
        observe_alpha: the attention model's alpha (default: the task's ``alpha``).
        unseen_limit: D, a zone counts as starved when unseen for more than D decisions.
        beta, halflife, kappa, revisit: the exploring policy's settings (``ExplorePolicy``:
            posterior spread multiplier, half-life of recent evidence in decisions, drift
            shape of the long-run level, revisit limit in decisions, 0 for none).
        seed: seeds the observation draws (and neural models).
        synthetic_seed, drift_day, synthetic_zones, synthetic_days: the synthetic city.
    """

    data: str = "synthetic"
    policy: str = "forecast"
    observe: str = "attention"
    steps: int = 14
    retrain_every: int = 1
    start: int | None = None
    horizon: int | None = None
    model: str = "historical_average"
    model_params: dict[str, Any] | None = None
    train_window: int | None = None
    family: str = "coverage"
    budget: float | None = None
    units: bool = True
    alpha: float | None = None
    observe_alpha: float | None = None
    unseen_limit: int = 7
    beta: float = 0.0
    halflife: float = 3.0
    kappa: float = 4.0
    revisit: int = 0
    seed: int = 0
    synthetic_seed: int = 0
    drift_day: int | None = None
    synthetic_zones: int = 24
    synthetic_days: int = 56

    def resolved(self) -> ReplayConfig:
        """This config with the dataset's defaults filled in."""
        defaults = load_card(self.data).replay
        filled = {k: getattr(defaults, k) for k in ("horizon", "budget", "alpha")
                  if getattr(self, k) is None}
        config = replace(self, **filled)
        if config.observe_alpha is None:
            config = replace(config, observe_alpha=config.alpha)
        return replace(config, model_params=dict(config.model_params or {}))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ReplayConfig:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in known})

    @property
    def task(self) -> DecisionTask:
        return DecisionTask(self.family, float(_resolved(self.budget, "budget")), self.units,
                            params={"alpha": float(_resolved(self.alpha, "alpha"))})


@dataclass(frozen=True)
class ReplaySource:
    """What a replay runs on.

    Attributes:
        data: the dataset as recorded (its mask: what the city's sensors hold at all).
        demand: ``[T, N]`` the true demand decisions are scored on (the planted expected
            incidents for the synthetic city, else the recorded target with missing as 0).
        rising: ``[N]`` bool, zones with planted rising risk (all False when unknown).
    """

    data: CityData
    demand: np.ndarray
    rising: np.ndarray


def load_source(config: ReplayConfig) -> ReplaySource:
    """The dataset named in ``config``, with its scoring demand and planted truth."""
    card = load_card(config.data)
    if card.generator == "synthetic":
        from cityfocus.data.synthetic import synthetic_city

        city = synthetic_city(n_zones=config.synthetic_zones, days=config.synthetic_days,
                              seed=config.synthetic_seed, drift_day=config.drift_day)
        return ReplaySource(city.data, city.truth.rate.astype(np.float64), city.truth.rising)
    from cityfocus.data.readers import load_dataset

    data = load_dataset(card.source)
    demand = np.where(data.target_mask, data.target_values, 0.0).astype(np.float64)
    return ReplaySource(data, demand, np.zeros(data.shape[1], dtype=bool))


def check_config(config: ReplayConfig, source: ReplaySource) -> int:
    """Validate the config against the data; return the first decision's data step."""
    if config.policy not in POLICIES:
        raise CityfocusError(f"unknown policy {config.policy!r}; use one of {', '.join(POLICIES)}")
    if config.observe not in OBSERVATIONS:
        raise CityfocusError(f"unknown observation model {config.observe!r}; use one of "
                             f"{', '.join(OBSERVATIONS)}")
    T, H = source.data.shape[0], _resolved(config.horizon, "horizon")
    if config.steps < 1 or config.retrain_every < 0 or H < 1:
        raise CityfocusError("replay needs steps >= 1, retrain_every >= 0 and horizon >= 1")
    span = config.steps * H
    start = T - span if config.start is None else config.start
    if start < 1 or start + span > T:
        raise CityfocusError(
            f"{config.steps} decisions of {H} steps from step {start} do not fit "
            f"{source.data.name} ({T} steps, need history before the start); use fewer --steps")
    config.task.check(source.data.shape[1])
    return start


def run_replay(config: ReplayConfig, state_dir: str | Path | None = None,
               source: ReplaySource | None = None, stop_after: int | None = None,
               hook: Hook | None = None,
               progress: Callable[[int, int], None] | None = None) -> dict[str, Any]:
    """Run (or resume) a replay and return its result (config, per-decision records, summary).

    Args:
        config: the replay.
        state_dir: checkpoint here after every decision and resume from it when it holds a
            checkpoint of the same config (None: no checkpoints).
        source: the data to replay (default: ``load_source(config)``).
        stop_after: stop once this many decisions are complete (to resume later).
        hook: called with a phase name (``"allocated"``, ``"observed"``, ``"saving"``) during
            each decision; tests raise from it to simulate a crash.
        progress: called with (decisions done, decisions to run) before the first decision
            and after each one.
    """
    config = config.resolved()
    source = load_source(config) if source is None else source
    start = check_config(config, source)
    data, task, H = source.data, config.task, _resolved(config.horizon, "horizon")
    policy = make_policy(config.policy, task, H, model=config.model,
                         model_params=_resolved(config.model_params, "model_params"),
                         train_window=config.train_window,
                         explore={"beta": config.beta, "halflife": config.halflife,
                                  "kappa": config.kappa, "revisit": config.revisit},
                         seed=config.seed)
    root = None if state_dir is None else Path(state_dir)
    resumed = None if root is None else load_latest(root, data.shape)
    if resumed is not None:
        state, store_mask, policy_dir = resumed
        if state["config"] != config.to_dict():
            raise CityfocusError(f"{root} holds a replay with another configuration; use "
                                 "another --state directory or delete it")
        policy.load(policy_dir)
        rng = np.random.default_rng()
        rng.bit_generator.state = state["rng"]
    else:
        store_mask = data.mask.copy()
        store_mask[start:] = False
        rng = np.random.default_rng(config.seed)
        started = time.perf_counter()
        policy.fit(data.replace(mask=store_mask), start)
        state = {"config": config.to_dict(), "step": 0, "records": [],
                 "last_seen": [-1] * data.shape[1],
                 "initial_fit_seconds": time.perf_counter() - started}
    last_seen = np.asarray(state["last_seen"], dtype=np.int64)
    k_idx = data.target_index
    stop = config.steps if stop_after is None else min(stop_after, config.steps)
    while state["step"] < stop:
        if progress is not None:
            progress(state["step"], stop)
        k = state["step"]
        at = start + k * H
        store = data.replace(mask=store_mask)
        retrain_seconds = 0.0
        retrained = k > 0 and config.retrain_every > 0 and k % config.retrain_every == 0
        if retrained:
            began = time.perf_counter()
            policy.fit(store, at, warm_start=True)
            retrain_seconds = time.perf_counter() - began
        w = np.asarray(policy.allocate(store, at), dtype=np.float64)
        _call(hook, "allocated")
        observed = reveal(config.observe, w, _resolved(config.observe_alpha, "observe_alpha"),
                          data.mask[at:at + H], rng)
        store_mask[at:at + H] = observed
        last_seen[observed[:, :, k_idx].any(0)] = k
        _call(hook, "observed")
        demand = source.demand[at:at + H].sum(0)
        gain = float(task.gain(w[None], demand[None])[0])
        best = float(task.oracle_gain(demand[None])[0])
        unseen = k - last_seen
        state["records"].append({
            "step": k, "time": str(data.timestamps[at]), "realized": gain, "oracle": best,
            "regret": best - gain, "unseen_share": float((unseen > config.unseen_limit).mean()),
            "max_unseen": int(unseen.max()),
            "max_unseen_rising": int(unseen[source.rising].max()) if source.rising.any() else None,
            "observed_share": float(observed[:, :, k_idx].mean()),
            "retrained": retrained, "retrain_seconds": retrain_seconds,
            "allocation": w.tolist(),
        })
        state.update(step=k + 1, last_seen=last_seen.tolist(), rng=rng.bit_generator.state)
        if root is not None:
            save_step(root, k + 1, state, store_mask, policy.save, hook)
    if progress is not None:
        progress(state["step"], stop)
    return replay_result(state, source)


def _call(hook: Hook | None, phase: str) -> None:
    if hook is not None:
        hook(phase)


def replay_result(state: dict[str, Any], source: ReplaySource) -> dict[str, Any]:
    """The replay's records with cumulative figures and a summary."""
    records = state["records"]
    realized = np.cumsum([r["realized"] for r in records])
    oracle = np.cumsum([r["oracle"] for r in records])
    config = state["config"]
    rising = [int(i) for i in np.flatnonzero(source.rising)]
    longest_rising = [r["max_unseen_rising"] for r in records if r["max_unseen_rising"] is not None]
    retrains = [r["retrain_seconds"] for r in records if r["retrained"]]
    summary = {
        "decisions": len(records),
        "cumulative_realized": float(realized[-1]) if records else 0.0,
        "cumulative_oracle": float(oracle[-1]) if records else 0.0,
        "cumulative_regret": float(oracle[-1] - realized[-1]) if records else 0.0,
        "normalized_regret": float((oracle[-1] - realized[-1]) / max(abs(oracle[-1]), 1e-12))
        if records else 0.0,
        "mean_unseen_share": float(np.mean([r["unseen_share"] for r in records]))
        if records else 0.0,
        "final_unseen_share": records[-1]["unseen_share"] if records else 0.0,
        "rising_zones": rising,
        "longest_unseen_rising": max(longest_rising) if longest_rising else None,
        "rising_within_limit": (max(longest_rising) <= config["unseen_limit"])
        if longest_rising else None,
        "initial_fit_seconds": state["initial_fit_seconds"],
        "retrains": len(retrains),
        "retrain_seconds_total": float(np.sum(retrains)) if retrains else 0.0,
        "retrain_seconds_mean": float(np.mean(retrains)) if retrains else 0.0,
    }
    curve = [{"step": r["step"], "time": r["time"], "cumulative_realized": float(a),
              "cumulative_regret": float(b - a)}
             for r, a, b in zip(records, realized, oracle, strict=True)]
    return {"config": config, "summary": summary, "curve": curve, "records": records}

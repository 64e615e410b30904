"""Policies: how a model becomes allocations, for a set of windows or one decision at a time.

For a set of windows (the benchmarks): ``decide_windows(model, windows, task)`` gives
``[S, N]`` allocations. Forecasters (baselines, ``forecast`` and ``decide`` modes) forecast
demand (``forecast_demand``: the forecast summed over the horizon, floored at 0) and the
task's exact solver allocates it; an ``imitate``-mode network outputs its shares directly,
which are rounded to whole units (largest remainder) when the task counts units.

One decision at a time from the store of what was observed so far (the replay loop):

- ``uniform``: an even split of the budget (no model);
- ``proportional``: shares proportional to the historical-average forecast;
- ``forecast``: forecast-then-solve, the greedy policy (the model's forecast demand, then the
  task's exact solver);
- ``decide``: the same, with a neural model trained in ``decide`` mode (regret through the
  solver);
- ``explore``: forecast-then-solve on a per-zone Gamma–Poisson posterior of demand that
  follows the model's forecast where the zone was observed lately and falls back to the
  zone's long-run level (with a drift spread) where it was not (``learn/posterior.py``);
  optionally on a Thompson draw from it (``beta > 0``); plus revisits that keep every zone
  unseen for at most ``revisit`` decisions (``learn/revisit.py``).

Every policy is fitted on the store up to the decision (``fit``), may be refitted later
(warm start for neural models), and saves/loads its learned state for resuming a replay.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from cityfocus.allocate.rules import proportional, round_units, uniform
from cityfocus.allocate.task import DecisionTask
from cityfocus.data.citydata import CityData
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError
from cityfocus.learn.modes import imitation_shares
from cityfocus.learn.posterior import RatePosterior, zone_posterior
from cityfocus.learn.registry import NEURAL, load_forecaster, make_forecaster
from cityfocus.learn.revisit import revisit_zones, unseen_age
from cityfocus.models.neural import NeuralForecaster
from cityfocus.models.registry import Forecaster

POLICIES = ("uniform", "proportional", "forecast", "decide", "explore")


def horizon_demand(forecast: np.ndarray) -> np.ndarray:
    """``[..., N]`` demand of a forecast ``[..., H, N]``: summed over the horizon, each step
    floored at 0 (in the forecast's own dtype)."""
    return np.clip(forecast, 0.0, None).sum(axis=-2)


def forecast_demand(model: Forecaster, windows: Windows) -> np.ndarray:
    """``[S, N]`` forecast demand of every window (``horizon_demand`` of the forecasts)."""
    return horizon_demand(model.predict_windows(windows))


def decide_windows(model: Forecaster, windows: Windows, task: DecisionTask) -> np.ndarray:
    """``[S, N]`` allocations of ``task`` made by ``model`` for every window."""
    if isinstance(model, NeuralForecaster) and model.mode == "imitate":
        shares = imitation_shares(model.network_outputs(windows), task.budget).numpy()
        return round_units(shares, int(task.budget)) if task.units else shares.astype(np.float64)
    return task.decide(forecast_demand(model, windows))


class Policy:
    """Base: a policy allocates ``task`` for the ``horizon`` data steps starting at ``at``.

    Args:
        task: the allocation made at every decision.
        horizon: data steps per decision (demand = the target summed over them).
        model: forecaster name (``cityfocus.models.registry``) for model-based policies.
        model_params: its hyperparameters (lookback, epochs, ...).
        train_window: fit on at most the last this many data steps of the store (None: all).
    """

    uses_model = False

    def __init__(self, task: DecisionTask, horizon: int, model: str = "historical_average",
                 model_params: dict[str, Any] | None = None,
                 train_window: int | None = None) -> None:
        self.task, self.horizon = task, horizon
        self.model_name, self.model_params = model, dict(model_params or {})
        self.train_window = train_window
        self.model_: Forecaster | None = None

    # -- learning ------------------------------------------------------------------------
    def fit(self, store: CityData, at: int, warm_start: bool = False) -> None:
        """Fit on the store's steps before ``at`` (the last ``train_window`` of them)."""
        if not self.uses_model:
            return
        first = 0 if self.train_window is None else max(at - self.train_window, 0)
        part = store.slice_time(first, at)
        if self.model_ is None:
            self.model_ = self._build_model()
        if isinstance(self.model_, NeuralForecaster):
            # early stopping on the last tenth, at least one decision's worth of targets
            steps = part.shape[0]
            cut = steps - max(steps // 10, self.horizon)
            self.model_.fit(part.slice_time(0, cut), part.slice_time(cut, steps),
                            warm_start=warm_start)
        else:
            self.model_.fit(part)

    def _build_model(self) -> Forecaster:
        params = dict(self.model_params)
        lookback = int(params.pop("lookback", 0))
        if self.model_name in NEURAL:
            params.setdefault("progress", False)
        return make_forecaster(self.model_name, lookback, self.horizon, **params)

    def forecast_demand(self, store: CityData, at: int) -> np.ndarray:
        """``[N]`` forecast demand for the decision at ``at`` (floored at 0)."""
        if self.model_ is None:
            raise CityfocusError(f"policy {type(self).__name__} is not fitted")
        mean = self.model_.predict(store, at=at).mean
        return horizon_demand(np.asarray(mean, dtype=np.float64))

    # -- deciding ------------------------------------------------------------------------
    def allocate(self, store: CityData, at: int) -> np.ndarray:
        """``[N]`` allocation for the decision at data step ``at``."""
        raise NotImplementedError

    # -- state ---------------------------------------------------------------------------
    def save(self, directory: Path) -> None:
        """Write the learned state into ``directory`` (which exists)."""
        if self.model_ is None:
            return
        if isinstance(self.model_, NeuralForecaster):
            self.model_.save(directory / "model.pt")
        else:
            (directory / "model.pkl").write_bytes(pickle.dumps(self.model_))

    def load(self, directory: Path) -> None:
        """Restore the state written by ``save``."""
        if (directory / "model.pt").exists():
            self.model_ = load_forecaster(directory / "model.pt", device="cpu")
            self.model_.progress = False
        elif (directory / "model.pkl").exists():
            self.model_ = pickle.loads((directory / "model.pkl").read_bytes())


class UniformPolicy(Policy):
    def allocate(self, store: CityData, at: int) -> np.ndarray:
        return uniform((store.shape[1],), self.task.budget, self.task.units)


class ProportionalPolicy(Policy):
    """Shares proportional to the historical average of the observed target."""

    uses_model = True

    def __init__(self, task: DecisionTask, horizon: int, **kwargs: Any) -> None:
        kwargs.update(model="historical_average", model_params={})
        super().__init__(task, horizon, **kwargs)

    def allocate(self, store: CityData, at: int) -> np.ndarray:
        demand = self.forecast_demand(store, at)
        return proportional(demand, self.task.budget, self.task.units)


class ForecastPolicy(Policy):
    """Forecast-then-solve (greedy: no regard for what it does not see)."""

    uses_model = True

    def allocate(self, store: CityData, at: int) -> np.ndarray:
        return self.task.decide(self.forecast_demand(store, at)[None])[0]


class DecidePolicy(ForecastPolicy):
    """Forecast-then-solve with a neural model trained in ``decide`` mode."""

    def __init__(self, task: DecisionTask, horizon: int, **kwargs: Any) -> None:
        super().__init__(task, horizon, **kwargs)
        if self.model_name not in NEURAL:
            raise CityfocusError(f"policy 'decide' needs a neural model ({', '.join(NEURAL)}), "
                                 f"not {self.model_name!r}")
        self.model_params.update(mode="decide", task=task.to_config())


class ExplorePolicy(ForecastPolicy):
    """Forecast-then-solve on a posterior draw of each zone's demand, plus revisits.

    The posterior (``cityfocus.learn.posterior``) is a per-zone Gamma centred on the model's
    forecast where the zone was observed lately and on its long-run level where it was not.
    Each decision solves the task on one draw from it with its spread scaled by ``beta``
    (Thompson sampling at ``beta = 1``; ``beta = 0`` solves on the posterior mean, which
    still differs from greedy: a zone unseen lately counts at its long-run level, not at
    what a forecaster fitted without its readings says). Then zones not attended and due
    for a revisit (``cityfocus.learn.revisit``: unseen for up to ``revisit`` decisions, as
    late as possible, earliest deadline first) get one unit each and the rest of the budget
    is solved again on the same demand.

    Args:
        beta: randomisation, the posterior's standard deviation multiplier of the draw.
        halflife: half-life of recent evidence, in decisions.
        kappa: drift shape of the long-run level (larger: less exploration of stale zones).
        revisit: D, attend every zone at least once every D decisions (0: no revisits).
        seed: draws use ``default_rng([seed, at])``, so they depend only on the decision
            (a resumed replay draws the same).
    """

    def __init__(self, task: DecisionTask, horizon: int, beta: float = 0.0,
                 halflife: float = 3.0, kappa: float = 4.0, revisit: int = 0, seed: int = 0,
                 **kwargs: Any) -> None:
        super().__init__(task, horizon, **kwargs)
        if beta < 0 or halflife <= 0 or kappa <= 0 or revisit < 0:
            raise CityfocusError("explore needs beta >= 0, halflife > 0, kappa > 0 and "
                                 "revisit >= 0")
        self.beta, self.halflife, self.kappa = beta, halflife, kappa
        self.revisit, self.seed = revisit, seed

    def posterior(self, store: CityData, at: int) -> RatePosterior:
        """The zones' demand posterior for the decision at ``at``."""
        return zone_posterior(store, at, self.horizon, self.forecast_demand(store, at),
                              self.halflife, self.kappa, self.train_window)

    def explored_demand(self, store: CityData, at: int) -> np.ndarray:
        """``[N]`` the demand the task is solved on: a draw with spread scaled by ``beta``."""
        post = self.posterior(store, at)
        if self.beta == 0:
            return post.mean()
        return post.widened(self.beta).sample(np.random.default_rng([self.seed, at]))

    def allocate(self, store: CityData, at: int) -> np.ndarray:
        demand = self.explored_demand(store, at)
        w = self.task.decide(demand[None])[0]
        if not self.revisit:
            return w
        one = 1.0 if self.task.units else self.task.budget / len(w)
        age = unseen_age(store.target_mask, at, self.horizon)
        # zones attended anyway that must be seen now keep their unit when the rest moves
        overdue = (w > 0) & (age > self.revisit)
        capacity = int(self.task.budget // one) - int(overdue.sum())
        due = revisit_zones(age, self.revisit, w == 0, capacity)
        if not due.any():
            return w
        keep = due | overdue
        return replace(self.task, lower=np.where(keep, one, self.task.lower)).decide(
            demand[None])[0]


def make_policy(name: str, task: DecisionTask, horizon: int, *, model: str,
                model_params: dict[str, Any], train_window: int | None,
                explore: dict[str, Any] | None = None, seed: int = 0) -> Policy:
    """Build policy ``name`` (one of ``POLICIES``); ``explore`` holds ``ExplorePolicy``'s
    settings; ``seed`` seeds a neural model unless ``model_params`` sets its own, and the
    exploring policy's draws."""
    if model in NEURAL:
        model_params = {"seed": seed, **model_params}
    common: dict[str, Any] = {"model": model, "model_params": model_params,
                              "train_window": train_window}
    if name == "uniform":
        return UniformPolicy(task, horizon)
    if name == "proportional":
        return ProportionalPolicy(task, horizon, train_window=train_window)
    if name == "forecast":
        return ForecastPolicy(task, horizon, **common)
    if name == "decide":
        return DecidePolicy(task, horizon, **common)
    if name == "explore":
        return ExplorePolicy(task, horizon, seed=seed, **(explore or {}), **common)
    raise CityfocusError(f"unknown policy {name!r}; use one of {', '.join(POLICIES)}")

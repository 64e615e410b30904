"""Replay policies: how an allocation is chosen from the store of what was observed so far.

- ``uniform``: an even split of the budget (no model);
- ``proportional``: shares proportional to the historical-average forecast;
- ``forecast``: forecast-then-solve, the greedy policy (the model's forecast demand, then the
  task's exact solver);
- ``decide``: the same, with a neural model trained in ``decide`` mode (regret through the
  solver);
- ``explore``: ``forecast`` plus an upper-confidence bonus for zones rarely observed
  lately (discounted UCB, Garivier & Moulines 2011):
  ``bonus_i = beta * s * sqrt(log(1 + n) / (1 + n_i))``, where ``n_i`` is zone i's
  exponentially discounted count of observed target readings (half-life ``halflife``
  decisions), ``n`` the same count for a zone observed at every step, and ``s`` the mean
  forecast demand per zone (so the bonus is in demand units). The bonus is added to the
  forecast demand before solving.

Every policy is fitted on the store up to the decision (``fit``), may be refitted later
(warm start for neural models), and saves/loads its learned state for resuming a replay.
"""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

import numpy as np

from cityfocus.allocate.rules import proportional, uniform
from cityfocus.data.citydata import CityData
from cityfocus.errors import CityfocusError
from cityfocus.learn.decision import DecisionTask
from cityfocus.models.neural import NeuralForecaster
from cityfocus.models.registry import NEURAL, load_forecaster, make_forecaster

POLICIES = ("uniform", "proportional", "forecast", "decide", "explore")


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
        self.model_: Any = None

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

    def _build_model(self):
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
        return np.clip(np.asarray(mean, dtype=np.float64), 0.0, None).sum(axis=0)

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
    """Forecast-then-solve with a discounted-UCB bonus for rarely observed zones.

    Args:
        beta: weight of the bonus (0 gives the greedy ``forecast`` policy).
        halflife: half-life of the observation counts, in decisions.
    """

    def __init__(self, task: DecisionTask, horizon: int, beta: float = 2.0,
                 halflife: float = 2.0, **kwargs: Any) -> None:
        super().__init__(task, horizon, **kwargs)
        self.beta, self.halflife = beta, halflife

    def bonus(self, store: CityData, at: int, demand: np.ndarray) -> np.ndarray:
        """``[N]`` exploration bonus from the store's target mask before ``at``."""
        seen = store.target_mask[:at].astype(np.float64)  # [t, N]
        gamma = 0.5 ** (1.0 / (self.halflife * self.horizon))  # per data step
        weights = gamma ** np.arange(at - 1, -1, -1, dtype=np.float64)
        counts = weights @ seen
        total = weights.sum()
        scale = float(demand.mean()) if demand.mean() > 0 else 1.0
        return self.beta * scale * np.sqrt(np.log1p(total) / (1.0 + counts))

    def allocate(self, store: CityData, at: int) -> np.ndarray:
        demand = self.forecast_demand(store, at)
        return self.task.decide((demand + self.bonus(store, at, demand))[None])[0]


def make_policy(name: str, task: DecisionTask, horizon: int, *, model: str,
                model_params: dict[str, Any], train_window: int | None, beta: float,
                halflife: float, seed: int = 0) -> Policy:
    """Build policy ``name`` (one of ``POLICIES``); ``seed`` seeds a neural model unless
    ``model_params`` sets its own."""
    if model in NEURAL:
        model_params = {"seed": seed, **model_params}
    common = {"model": model, "model_params": model_params, "train_window": train_window}
    if name == "uniform":
        return UniformPolicy(task, horizon)
    if name == "proportional":
        return ProportionalPolicy(task, horizon, train_window=train_window)
    if name == "forecast":
        return ForecastPolicy(task, horizon, **common)
    if name == "decide":
        return DecidePolicy(task, horizon, **common)
    if name == "explore":
        return ExplorePolicy(task, horizon, beta=beta, halflife=halflife, **common)
    raise CityfocusError(f"unknown policy {name!r}; use one of {', '.join(POLICIES)}")

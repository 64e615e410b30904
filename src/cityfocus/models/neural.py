"""NeuralForecaster: the forecaster contract for every torch model.

A subclass only says how to build its network (``build_network``). Fitting scales inputs
with statistics of the training part, gives the network its starting point, then runs the
training phases of its training plan through the one loop in ``cityfocus.training``. The
default plan (``forecast_plan``) trains the forecast objective (masked loss on the scaled
target, early stopping on the same loss over the validation windows in original units);
the decision modes' plan is passed in by ``cityfocus.learn``, which this layer never
imports. A fitted model keeps everything needed to predict a new sample in a
self-describing checkpoint: the class and its hyperparameters, the scaler, the weights and
the data schema.

Networks take a dict of tensors (see ``WindowTensors.inputs``) and return ``[B, H, N]``
scaled target forecasts; with ``return_attention=True`` also a dict of attention maps.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import numpy as np
import pandas as pd
import torch

from cityfocus.allocate.task import DecisionTask
from cityfocus.data.citydata import CityData
from cityfocus.data.scaling import Scaler, StandardScaler, scaler_from_config
from cityfocus.data.windows import Windows, steps_per_day
from cityfocus.errors import CityfocusError, DataError
from cityfocus.models.forecast import Forecast, forecast_start, forecast_times
from cityfocus.outputs import atomic_file
from cityfocus.seeding import seed_everything
from cityfocus.training.objectives import FitWindows, Phase, forecast_objective
from cityfocus.training.robustness import Robustness
from cityfocus.training.tensors import WindowTensors, chunks
from cityfocus.training.trainer import TrainConfig, TrainResult, train_network

CHECKPOINT_FORMAT = "cityfocus-forecaster/1"

#: ``plan(model, fit, config)``: the training phases of a fit (see ``forecast_plan``)
TrainingPlan = Callable[["NeuralForecaster", FitWindows, TrainConfig], list[Phase]]

__all__ = ["CHECKPOINT_FORMAT", "NeuralForecaster", "TrainingPlan",
           "fit_linear_part", "forecast_plan", "resolve_device", "seasonal_profile"]


@runtime_checkable
class LinearStart(Protocol):
    """A network whose output is ``head + linear part`` and that, when ``linear_start``,
    starts from its linear part's least-squares fit (``fit_linear_part``)."""

    linear_start: bool

    def linear_terms(self, inputs: dict[str, torch.Tensor]) -> torch.Tensor: ...

    def set_linear(self, coef: torch.Tensor) -> None: ...


@runtime_checkable
class SeasonalStart(Protocol):
    """A network that reads each zone's seasonal profile (``seasonal_profile``)."""

    def set_profile(self, profile: torch.Tensor) -> None: ...


def resolve_device(device: str) -> torch.device:
    """``"auto"`` is CUDA when present, else CPU."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def seasonal_profile(tensors: WindowTensors, stop: int, slots_per_day: int,
                     weekly: bool, min_count: int = 8) -> torch.Tensor:
    """``[7 or 1, slots_per_day, N]``: each zone's mean scaled target by (weekday, slot of
    day) over steps ``[0, stop)`` (by slot alone when ``weekly`` is False).

    A mean over fewer than ``min_count`` readings falls back to the zone's slot mean, and
    that to the zone's mean: a profile cell built from a handful of training readings is
    mostly those readings, and a network trained on them would learn to trust it too much.
    """
    y = tensors.y[:stop].double()
    m = tensors.y_mask[:stop].double()
    slot, day = tensors.time[:stop, 0], tensors.time[:stop, 1]

    def means(cells: torch.Tensor, size: int, fallback: torch.Tensor) -> torch.Tensor:
        total = torch.zeros(size, y.shape[1], dtype=torch.float64, device=y.device)
        count = torch.zeros_like(total)
        total.index_add_(0, cells, y * m)
        count.index_add_(0, cells, m)
        return torch.where(count >= min_count, total / count.clamp_min(1.0), fallback)

    zone_mean = (y * m).sum(0) / m.sum(0).clamp_min(1.0)
    by_slot = means(slot, slots_per_day, zone_mean.expand(slots_per_day, -1))
    if not weekly:
        return by_slot[None].float()
    profile = means(day * slots_per_day + slot, 7 * slots_per_day, by_slot.repeat(7, 1))
    return profile.view(7, slots_per_day, -1).float()


def fit_linear_part(network: LinearStart, tensors: WindowTensors, starts: np.ndarray,
                    ridge: float = 1e-3) -> None:
    """Set a network's linear part to the least-squares fit of the scaled target over the
    training windows ``starts`` (missing targets do not count).

    The network names its linear regressors with ``linear_terms(inputs) -> [B, H, N, K]``
    and takes ``[H, K + 1]`` coefficients (last: intercept) with ``set_linear``. A network
    whose output is ``head + linear part`` with a zero-initialised head then starts as the
    best linear forecaster of its training data, and training learns what attention adds.
    ``ridge`` (times the mean diagonal) keeps the solve stable for collinear regressors.
    """
    gram: torch.Tensor | None = None
    moment: torch.Tensor | None = None
    for chunk in chunks(starts):
        terms = network.linear_terms(tensors.inputs(chunk)).double()  # [B, H, N, K]
        design = torch.cat([terms, torch.ones_like(terms[..., :1])], -1)
        y, m = tensors.targets(chunk)
        w = m.double()[..., None]
        g = torch.einsum("bhni,bhnj->hij", design * w, design)
        b = torch.einsum("bhni,bhn->hi", design * w, y.double())
        gram, moment = (g, b) if gram is None or moment is None else (gram + g, moment + b)
    if gram is None or moment is None:
        raise ValueError("fit_linear_part needs at least one training window")
    eye = torch.eye(gram.shape[-1], dtype=torch.float64, device=gram.device)
    scale = gram.diagonal(dim1=1, dim2=2).mean(1).clamp_min(1e-12)[:, None, None]
    network.set_linear(torch.linalg.solve(gram + ridge * scale * eye, moment).float())


class NeuralForecaster:
    """Base of the torch forecasters (subclasses define ``build_network`` and ``name``).

    Args:
        lookback: L, input steps.
        horizon: H, output steps.
        epochs, batch_size, lr, weight_decay, clip_norm, patience: see ``TrainConfig``.
        loss: ``"mse"`` or ``"mae"`` (masked, on the scaled target), or ``"poisson"``: the
            Poisson likelihood of a count target, the output a rate kept positive by a
            softplus (forecast mode only).
        mode: ``"forecast"``, ``"imitate"`` or ``"decide"`` (see ``cityfocus.learn.modes``):
            what the weights are trained for. This class trains ``forecast`` itself; the
            decision modes need the plan of ``cityfocus.learn`` (``training_plan``). The
            mode, task, mix, pretrain and finetune_lr are recorded in the checkpoint.
        task: the decision (``DecisionTask`` config: family, budget, units, bounds,
            family parameters) that ``imitate`` and ``decide`` train for.
        mix: weight of the forecast loss added to the regret in ``decide`` mode.
        pretrain: in ``decide`` mode, first train with the forecast loss, then fine-tune on
            the regret at ``finetune_lr`` times the learning rate, keeping the pretrained
            weights unless a fine-tuning epoch lowers the validation regret.
        finetune_lr: learning-rate factor of the decide fine-tuning phase.
        training_plan: the training phases of a fit, ``plan(model, fit, config)`` (default
            ``forecast_plan``; ``cityfocus.learn.modes.decision_plan`` for every mode). Not
            saved in checkpoints: the loader passes it again.
        per_zone_scaling: z-score each zone's features separately.
        input_dropout: share of observed input readings masked at random in each training
            batch (0: none), so the model learns to forecast from what is observed.
        adversarial: FGSM adversarial training bound, in the target's units per input
            reading (e.g. 5 mph; 0: none): each batch also trains on its worst-case move.
        seed: seeds weights and batch order.
        device: ``"auto"`` (CUDA when present), ``"cpu"`` or ``"cuda"``.
        max_minutes: wall-time budget for training (None: none).
        log_dir: TensorBoard event files (None: none).
        progress: show a progress bar while training.
    """

    name = "neural"
    uses_graph = False  # whether the network reads the road/zone graph it was fit with
    #: forecast mode weighs each horizon step by persistence's error
    #: (``training.objectives``)
    weigh_steps = True
    scaler_: Scaler  # learned state, set by fit or from_checkpoint

    def __init__(self, lookback: int = 12, horizon: int = 3, *, epochs: int = 100,
                 batch_size: int = 32, lr: float = 1e-3, weight_decay: float = 1e-4,
                 clip_norm: float | None = 5.0, patience: int | None = 10, loss: str = "mse",
                 mode: str = "forecast", task: dict[str, Any] | None = None, mix: float = 0.1,
                 pretrain: bool = True, finetune_lr: float = 0.3,
                 per_zone_scaling: bool = False, input_dropout: float = 0.0,
                 adversarial: float = 0.0, seed: int = 0, device: str = "auto",
                 max_minutes: float | None = None, log_dir: str | None = None,
                 progress: bool = True, training_plan: TrainingPlan | None = None) -> None:
        self.lookback, self.horizon = lookback, horizon
        self.epochs, self.batch_size, self.lr = epochs, batch_size, lr
        self.weight_decay, self.clip_norm, self.patience = weight_decay, clip_norm, patience
        self.loss, self.per_zone_scaling, self.seed = loss, per_zone_scaling, seed
        self.input_dropout, self.adversarial = input_dropout, adversarial
        self.mode, self.mix = mode, mix
        self.pretrain, self.finetune_lr = pretrain, finetune_lr
        self.task = None if task is None else DecisionTask.from_config(task).to_config()
        self.device, self.max_minutes, self.log_dir = device, max_minutes, log_dir
        self.progress, self.training_plan = progress, training_plan

    # -- hyperparameters -----------------------------------------------------------------
    def get_params(self) -> dict[str, Any]:
        """Constructor arguments of this instance (scikit-learn style)."""
        names = set()
        plain = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
        for cls in type(self).__mro__[:-1]:  # not object
            if "__init__" in cls.__dict__:
                init = cls.__dict__["__init__"]
                names |= {name for name, p in inspect.signature(init).parameters.items()
                          if name != "self" and p.kind in plain}
        return {name: getattr(self, name) for name in sorted(names)}

    def build_network(self, schema: dict[str, Any]) -> torch.nn.Module:
        raise NotImplementedError

    # -- fit -----------------------------------------------------------------------------
    def fit(self, train: CityData, val: CityData | None = None, *,
            warm_start: bool = False) -> NeuralForecaster:
        """Train on windows of ``train``; early-stop on windows whose targets lie in ``val``
        (its inputs may reach back into ``train``). Without ``val`` the last 10 % of
        ``train`` validates.

        ``warm_start=True`` fine-tunes: when the model is already fitted on data of the same
        schema (zones, features, target, frequency), the network's weights and the scaler
        are kept and training continues from them; otherwise it trains from scratch."""
        task = None if self.task is None else DecisionTask.from_config(self.task)
        if task is not None:
            task.check(train.shape[1])
        if self.loss == "poisson" and self.mode != "forecast":
            raise CityfocusError(f"loss 'poisson' trains forecasts only; {self.name} is set "
                                 f"to mode {self.mode!r} (use mse or mae there)")
        seed_everything(self.seed)
        device = resolve_device(self.device)
        whole, val_start = _join_for_validation(train, val)
        fit_part = whole.slice_time(0, val_start)
        if not fit_part.target_mask.any():
            raise DataError("every target reading in the training split is missing",
                            source=train.name)
        keep = warm_start and self._same_schema(train)
        if not keep:
            self.scaler_ = StandardScaler(per_zone=self.per_zone_scaling).fit(fit_part)
            self.schema_ = _schema(train)
            self.schema_["weekly"] = bool(fit_part.timestamps[-1] - fit_part.timestamps[0]
                                          >= pd.Timedelta(days=14))
            self.schema_["adjacency"] = (None if train.adjacency is None
                                         else train.adjacency.tolist())
        train_windows = Windows(whole, self.lookback, self.horizon, target_stop=val_start)
        val_windows = Windows(whole, self.lookback, self.horizon, target_start=val_start)
        tensors = WindowTensors(whole, self.scaler_, self.lookback, self.horizon, device)
        if not keep:
            self.network_ = network = self.build_network(self.schema_)
            if isinstance(network, LinearStart) and network.linear_start:
                network.to(device)
                if isinstance(network, SeasonalStart):
                    network.set_profile(seasonal_profile(
                        tensors, val_start, self.schema_["slots_per_day"],
                        self.schema_["weekly"]))
                fit_linear_part(network, tensors, train_windows.starts)
        self.network_ = self.network_.to(device)
        fit = FitWindows(tensors, train_windows.starts, val_windows.starts,
                         lambda pred: self._unscale(pred, device), keep,
                         self._robustness(device))
        config = TrainConfig(
            epochs=self.epochs, batch_size=self.batch_size, lr=self.lr,
            weight_decay=self.weight_decay, clip_norm=self.clip_norm, patience=self.patience,
            seed=self.seed, log_dir=self.log_dir, max_minutes=self.max_minutes,
            progress=self.progress,
        )
        self.pretrain_result_: TrainResult | None = None
        for phase in (self.training_plan or forecast_plan)(self, fit, config):
            built = phase.objective()
            result = train_network(self.network_, built.n_samples, built.step_loss,
                                   built.val_metric, phase.config, f"{self.name} ({phase.mode})")
            if phase.mode != self.mode:
                self.pretrain_result_ = result
        self.train_result_: TrainResult = result
        self.network_.eval()
        return self

    # -- predict -------------------------------------------------------------------------
    def predict(self, data: CityData, at: int | None = None) -> Forecast:
        """Forecast steps ``at .. at+H-1`` from the L steps before ``at`` (default: the end)."""
        self._check_forecaster()
        self.check_schema(data)
        at = forecast_start(data, at, self.lookback)
        window = data.slice_time(at - self.lookback, at)
        device = self._device()
        tensors = WindowTensors(_pad_future(window, self.horizon), self.scaler_, self.lookback,
                                self.horizon, device)
        with torch.no_grad():
            pred, attention = self.network_(tensors.inputs(np.array([0])), return_attention=True)
        mean = self._unscale(pred, device)[0].cpu().numpy()
        times = forecast_times(data, at, self.horizon)
        maps = None if attention is None else {k: [a[0].cpu().numpy() for a in v]
                                               for k, v in attention.items()}
        return Forecast(mean, times, list(data.zones["id"]), data.timestamps[at - 1], maps)

    def predict_windows(self, windows: Windows) -> np.ndarray:
        """``[S, H, N]`` forecasts (original units) for every window of ``windows``."""
        self._check_forecaster()
        return self._unscale(self.network_outputs(windows), torch.device("cpu")).numpy()

    def network_outputs(self, windows: Windows) -> torch.Tensor:
        """``[S, H, N]`` raw (scaled) network outputs on CPU for every window."""
        self._check_fitted()
        self.check_schema(windows.data)
        if (windows.lookback, windows.horizon) != (self.lookback, self.horizon):
            raise CityfocusError(
                f"windows are L={windows.lookback}, H={windows.horizon}; this model was "
                f"trained for L={self.lookback}, H={self.horizon}")
        device = self._device()
        tensors = WindowTensors(windows.data, self.scaler_, self.lookback, self.horizon, device)
        out = []
        with torch.no_grad():
            for chunk in chunks(windows.starts):
                out.append(self.network_(tensors.inputs(chunk)))
        return torch.cat(out).cpu()

    def _device(self) -> torch.device:
        """Where the network runs (the CPU for an exported network, which has no parameters)."""
        return next(self.network_.parameters(), torch.zeros(0)).device

    def _robustness(self, device: torch.device) -> Robustness:
        """The fit's robustness options, the adversarial bound in scaled units."""
        if not 0 <= self.input_dropout < 1:
            raise CityfocusError(f"input_dropout = {self.input_dropout} must lie in [0, 1)")
        if not (np.isfinite(self.adversarial) and self.adversarial >= 0):
            raise CityfocusError(f"adversarial = {self.adversarial} must be >= 0 and finite")
        k = self.schema_["target_index"]
        epsilon = None
        if self.adversarial > 0:
            _, std = self.scaler_.target_params(k)
            epsilon = torch.as_tensor(self.adversarial / np.asarray(std, dtype=np.float32),
                                      device=device)
        return Robustness(self.input_dropout, epsilon, k)

    def _unscale(self, pred: torch.Tensor, device: torch.device) -> torch.Tensor:
        mean, std = self.scaler_.target_params(self.schema_["target_index"])
        mean_t = torch.as_tensor(mean, dtype=pred.dtype, device=device)
        std_t = torch.as_tensor(std, dtype=pred.dtype, device=device)
        out = pred * std_t + mean_t
        # a count model's output is a Poisson rate: kept positive by a softplus link
        return torch.nn.functional.softplus(out) if self.loss == "poisson" else out

    # -- schema --------------------------------------------------------------------------
    def check_schema(self, data: CityData) -> None:
        """Refuse data whose zones, features, target or frequency differ from training."""
        expected, found = self.schema_, _schema(data)
        for key in ("zones", "features", "target", "freq"):
            if expected[key] != found[key]:
                want, got = expected[key], found[key]
                if key == "zones":
                    want, got = f"{len(want)} zones ({want[:3]}...)", f"{len(got)} ({got[:3]}...)"
                raise DataError(
                    f"data does not match the model: {key} {got} instead of {want}",
                    source=data.name, hint="predict with data of the schema the model was fit on",
                )

    def _same_schema(self, data: CityData) -> bool:
        """Fitted, on data with these zones, features, target and frequency."""
        if not hasattr(self, "network_"):
            return False
        found = _schema(data)
        return all(self.schema_[k] == found[k] for k in ("zones", "features", "target", "freq"))

    def _check_fitted(self) -> None:
        if not hasattr(self, "network_"):
            raise CityfocusError(f"{self.name} is not fitted: call fit() or load a checkpoint")

    def _check_forecaster(self) -> None:
        self._check_fitted()
        if self.mode == "imitate":
            raise CityfocusError(
                f"{self.name} was trained in imitate mode: it outputs allocations, not "
                "forecasts (use cityfocus.learn.policies.decide_windows)")

    # -- checkpoint ----------------------------------------------------------------------
    def save(self, path: str | Path) -> Path:
        """Write a self-describing checkpoint (config, scaler, weights, data schema)."""
        state = {"format": CHECKPOINT_FORMAT, **self.description(),
                 "state_dict": {k: v.cpu() for k, v in self.network_.state_dict().items()}}
        return atomic_file(path).write(lambda tmp: torch.save(state, tmp))

    def description(self) -> dict[str, Any]:
        """What a checkpoint holds besides the weights: the model's name and constructor
        parameters, the data schema, the scaler and the training summary."""
        self._check_fitted()
        params = {k: v for k, v in self.get_params().items()
                  if k not in ("device", "training_plan")}
        return {"model": self.name, "params": params, "schema": self.schema_,
                "scaler": self.scaler_.to_config(),
                "train": {"best_epoch": self.train_result_.best_epoch,
                          "best_val_mae": self.train_result_.best_val,
                          "seconds": self.train_result_.seconds}}

    @classmethod
    def described(cls, state: dict[str, Any], device: str = "auto",
                  training_plan: TrainingPlan | None = None) -> NeuralForecaster:
        """The model ``description()`` gave, without its network (the caller sets
        ``network_``)."""
        model = cls(**state["params"], device=device, training_plan=training_plan)
        model.schema_ = state["schema"]
        model.scaler_ = scaler_from_config(state["scaler"])
        train = state.get("train", {})
        model.train_result_ = TrainResult(train.get("best_epoch", -1),
                                          train.get("best_val_mae", float("nan")),
                                          train.get("seconds", float("nan")))
        return model

    @classmethod
    def from_checkpoint(cls, state: dict[str, Any], device: str = "auto",
                        training_plan: TrainingPlan | None = None) -> NeuralForecaster:
        """Rebuild a model from a checkpoint's contents (``training_plan`` as in the
        constructor: the plan a later ``fit`` trains with)."""
        model = cls.described(state, device, training_plan)
        net = model.build_network(model.schema_)
        net.load_state_dict(state["state_dict"])
        model.network_ = net.to(resolve_device(device)).eval()
        return model


def forecast_plan(model: NeuralForecaster, fit: FitWindows,
                  config: TrainConfig) -> list[Phase]:
    """The default training plan: one phase of the forecast objective. Refuses the decision
    modes, whose objectives the decision-learning layer composes."""
    if model.mode != "forecast":
        raise CityfocusError(
            f"{model.name} in mode {model.mode!r} trains for a decision: build it with "
            "cityfocus.learn.make_forecaster (or load it with cityfocus.learn.load_forecaster)")
    return [Phase("forecast", config,
                  lambda: forecast_objective(fit, model.loss, model.weigh_steps))]


def _schema(data: CityData) -> dict[str, Any]:
    return {
        "zones": list(map(str, data.zones["id"])), "features": list(data.features),
        "target": data.target, "target_index": data.target_index, "freq": str(data.freq),
        "n_zones": data.shape[1], "n_features": data.shape[2],
        "slots_per_day": steps_per_day(data.freq),
    }


def _join_for_validation(train: CityData, val: CityData | None) -> tuple[CityData, int]:
    """One dataset holding train then val, and the index where val starts."""
    T = train.shape[0]
    if val is None:
        val_start = int(T * 0.9)
        if val_start < 1:
            raise DataError("training data too short to hold out a validation part",
                            source=train.name)
        return train, val_start
    return train.append_time(val), T


def _pad_future(window: CityData, horizon: int) -> CityData:
    """Append ``horizon`` unobserved steps so the window's target times exist."""
    T, N, F = window.shape
    times = forecast_times(window, T, horizon)
    future = window.replace(values=np.zeros((horizon, N, F), np.float32), timestamps=times,
                            mask=np.zeros((horizon, N, F), bool))
    return window.append_time(future)

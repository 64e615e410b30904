"""Forecasters by name, so benchmarks and the CLI build any model the same way."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError, DataError
from cityfocus.models.baselines import HistoricalAverage, Persistence
from cityfocus.models.forecast import Forecast
from cityfocus.models.lstm import LSTMForecaster
from cityfocus.models.neural import CHECKPOINT_FORMAT, NeuralForecaster, TrainingPlan
from cityfocus.models.seed_mlp import SeedMLP
from cityfocus.models.st_transformer import STTransformer


class Forecaster(Protocol):
    """What every model offers (scikit-learn style; learned state ends in ``_``)."""

    lookback: int
    horizon: int

    def fit(self, train: CityData, val: CityData | None = None) -> Forecaster: ...

    def predict(self, data: CityData, at: int | None = None) -> Forecast: ...

    def predict_windows(self, windows: Windows) -> np.ndarray: ...


def _historical_average(lookback: int, horizon: int, **params: Any) -> Forecaster:
    return HistoricalAverage(horizon=horizon, **params)


def _persistence(lookback: int, horizon: int, **params: Any) -> Forecaster:
    return Persistence(horizon=horizon, **params)


def _neural(cls: type[NeuralForecaster]) -> Callable[..., Forecaster]:
    def build(lookback: int, horizon: int, **params: Any) -> Forecaster:
        return cls(lookback, horizon, **params)

    return build


MODELS: dict[str, Callable[..., Forecaster]] = {
    "historical_average": _historical_average,
    "persistence": _persistence,
    "seed_mlp": _neural(SeedMLP),
    "lstm": _neural(LSTMForecaster),
    "st_transformer": _neural(STTransformer),
}
NEURAL: dict[str, type[NeuralForecaster]] = {
    cls.name: cls for cls in (SeedMLP, LSTMForecaster, STTransformer)
}


def make_forecaster(name: str, lookback: int, horizon: int, **params: Any) -> Forecaster:
    """Build the forecaster ``name`` for windows of ``lookback`` inputs and ``horizon`` outputs."""
    if name not in MODELS:
        raise CityfocusError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    return MODELS[name](lookback, horizon, **params)


def load_forecaster(path: str | Path, device: str = "auto",
                    training_plan: TrainingPlan | None = None) -> NeuralForecaster:
    """Rebuild a forecaster saved with ``save(path)``, ready to predict (and to fit again
    with ``training_plan``, see ``NeuralForecaster``)."""
    import torch

    path = Path(path)
    if not path.is_file():
        raise DataError("checkpoint not found", source=path)
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as err:  # a corrupt or foreign file: say so in one line
        raise DataError(f"not a readable checkpoint ({type(err).__name__})", source=path) from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise DataError(f"not a cityfocus forecaster checkpoint (expected {CHECKPOINT_FORMAT})",
                        source=path)
    if state["model"] not in NEURAL:
        raise DataError(f"checkpoint of unknown model {state['model']!r}", source=path)
    return NEURAL[state["model"]].from_checkpoint(state, device=device,
                                                  training_plan=training_plan)

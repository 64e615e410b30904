"""The torch side of ``cityfocus serve``, run only in worker processes and in the
forecasting child (never imported by ``cityfocus.serve``, which stays torch-free):

- ``train``: the worker's ``Trainer`` — fit a forecaster (``cityfocus.learn.registry``) on a
  city's stored observations, reporting every epoch into the job row;
- ``python -m cityfocus.cli.serve_compute predict``: load a checkpoint and forecast the
  steps after the data (both pickled on stdin; the forecast pickled on stdout).
"""

from __future__ import annotations

import pickle
import sys
import tempfile
from pathlib import Path
from typing import Any

from cityfocus.data.citydata import CityData
from cityfocus.serve.jobs.training import DEFAULT_LOOKBACK, Report, Trained, train_average
from cityfocus.serve.models.checkpoint import inspect_checkpoint

KEEP_OUT = ("device", "training_plan", "progress", "log_dir")


def train(data: CityData, forecaster: str, params: dict[str, Any], report: Report) -> Trained:
    """Train ``forecaster`` with ``params`` (plus ``lookback``/``horizon``) on ``data``."""
    if forecaster == "historical_average":
        return train_average(data, params, report)
    from cityfocus.learn.registry import make_forecaster
    from cityfocus.models.neural import NeuralForecaster

    params = dict(params)
    lookback = int(params.pop("lookback", DEFAULT_LOOKBACK))
    horizon = int(params.pop("horizon", 24))
    for key in KEEP_OUT:
        params.pop(key, None)
    model = make_forecaster(forecaster, lookback, horizon, progress=False, device="cpu",
                            **params)
    assert isinstance(model, NeuralForecaster)
    model.training_plan = _reporting(model, report)
    model.fit(data)
    result = model.train_result_
    report(0.99, f"trained: best epoch {result.best_epoch}, best validation "
                 f"{result.best_val:.4f}, {result.seconds:.1f} s")
    with tempfile.TemporaryDirectory() as folder:
        blob = model.save(Path(folder) / "model.pt").read_bytes()
    inspect_checkpoint(blob)  # what the service will check on it
    kept = {k: v for k, v in model.get_params().items() if k not in KEEP_OUT}
    return Trained(blob, kept)


def _reporting(model: Any, report: Report) -> Any:
    """The model's training plan, with each epoch's validation reported (progress = epochs
    done / epochs planned over all phases)."""
    plan = model.training_plan

    def reporting_plan(net_model: Any, fit: Any, config: Any) -> Any:
        phases = plan(net_model, fit, config)
        total = max(sum(p.config.epochs for p in phases), 1)
        done = [0]

        def wrap(phase: Any) -> Any:
            def objective() -> Any:
                built = phase.objective()

                def val_metric(net: Any) -> float:
                    value = float(built.val_metric(net))
                    done[0] += 1
                    report(min(done[0] / total, 0.98),
                           f"{phase.mode}: validation {value:.4f} ({done[0]}/{total})")
                    return value

                return built._replace(val_metric=val_metric)

            return phase._replace(objective=objective)

        return [wrap(p) for p in phases]

    return reporting_plan


def predict_main() -> int:
    """The forecasting child: pickled ``{"checkpoint", "data"}`` in, a ``Forecast`` out."""
    from cityfocus.errors import CityfocusError
    from cityfocus.models.registry import load_forecaster

    request = pickle.loads(sys.stdin.buffer.read())  # noqa: S301 - from our own parent
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.pt"
        path.write_bytes(request["checkpoint"])
        try:
            model = load_forecaster(path, device="cpu")
            forecast = model.predict(request["data"])
        except CityfocusError as err:
            print(f"error: {err}", file=sys.stderr)
            return 2
    sys.stdout.buffer.write(pickle.dumps(forecast))
    return 0


if __name__ == "__main__":
    if sys.argv[1:] != ["predict"]:
        print("usage: python -m cityfocus.cli.serve_compute predict", file=sys.stderr)
        raise SystemExit(2)
    raise SystemExit(predict_main())

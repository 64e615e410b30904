"""``cityfocus train``, ``cityfocus predict`` and ``cityfocus export``: fit a forecaster,
forecast from a checkpoint or an ONNX export, export a checkpoint to ONNX."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from cityfocus.cli.app import (
    adjacency_option,
    app,
    force_option,
    inputs_of,
    load_data,
    target_option,
    zones_option,
)
from cityfocus.data.split import chronological_split
from cityfocus.data.time_index import step_at
from cityfocus.errors import CityfocusError
from cityfocus.outputs import OutputFile

if TYPE_CHECKING:
    from cityfocus.models.neural import NeuralForecaster

TRAINABLE = "seed_mlp, lstm or st_transformer"


@app.command("train")
def train(
    model: str = typer.Option("st_transformer", help=f"One of {TRAINABLE}."),
    data: str = typer.Option("synthetic", help="Dataset name or path."),
    zones: Path | None = zones_option(),
    adjacency: Path | None = adjacency_option(),
    target: str | None = target_option(),
    lookback: int = typer.Option(24, min=1, help="Input steps L."),
    horizon: int = typer.Option(3, min=1, help="Output steps H."),
    epochs: int = typer.Option(50, min=1),
    batch_size: int = typer.Option(32, min=1),
    lr: float = typer.Option(1e-3, min=0.0),
    train_share: float = typer.Option(0.7, help="Share of time steps for training."),
    val_share: float = typer.Option(0.1, help="Share for validation (early stopping)."),
    seed: int = typer.Option(0),
    mode: str = typer.Option("forecast", help="forecast, imitate or decide."),
    family: str = typer.Option("coverage", help="Utility family of the decision (imitate/decide)."),
    budget: float = typer.Option(10.0, help="Budget of the decision (imitate/decide)."),
    units: bool = typer.Option(True, help="Whole units at evaluation (imitate/decide)."),
    alpha: float = typer.Option(0.5, help="Family parameter alpha (imitate/decide)."),
    max_minutes: float | None = typer.Option(None, min=0.0, help="Stop training after this many "
                                      "minutes of wall time; the best epoch so far is kept."),
    log_dir: Path | None = typer.Option(None, help="Write TensorBoard events here."),
    out: Path = typer.Option(Path("model.pt"), help="Checkpoint to write."),
    force: bool = force_option(),
) -> None:
    """Train a model on the training part, early-stop on validation, save a checkpoint.

    ``--mode forecast`` fits demand; ``imitate`` and ``decide`` train for the decision
    (``--family``, ``--budget``, ``--units``, ``--alpha``) made from each forecast window
    (demand = the target summed over the horizon)."""
    from cityfocus.learn.registry import NEURAL, make_forecaster
    from cityfocus.models.neural import NeuralForecaster

    if model not in NEURAL:
        raise CityfocusError(f"unknown model {model!r}; trainable models: {', '.join(NEURAL)}")
    checkpoint = OutputFile(out, force=force, inputs=inputs_of(data, zones, adjacency),
                            suffixes=(".pt",))
    dataset = load_data(data, zones, adjacency, target)
    split = chronological_split(dataset, train=train_share, val=val_share)
    task = None if mode == "forecast" else {
        "family": family, "budget": budget, "units": units, "params": {"alpha": alpha}}
    forecaster = make_forecaster(
        model, lookback, horizon, epochs=epochs, batch_size=batch_size, lr=lr, seed=seed,
        mode=mode, task=task, max_minutes=max_minutes,
        log_dir=None if log_dir is None else str(log_dir))
    assert isinstance(forecaster, NeuralForecaster)  # model is in NEURAL, checked above
    forecaster.fit(split.train, split.val)
    checkpoint.write(forecaster.save)
    Console().print(f"{model} ({mode}) on {dataset.name}: {_training_summary(forecaster)}. "
                    f"Saved {out}")


def _training_summary(forecaster: NeuralForecaster) -> str:
    """What training kept, in words: the best epoch and its validation score; for a decide
    fit also its forecast pretraining, and whether the regret fine-tuning changed anything."""
    result, pre = forecaster.train_result_, forecaster.pretrain_result_
    if forecaster.mode == "forecast":
        score = f"validation {forecaster.loss.upper()} {result.best_val:.4f}"
    else:
        score = f"validation normalised regret {result.best_val:.4f}"
    if pre is None:
        return f"best epoch {result.best_epoch} ({result.stopped}), {score}, {result.seconds:.0f} s"
    if result.best_epoch == 0:
        finetune = f"no regret fine-tuning epoch beat the pretrained weights, kept ({score})"
    else:
        finetune = (f"regret fine-tuning lowered the validation normalised regret from "
                    f"{result.history[0]['val']:.4f} to {result.best_val:.4f} (epoch "
                    f"{result.best_epoch}, {result.stopped})")
    return (f"forecast pretraining best epoch {pre.best_epoch} ({pre.stopped}); {finetune}; "
            f"{pre.seconds + result.seconds:.0f} s")


@app.command("predict")
def predict(
    model: Path | None = typer.Option(None, help="Checkpoint written by `cityfocus train`."),
    onnx: Path | None = typer.Option(None, "--onnx", help="Instead of --model: a file "
                                     "written by `cityfocus export` (run by onnxruntime)."),
    data: str = typer.Option(..., help="Dataset name or path with the model's schema."),
    zones: Path | None = zones_option(),
    adjacency: Path | None = adjacency_option(),
    target: str | None = target_option(),
    at: str | None = typer.Option(None, help="First step to forecast (default: after the data)."),
    top: int = typer.Option(10, min=1, help="Zones shown."),
    out: Path | None = typer.Option(None, help="Write the forecast as CSV: zone, demand (the "
                             "forecast summed over the horizon, which `cityfocus allocate "
                             "--demand` reads), then one column per step."),
    force: bool = force_option(),
) -> None:
    """Forecast the next H steps of every zone from a saved model."""
    from cityfocus.models.lean import load_onnx
    from cityfocus.models.registry import load_forecaster

    if (model is None) == (onnx is None):
        raise CityfocusError("give the model as exactly one of --model (a checkpoint) and "
                             "--onnx (an export)")
    saved = model if model is not None else onnx
    assert saved is not None
    csv_file = None if out is None else OutputFile(
        out, force=force, inputs=inputs_of(saved, data, zones, adjacency), suffixes=(".csv",))
    forecaster = load_forecaster(saved) if onnx is None else load_onnx(saved)
    dataset = load_data(data, zones, adjacency, target)
    forecast = forecaster.predict(dataset, at=step_at(dataset, at, what="--at"))
    frame = pd.DataFrame(forecast.mean.T, index=pd.Index(forecast.zones, name="zone"),
                         columns=[str(t) for t in forecast.timestamps])
    table = Table(title=f"{dataset.target} forecast after {forecast.window_end}")
    table.add_column("zone")
    for column in frame.columns:
        table.add_column(column, justify="right")
    order = np.argsort(-frame.to_numpy().sum(axis=1), kind="stable")[:top]
    for i in order:
        table.add_row(frame.index[i], *(f"{v:.3g}" for v in frame.iloc[i]))
    Console().print(table)
    if csv_file is not None:
        demand = np.clip(frame.sum(axis=1), 0.0, None)
        csv_file.write(frame.assign(**{"demand": demand}).reindex(
            columns=["demand", *frame.columns]).to_csv())


@app.command("export")
def export(
    model: Path = typer.Option(..., help="Checkpoint written by `cityfocus train`."),
    out: Path = typer.Option(..., help="The ONNX file to write (.onnx)."),
    int8: bool = typer.Option(False, "--int8", help="Store the weights of the inner matrix "
                              "products as int8 (dynamic quantization; those reading the inputs "
                              "or writing the forecast stay float32; forecasts change a little, "
                              "see docs/scale.md)."),
    force: bool = force_option(),
) -> None:
    """Export a checkpoint's network to ONNX for `cityfocus predict --onnx` (onnxruntime)."""
    from cityfocus.models.lean import export_onnx
    from cityfocus.models.registry import load_forecaster

    onnx_file = OutputFile(out, force=force, inputs=inputs_of(model), suffixes=(".onnx",))
    forecaster = load_forecaster(model, device="cpu")
    onnx_file.write(lambda tmp: export_onnx(forecaster, tmp, int8=int8))
    kind = "int8 weights" if int8 else "float32"
    Console().print(f"{forecaster.name} exported to {out} ({kind}, "
                    f"{out.stat().st_size / 1e6:.1f} MB); forecast with "
                    f"`cityfocus predict --onnx {out} --data ...`")

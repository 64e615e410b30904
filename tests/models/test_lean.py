"""ONNX export: onnxruntime gives the checkpoint's forecasts (float32 within 1e-4; int8 close),
the export carries what predicting needs, and foreign files are one-line errors."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from cityfocus.data.synthetic import synthetic_city
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError, DataError
from cityfocus.models.lean import OnnxNetwork, export_onnx, load_onnx
from cityfocus.models.neural import NeuralForecaster
from cityfocus.models.registry import load_forecaster, make_forecaster
from tests.conftest import run_here

pytest.importorskip("onnxruntime", reason="the onnx extra is not installed")

AT = "2024-02-20 08:00"


@pytest.fixture(scope="module")
def city():
    return synthetic_city(seed=0).data


@pytest.fixture(scope="module")
def exported(city, tmp_path_factory) -> tuple[Path, Path]:
    """A seed_mlp checkpoint and its export, written by ``cityfocus export``."""
    folder = tmp_path_factory.mktemp("lean")
    model = make_forecaster("seed_mlp", 12, 2, epochs=1, progress=False, device="cpu", seed=0)
    checkpoint = model.fit(city).save(folder / "m.pt")
    done = run_here("export", "--model", str(checkpoint), "--out", str(folder / "m.onnx"))
    assert done.returncode == 0, done.stderr
    assert "exported to" in done.stdout and "float32" in done.stdout
    return checkpoint, folder / "m.onnx"


def _same_forecasts(model: NeuralForecaster, lean: NeuralForecaster, city) -> None:
    assert isinstance(lean.network_, OnnxNetwork) and lean.name == model.name
    assert lean.schema_ == model.schema_
    assert lean.get_params() == {**model.get_params(), "device": "cpu", "training_plan": None}
    ours, theirs = model.predict(city, at=60), lean.predict(city, at=60)
    np.testing.assert_allclose(theirs.mean, ours.mean, atol=1e-4, rtol=0)
    assert list(theirs.timestamps) == list(ours.timestamps) and theirs.attention is None
    windows = Windows(city, model.lookback, model.horizon, stride=7)  # any batch size
    np.testing.assert_allclose(lean.predict_windows(windows), model.predict_windows(windows),
                               atol=1e-4, rtol=0)


def test_onnxruntime_gives_the_checkpoints_forecasts(exported, city):
    checkpoint, onnx_file = exported
    _same_forecasts(load_forecaster(checkpoint, device="cpu"), load_onnx(onnx_file), city)
    with pytest.raises(DataError, match="does not match the model"):  # the schema travels
        load_onnx(onnx_file).predict(synthetic_city(n_zones=6, days=4).data)


@pytest.mark.slow
def test_onnxruntime_gives_the_attention_models_forecasts(tmp_path):
    """The attention model (its export alone takes 10-30 s here, so it runs with -m slow)."""
    city = synthetic_city(n_zones=5, days=4, seed=2).data
    model = make_forecaster("st_transformer", 12, 4, epochs=1, progress=False, device="cpu",
                            seed=0).fit(city)
    _same_forecasts(model, load_onnx(export_onnx(model, tmp_path / "m.onnx")), city)


def test_int8_is_smaller_and_close(exported, city, tmp_path):
    model = load_forecaster(exported[0], device="cpu")
    small = export_onnx(model, tmp_path / "q.onnx", int8=True)
    assert small.stat().st_size < 0.5 * exported[1].stat().st_size
    quantized = load_onnx(small)
    assert isinstance(quantized.network_, OnnxNetwork) and quantized.network_.int8
    windows = Windows(city, 12, 2, stride=3)
    exact, approx = model.predict_windows(windows), quantized.predict_windows(windows)
    assert not np.array_equal(approx, exact)  # the weights did change
    rms = float(np.sqrt(np.mean((approx - exact) ** 2)))
    assert rms < 0.1 * float(np.std(exact))


def test_what_cannot_be_exported_or_loaded_says_so(exported, tmp_path):
    with pytest.raises(CityfocusError, match="not fitted"):
        export_onnx(make_forecaster("lstm", 12, 4), tmp_path / "x.onnx")
    with pytest.raises(CityfocusError, match="already an exported network"):
        export_onnx(load_onnx(exported[1]), tmp_path / "again.onnx")
    (tmp_path / "text.onnx").write_text("not onnx\n")
    with pytest.raises(DataError, match="not a readable ONNX file"):
        load_onnx(tmp_path / "text.onnx")
    with pytest.raises(DataError, match="not found"):
        load_onnx(tmp_path / "none.onnx")
    with pytest.raises(DataError, match="not a readable checkpoint"):
        load_forecaster(exported[1])


def test_predict_from_the_export_on_the_command_line(exported, tmp_path):
    outputs = {}
    for option, saved in zip(("--model", "--onnx"), exported, strict=True):
        out = tmp_path / f"{option[2:]}.csv"
        done = run_here("predict", option, str(saved), "--data", "synthetic", "--at", AT,
                        "--out", str(out))
        assert done.returncode == 0, done.stderr
        outputs[option] = list(csv.reader(out.open()))
    ours, theirs = outputs["--model"], outputs["--onnx"]
    assert ours[0] == theirs[0] and [r[0] for r in ours] == [r[0] for r in theirs]
    gap = max(abs(float(a) - float(b)) for x, y in zip(ours[1:], theirs[1:], strict=True)
              for a, b in zip(x[1:], y[1:], strict=True))
    assert gap <= 1e-4

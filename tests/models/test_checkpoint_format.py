"""Checkpoints keep the format written before the layers were split (CHECKPOINT_FORMAT 1)."""

import math

import numpy as np
import pytest
import torch

from cityfocus import CityfocusError
from cityfocus.data.split import chronological_split
from cityfocus.data.synthetic import synthetic_city
from cityfocus.models.neural import CHECKPOINT_FORMAT
from cityfocus.models.registry import load_forecaster, make_forecaster

#: the keys of a seed_mlp checkpoint's ``params`` as cityfocus wrote them before the split
OLD_PARAMS = {
    "batch_size", "clip_norm", "epochs", "finetune_lr", "hidden", "horizon", "log_dir",
    "lookback", "loss", "lr", "max_minutes", "mix", "mode", "patience", "per_zone_scaling",
    "pretrain", "progress", "seed", "task", "weight_decay",
}
#: keys added since, with defaults that reproduce the old behaviour (no robust training)
NEW_PARAMS = {"input_dropout", "adversarial"}
TASK = {"family": "coverage", "budget": 3.0, "units": True, "lower": 0.0, "upper": math.inf,
        "params": {"alpha": 0.5}}


@pytest.fixture(scope="module")
def city():
    return synthetic_city(n_zones=6, days=8, seed=2).data


@pytest.fixture(scope="module")
def old_checkpoints(city, tmp_path_factory):
    """A forecast checkpoint and a decide-mode one, laid out as the old code saved them (a
    decide checkpoint differs only in ``mode`` and ``task``)."""
    split = chronological_split(city, train=0.7, val=0.1)
    model = make_forecaster("seed_mlp", 6, 2, epochs=1, progress=False, seed=0, device="cpu")
    path = model.fit(split.train, split.val).save(tmp_path_factory.mktemp("old") / "f.pt")
    written = torch.load(path, weights_only=False)
    assert set(written["params"]) == OLD_PARAMS | NEW_PARAMS
    state = dict(written, params={k: v for k, v in written["params"].items()
                                  if k not in NEW_PARAMS})  # as the old code wrote it
    torch.save(state, path)
    decide = dict(state, params={**state["params"], "mode": "decide", "task": TASK})
    decide_path = path.with_name("d.pt")
    torch.save(decide, decide_path)
    return {"forecast": (path, state), "decide": (decide_path, decide), "model": model}


def test_checkpoint_layout_is_unchanged(old_checkpoints):
    _, state = old_checkpoints["forecast"]
    assert state["format"] == CHECKPOINT_FORMAT == "cityfocus-forecaster/1"
    assert set(state) == {"format", "model", "params", "schema", "scaler", "state_dict", "train"}
    assert set(state["params"]) == OLD_PARAMS


@pytest.mark.parametrize("kind", ["forecast", "decide"])
def test_old_checkpoints_load_and_predict(kind, old_checkpoints, city):
    path, _ = old_checkpoints[kind]
    loaded = load_forecaster(path, device="cpu")
    assert loaded.mode == kind
    expected = old_checkpoints["model"].predict(city, at=150).mean
    np.testing.assert_array_equal(loaded.predict(city, at=150).mean, expected)


def test_the_model_layer_refits_forecasts_only(old_checkpoints, city):
    loaded = load_forecaster(old_checkpoints["decide"][0], device="cpu")
    with pytest.raises(CityfocusError, match="cityfocus.learn.load_forecaster"):
        loaded.fit(city, warm_start=True)

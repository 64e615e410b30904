"""Masked metrics on small hand-computed cases."""

import math

import numpy as np
import pytest

from cityfocus.errors import DataError
from cityfocus.evaluate.manifest import Manifest
from cityfocus.evaluate.metrics import (
    accuracy,
    count_metrics,
    explained_variance,
    forecast_metrics,
    mae,
    mape,
    positive_entry_metrics,
    r2,
    rmse,
)

# S=1 window, H=2 steps, N=2 zones; errors y - ŷ: step 0 [-1, 0], step 1 [2, 0]
Y = np.array([[[1.0, 2.0], [3.0, 4.0]]])
Y_HAT = np.array([[[2.0, 2.0], [1.0, 4.0]]])


def test_each_metric_by_hand():
    assert mae(Y, Y_HAT) == pytest.approx(3 / 4)
    assert rmse(Y, Y_HAT) == pytest.approx(math.sqrt(5 / 4))
    assert mape(Y, Y_HAT) == pytest.approx((1 / 1 + 2 / 3) / 4)
    assert accuracy(Y, Y_HAT) == pytest.approx(1 - math.sqrt(5) / math.sqrt(30))
    # ȳ = 2.5, Σ(y-ȳ)² = 5 = Σ(y-ŷ)²
    assert r2(Y, Y_HAT) == pytest.approx(0.0)
    # y-ŷ = [-1, 0, 2, 0]: Var = 5/4 - (1/4)² = 1.1875; Var(y) = 1.25
    assert explained_variance(Y, Y_HAT) == pytest.approx(1 - 1.1875 / 1.25)


def test_r2_centres_on_the_truth_mean_not_the_forecast_mean():
    y, y_hat = np.array([1.0, 2.0, 3.0]), np.array([3.0, 3.0, 3.0])
    # Σ(y-ŷ)² = 4+1+0 = 5, Σ(y-ȳ)² = 2  ->  1 - 5/2; centring on mean(ŷ) would divide by 5
    assert r2(y, y_hat) == pytest.approx(-1.5)


def test_per_step_and_flattened_differ_as_they_should():
    result = forecast_metrics(Y, Y_HAT)
    assert result["per_step"]["mae"] == pytest.approx([0.5, 1.0])
    assert result["per_step"]["rmse"] == pytest.approx([math.sqrt(0.5), math.sqrt(2.0)])
    # flattened over all steps (T-GCN), not the mean of the per-step figures
    assert result["all"]["rmse"] == pytest.approx(math.sqrt(5 / 4))
    assert result["all"]["rmse"] != pytest.approx(np.mean(result["per_step"]["rmse"]))
    assert result["entries"] == {"per_step": [2, 2], "all": 4}


def test_flattened_equals_the_tgcn_matrix_form():
    rng = np.random.default_rng(0)
    y = rng.uniform(20, 70, size=(5, 3, 4))
    y_hat = y + rng.normal(0, 3, size=y.shape)
    a, b = y.reshape(-1, 4), y_hat.reshape(-1, 4)  # (windows * steps) x N, as T-GCN stacks
    result = forecast_metrics(y, y_hat)["all"]
    assert result["accuracy"] == pytest.approx(
        1 - np.linalg.norm(a - b, "fro") / np.linalg.norm(a, "fro"))
    assert result["r2"] == pytest.approx(1 - ((a - b) ** 2).sum() / ((a - a.mean()) ** 2).sum())
    assert result["explained_variance"] == pytest.approx(1 - np.var(a - b) / np.var(a))


def test_masked_entries_never_count():
    # a third zone with a huge error, unobserved (0 as CityData stores it)
    y = np.concatenate([Y, np.zeros((1, 2, 1))], axis=2)
    y_hat = np.concatenate([Y_HAT, np.full((1, 2, 1), 100.0)], axis=2)
    mask = np.ones(y.shape, dtype=bool)
    mask[..., 2] = False
    masked = forecast_metrics(y, y_hat, mask)
    plain = forecast_metrics(Y, Y_HAT)
    for name in plain["all"]:
        assert masked["all"][name] == pytest.approx(plain["all"][name]), name
        assert masked["per_step"][name] == pytest.approx(plain["per_step"][name]), name
    assert masked["entries"]["all"] == 4


def test_mape_skips_zero_truth_but_mae_counts_it():
    y, y_hat = np.array([0.0, 2.0]), np.array([1.0, 1.0])
    assert mape(y, y_hat) == pytest.approx(0.5)
    assert mae(y, y_hat) == pytest.approx(1.0)
    assert math.isnan(mape(np.zeros(2), np.ones(2)))


def test_a_step_with_nothing_observed_is_nan_and_all_missing_is_an_error():
    mask = np.ones(Y.shape, dtype=bool)
    mask[:, 1] = False
    result = forecast_metrics(Y, Y_HAT, mask)
    assert math.isnan(result["per_step"]["mae"][1])
    assert result["all"]["mae"] == pytest.approx(0.5)
    with pytest.raises(DataError, match="all False"):
        forecast_metrics(Y, Y_HAT, np.zeros(Y.shape, dtype=bool))


def test_bad_shapes_and_names_are_user_errors():
    with pytest.raises(DataError, match="shape"):
        forecast_metrics(Y, Y_HAT[:, :1])
    with pytest.raises(DataError, match=r"\[S, H, N\]"):
        forecast_metrics(Y[0], Y_HAT[0])
    with pytest.raises(DataError, match="unknown metric"):
        forecast_metrics(Y, Y_HAT, metrics=("smape",))


def test_result_carries_its_manifest_and_definitions():
    manifest = Manifest(data="toy", split={"test": [8, 10]}, lookback=3, horizon=2, seed=7,
                        command="cityfocus benchmark forecast --data toy")
    result = forecast_metrics(Y, Y_HAT, metrics=("mae", "r2"), manifest=manifest)
    m = result["manifest"]
    assert (m["data"], m["lookback"], m["horizon"], m["seed"]) == ("toy", 3, 2, 7)
    assert m["command"].startswith("cityfocus benchmark")
    assert set(m["metrics"]) == {"mae", "r2"}
    assert "truth" in m["metrics"]["r2"]


def test_positive_entry_protocol():
    y = np.array([0.0, 1.0, 3.0, 0.0])
    y_hat = np.array([0.5, 2.0, 1.0, 0.0])
    result = positive_entry_metrics(y, y_hat)
    assert result == {"mae_pos": pytest.approx(1.5), "mape_pos": pytest.approx((1 + 2 / 3) / 2),
                      "entries": 2}
    masked = positive_entry_metrics(y, y_hat, np.array([True, True, False, True]))
    assert (masked["mae_pos"], masked["mape_pos"], masked["entries"]) == (1.0, 1.0, 1)
    assert math.isnan(positive_entry_metrics(np.zeros(3), np.ones(3))["mae_pos"])


def test_count_metrics_per_category_and_pooled():
    # [S=2, H=1, N=2, C=2]; category a: one positive entry, error 1; b: three, error 0
    y = np.zeros((2, 1, 2, 2))
    y_hat = np.zeros_like(y)
    y[0, 0, 0, 0], y_hat[0, 0, 0, 0] = 2.0, 3.0
    y[:, 0, 1, 1] = [1.0, 4.0]
    y[1, 0, 0, 1] = 5.0
    y_hat[..., 1] = y[..., 1]
    y_hat[1, 0, 1, 0] = 9.0  # error on a zero truth: never counts under this protocol
    result = count_metrics(y, y_hat, categories=("a", "b"))
    assert result["per_category"]["a"]["all"] == {"mae_pos": 1.0, "mape_pos": 0.5, "entries": 1}
    assert result["per_category"]["b"]["all"]["mae_pos"] == 0.0
    # pooled over all four positive entries, not the mean of the category means (0.5)
    assert result["all"]["mae_pos"] == pytest.approx(0.25)
    assert result["all"]["entries"] == 4
    assert len(result["per_step"]) == 1
    assert set(result["manifest"]["metrics"]) == {"mae_pos", "mape_pos"}
    with pytest.raises(DataError, match="categories"):
        count_metrics(y, y_hat, categories=("a",))

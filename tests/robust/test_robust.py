"""Training with masked and adversarial inputs, and PGD attacks on a trained forecaster."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.allocate.task import DecisionTask
from cityfocus.data.split import chronological_split
from cityfocus.data.synthetic import synthetic_city
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError
from cityfocus.evaluate.decisions import decision_metrics
from cityfocus.models.registry import make_forecaster
from cityfocus.robust.attack import pgd_forecasts

L, H = 12, 3


@pytest.fixture(scope="module")
def split():
    data = synthetic_city(n_zones=8, days=14, seed=2).data.replace(target="traffic")
    return chronological_split(data, train=0.7, val=0.1)


@pytest.fixture(scope="module")
def model(split):
    return make_forecaster("seed_mlp", L, H, epochs=4, progress=False, device="cpu",
                           seed=0).fit(split.train, split.val)


def rmse(pred, windows):
    batch = windows.batch()
    return float(np.sqrt((((pred - batch.y) ** 2) * batch.y_mask).sum() / batch.y_mask.sum()))


def test_masked_and_adversarial_training_run_and_are_checked(split) -> None:
    for options in ({"input_dropout": 0.3}, {"adversarial": 5.0}):
        fitted = make_forecaster("seed_mlp", L, H, epochs=2, progress=False, device="cpu",
                                 seed=0, **options).fit(split.train, split.val)
        assert np.isfinite(fitted.predict(split.train).mean).all()
        assert fitted.get_params()[next(iter(options))] == next(iter(options.values()))
    for bad in ({"input_dropout": 1.0}, {"adversarial": -1.0}):
        with pytest.raises(CityfocusError):
            make_forecaster("seed_mlp", L, H, epochs=1, progress=False, device="cpu",
                            **bad).fit(split.train)


def test_pgd_raises_the_error_within_its_bound(model, split) -> None:
    windows = Windows(split.data, L, H, target_start=split.test_start)
    clean = np.asarray(model.predict_windows(windows), dtype=np.float64)
    same = pgd_forecasts(model, windows, 0.0)
    np.testing.assert_allclose(same, clean, rtol=1e-5, atol=1e-5)
    attacked = pgd_forecasts(model, windows, 10.0, steps=5)
    assert rmse(attacked, windows) > 1.05 * rmse(clean, windows)
    small = pgd_forecasts(model, windows, 0.5, steps=5)
    assert rmse(clean, windows) <= rmse(small, windows) < rmse(attacked, windows)


def test_a_decision_attack_raises_the_regret(model, split) -> None:
    windows = Windows(split.data, L, H, target_start=split.test_start)
    task = DecisionTask("coverage", 3.0, False, params={"alpha": 0.05})
    batch = windows.batch()
    realized = np.clip((batch.y * batch.y_mask).sum(1), 0, None)

    def regret(pred):
        w = task.decide(np.clip(pred, 0, None).sum(1))
        return decision_metrics(task, w, realized)["regret"]

    clean = np.asarray(model.predict_windows(windows), dtype=np.float64)
    attacked = pgd_forecasts(model, windows, 20.0, goal="decision", task=task, steps=5)
    assert regret(attacked) > regret(clean)
    with pytest.raises(CityfocusError, match="task"):
        pgd_forecasts(model, windows, 1.0, goal="decision")


def test_the_detection_benchmark_scores_the_check_alone() -> None:
    from cityfocus_bench.robust import detection_markdown, run_detection_benchmark

    result = run_detection_benchmark("synthetic", quick=True, seeds=2, command="c")
    assert set(result["detection"]) == {"stuck 10%", "spike 1%"}
    for found in result["detection"].values():
        assert len(found["seeds"]) == 2
        assert found["mean"]["f1"] == pytest.approx(
            np.mean([s["f1"] for s in found["seeds"]]))
        assert 0 <= found["mean"]["clean_flagged"] <= 1
    assert result["check"]["alpha"] == 1e-6 and result["check"]["fitted_on"][0] == 0
    table = detection_markdown(result)
    assert "| stuck 10% | mean |" in table and "Command: `c`" in table
    assert "mean, readings the check leaves alone without faults" in found

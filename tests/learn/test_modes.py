import numpy as np
import pytest
import torch

from cityfocus.allocate.task import DecisionTask
from cityfocus.data.split import chronological_split
from cityfocus.data.synthetic import synthetic_city
from cityfocus.data.windows import split_windows
from cityfocus.errors import CityfocusError
from cityfocus.learn.decision import relaxed_gain, relaxed_shares
from cityfocus.learn.policies import decide_windows
from cityfocus.learn.registry import load_forecaster, make_forecaster

TASK = DecisionTask("coverage", 4, True, params={"alpha": 0.5})


@pytest.fixture(scope="module")
def split():
    return chronological_split(synthetic_city(n_zones=6, days=14, seed=3).data)


@pytest.mark.parametrize("mode", ["forecast", "imitate", "decide"])
def test_every_mode_trains_and_decides(mode, split, tmp_path):
    model = make_forecaster("lstm", 12, 6, epochs=2, progress=False, mode=mode,
                            task=TASK.to_config()).fit(split.train, split.val)
    assert np.isfinite(model.train_result_.best_val)
    windows = split_windows(split, "test", 12, 6)
    w = decide_windows(model, windows, TASK)
    assert w.shape == (len(windows), 6)
    np.testing.assert_array_equal(w.sum(1), 4)
    np.testing.assert_array_equal(w, np.round(w))
    again = load_forecaster(model.save(tmp_path / "m.pt"), device="cpu")
    np.testing.assert_array_equal(decide_windows(again, windows, TASK), w)
    if mode == "imitate":
        with pytest.raises(CityfocusError, match="imitate mode"):
            model.predict_windows(windows)


def test_bad_tasks_fail_before_training(split):
    too_big = {"family": "coverage", "budget": 10, "units": True, "upper": 1.0}
    with pytest.raises(CityfocusError, match="does not fit 6 zones"):
        make_forecaster("lstm", 12, 3, mode="decide", task=too_big).fit(split.train, split.val)
    wrong_alpha = {"family": "coverage", "budget": 2, "alpha": [1.0, 2.0]}
    with pytest.raises(CityfocusError, match="does not fit 6 zones"):
        make_forecaster("lstm", 12, 3, mode="decide", task=wrong_alpha).fit(split.train)
    with pytest.raises(CityfocusError, match="needs a decision task"):
        make_forecaster("lstm", 12, 3, mode="decide").fit(split.train)
    with pytest.raises(CityfocusError, match="unknown mode"):
        make_forecaster("lstm", 12, 3, mode="guess", task=TASK.to_config()).fit(split.train)


def test_no_observed_target_in_any_window_is_refused(split):
    data = split.train
    from cityfocus import CityData

    mask = data.mask.copy()
    mask[int(data.shape[0] * 0.9) :, :, data.target_index] = False
    blind = CityData(data.values, data.timestamps, mask=mask, zones=data.zones,
                     features=data.features, target=data.target)
    with pytest.raises(CityfocusError, match="no validation window has an observed target"):
        make_forecaster("lstm", 12, 3, mode="decide", task=TASK.to_config(),
                        progress=False).fit(blind)


def test_regret_gradient_matches_finite_differences():
    task = DecisionTask("coverage", 3.0, False, params={"alpha": 0.7})
    realized = torch.tensor([[2.0, 0.5, 1.0, 3.0]], dtype=torch.float64)
    best = relaxed_gain(task, relaxed_shares(task, realized), realized).detach()

    def regret(forecast):
        return best - relaxed_gain(task, relaxed_shares(task, forecast), realized)

    forecast = torch.tensor([[1.0, 1.5, 0.8, 2.0]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(regret, (forecast,), eps=1e-6, atol=1e-6)
    assert float(regret(realized)) == pytest.approx(0.0, abs=1e-12)
    assert float(regret(forecast).detach()) > 0


@pytest.mark.parametrize("loss", ["mse", "mae"])
def test_forecast_steps_are_weighted_by_inverse_persistence_error(loss, split):
    from cityfocus.data.scaling import StandardScaler
    from cityfocus.training.objectives import step_weights
    from cityfocus.training.tensors import WindowTensors

    data, L, H = split.train, 12, 6
    mask = data.mask.copy()
    mask[::5, 0, data.target_index] = False  # some readings missing: pairs must skip them
    data = data.replace(mask=mask)
    tensors = WindowTensors(data, StandardScaler().fit(data), L, H, torch.device("cpu"))
    starts = np.arange(data.shape[0] - L - H + 1)
    weight = step_weights(tensors, starts, loss).numpy()

    y, m = data.values[:, :, data.target_index], mask[:, :, data.target_index]
    scale = []
    for h in range(H):
        last, target = y[starts + L - 1], y[starts + L + h]
        both = m[starts + L - 1] & m[starts + L + h]
        error = (target - last)[both]
        scale.append(np.mean(error**2) if loss == "mse" else np.mean(np.abs(error)))
    expected = 1 / np.array(scale)
    np.testing.assert_allclose(weight, expected / expected.mean(), rtol=1e-5)
    assert weight[0] > weight[-1]  # the first step is the easiest for persistence

import numpy as np
import pytest
import torch

from cityfocus import CityData, CityfocusError, DataError
from cityfocus.data.split import chronological_split
from cityfocus.data.synthetic import synthetic_city
from cityfocus.data.windows import split_windows
from cityfocus.models.registry import NEURAL, load_forecaster, make_forecaster
from cityfocus.models.st_transformer import STTransformer

L, H = 12, 3


@pytest.fixture(scope="module")
def city():
    return synthetic_city(n_zones=8, days=14, seed=1)


@pytest.fixture(scope="module")
def split(city):
    return chronological_split(city.data, train=0.7, val=0.1)


@pytest.fixture(scope="module")
def fitted(split):
    return {
        name: make_forecaster(name, L, H, epochs=3, progress=False, seed=0).fit(
            split.train, split.val)
        for name in NEURAL
    }


@pytest.mark.parametrize("name", list(NEURAL))
def test_fit_and_predict_shapes(name, fitted, city, split):
    model = fitted[name]
    forecast = model.predict(city.data, at=split.test_start)
    assert forecast.mean.shape == (H, 8) and np.isfinite(forecast.mean).all()
    assert forecast.timestamps[0] == city.data.timestamps[split.test_start]
    windows = split_windows(split, "test", L, H)
    out = model.predict_windows(windows)
    assert out.shape == (len(windows), H, 8)
    # predict() of one window equals the batched prediction of the same window
    np.testing.assert_allclose(out[0], model.predict(city.data, at=int(windows.starts[0]) + L).mean,
                               rtol=1e-5, atol=1e-5)
    assert model.train_result_.best_epoch >= 1


def test_transformer_returns_attention_maps(fitted, city, split):
    forecast = fitted["st_transformer"].predict(city.data, at=split.test_start)
    temporal, spatial = forecast.attention["temporal"], forecast.attention["spatial"]
    assert len(temporal) == 2 and temporal[0].shape == (8, 4, L, L)
    assert len(spatial) == 2 and spatial[0].shape == (4, 8, 8)
    np.testing.assert_allclose(spatial[0].sum(-1), 1.0, rtol=1e-5)


@pytest.mark.parametrize("name", list(NEURAL))
def test_save_load_predict_identical(name, fitted, city, split, tmp_path):
    model = fitted[name]
    path = model.save(tmp_path / f"{name}.pt")
    again = load_forecaster(path, device="cpu")
    assert again.get_params() == {**model.get_params(), "device": "cpu"}
    a = model.predict(city.data, at=split.test_start).mean
    b = again.predict(city.data, at=split.test_start).mean
    np.testing.assert_array_equal(a, b)


def test_checkpoint_refuses_other_schema_and_bad_files(fitted, city, tmp_path):
    model = fitted["lstm"]
    fewer = city.data.select_zones(range(7))
    with pytest.raises(DataError, match="zones"):
        model.predict(fewer)
    renamed = CityData(city.data.values, city.data.timestamps, mask=city.data.mask,
                       zones=city.data.zones, features=["a", "b", "incidents"],
                       target="incidents", adjacency=city.data.adjacency)
    with pytest.raises(DataError, match="features"):
        model.predict(renamed)
    daily = CityData(city.data.values[:40], np.datetime64("2024-01-01") + np.arange(40) *
                     np.timedelta64(1, "D"), mask=city.data.mask[:40], zones=city.data.zones,
                     features=city.data.features, target="incidents")
    with pytest.raises(DataError, match="freq"):
        model.predict(daily)
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"not a checkpoint")
    with pytest.raises(DataError, match="not a readable checkpoint"):
        load_forecaster(junk)
    with pytest.raises(DataError, match="checkpoint not found"):
        load_forecaster(tmp_path / "missing.pt")


def test_lookback_longer_than_data_is_a_clear_error(split):
    with pytest.raises(DataError, match="no window fits"):
        make_forecaster("lstm", 500, 3, epochs=1, progress=False).fit(split.train, split.val)


def test_all_missing_targets_is_a_clear_error(city):
    mask = city.data.mask.copy()
    mask[:, :, 2] = False
    blind = CityData(city.data.values, city.data.timestamps, mask=mask, zones=city.data.zones,
                     features=city.data.features, target="incidents")
    with pytest.raises(DataError, match="every target reading in the training split is missing"):
        make_forecaster("seed_mlp", L, H, epochs=1, progress=False).fit(blind)


def test_training_is_reproducible(split):
    a = make_forecaster("lstm", L, H, epochs=2, progress=False, seed=5).fit(split.train, split.val)
    b = make_forecaster("lstm", L, H, epochs=2, progress=False, seed=5).fit(split.train, split.val)
    for p, q in zip(a.network_.parameters(), b.network_.parameters(), strict=True):
        assert torch.equal(p, q)


@pytest.mark.slow  # a 12-epoch fit (18 s); run with -m slow
def test_transformer_learns_the_lagged_spillover_better_than_persistence():
    city = synthetic_city(n_zones=12, days=28, seed=2)
    split = chronological_split(city.data, train=0.7, val=0.1)
    model = STTransformer(24, 1, epochs=12, dim=32, progress=False).fit(split.train, split.val)
    windows = split_windows(split, "test", 24, 1)
    rate = city.truth.rate[windows.starts + 24]  # [S, N] planted expected incidents
    followers = [f for _, f, _ in city.truth.leads]
    pred = model.predict_windows(windows)[:, 0]
    persistence = make_forecaster("persistence", 24, 1).fit(split.train)
    last = persistence.predict_windows(windows)[:, 0]
    err_model = np.abs(pred - rate)[:, followers].mean()
    err_last = np.abs(last - rate)[:, followers].mean()
    assert err_model < 0.7 * err_last, (err_model, err_last)


def test_warm_start_continues_from_the_fitted_weights(split, city):
    model = make_forecaster("seed_mlp", L, H, epochs=2, progress=False, seed=0)
    model.fit(split.train, split.val)
    before = {k: v.clone() for k, v in model.network_.state_dict().items()}
    scaler = model.scaler_
    model.lr = 0.0  # no step moves the weights: a warm start must end where it began
    model.fit(split.train, split.val, warm_start=True)
    assert model.scaler_ is scaler
    for key, value in model.network_.state_dict().items():
        assert torch.equal(value, before[key])
    model.fit(split.train, split.val)  # a cold fit re-initialises
    assert any(not torch.equal(v, before[k]) for k, v in model.network_.state_dict().items())


def test_warm_start_on_other_zones_trains_from_scratch(split):
    model = make_forecaster("seed_mlp", L, H, epochs=1, progress=False, seed=0)
    model.fit(split.train, split.val)
    fewer = split.train.select_zones([0, 1, 2])
    model.fit(fewer, warm_start=True)
    assert model.schema_["n_zones"] == 3
    assert model.predict(fewer).mean.shape == (H, 3)


def test_transformer_starts_as_the_least_squares_linear_forecaster(split):
    """With the head silent (learning rate 0), the fitted network is its linear part: the
    least-squares fit of the target on its L readings and its seasonal profile."""
    from cityfocus.data.windows import Windows
    from cityfocus.models.neural import seasonal_profile
    from cityfocus.training.tensors import WindowTensors

    model = STTransformer(L, H, epochs=1, lr=0.0, dim=16, progress=False)
    model.fit(split.train, split.val)
    whole, val_start = split.train.append_time(split.val), split.train.shape[0]
    tensors = WindowTensors(whole, model.scaler_, L, H, torch.device("cpu"))
    net = model.network_
    assert net.profile.abs().sum() > 0
    assert torch.allclose(net.profile, seasonal_profile(
        tensors, val_start, model.schema_["slots_per_day"], model.schema_["weekly"]))
    starts = Windows(whole, L, H, target_stop=val_start).starts
    terms = net.linear_terms(tensors.inputs(starts)).double().numpy()  # [S, H, N, L + 1]
    y, m = (t.numpy() for t in tensors.targets(starts))
    for h in range(H):
        design = np.concatenate([terms[:, h], np.ones_like(terms[:, h, :, :1])], -1)
        coef = np.linalg.lstsq(design[m[:, h]], y[:, h][m[:, h]], rcond=None)[0]
        fitted = np.concatenate([net.skip.weight[h].detach().numpy(),
                                 [net.profile_weight[h].item(), net.skip.bias[h].item()]])
        np.testing.assert_allclose(fitted, coef, atol=0.01)


def test_unknown_transformer_start_is_a_clear_error(split):
    with pytest.raises(CityfocusError, match="unknown start 'bogus'"):
        STTransformer(L, H, epochs=1, start="bogus", progress=False).fit(split.train)


def test_poisson_loss_trains_positive_rates_and_loads_the_same(split, tmp_path):
    """A count model trained by the Poisson likelihood forecasts rates (> 0, by its softplus
    link), reloads with the same link, and fits the counts' level."""
    train = split.train
    model = make_forecaster("seed_mlp", 12, 3, epochs=3, progress=False, device="cpu",
                            loss="poisson", seed=0)
    model.fit(train)
    forecast = model.predict(train)
    assert np.all(forecast.mean > 0)
    again = load_forecaster(model.save(tmp_path / "m.pt"), device="cpu")
    np.testing.assert_allclose(again.predict(train).mean, forecast.mean, rtol=1e-5)
    counts = train.target_values[train.target_mask]
    assert 0.2 < forecast.mean.mean() / counts.mean() < 5


def test_poisson_loss_is_refused_outside_forecast_mode(split):
    model = make_forecaster("seed_mlp", 12, 3, epochs=1, progress=False, device="cpu",
                            loss="poisson", mode="decide",
                            task={"family": "coverage", "budget": 2, "units": False})
    with pytest.raises(CityfocusError, match="poisson"):
        model.fit(split.train)


def test_poisson_likelihood_by_hand():
    from cityfocus.training.losses import masked_poisson_nll

    rate = torch.tensor([0.5, 2.0, 1.0])
    y = torch.tensor([0.0, 3.0, 7.0])
    mask = torch.tensor([True, True, False])
    want = ((0.5 - 0.0) + (2.0 - 3 * np.log(2.0) + np.log(6.0))) / 2
    assert float(masked_poisson_nll(rate, y, mask)) == pytest.approx(want, rel=1e-6)

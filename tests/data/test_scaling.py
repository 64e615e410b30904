import numpy as np
import pandas as pd
import pytest

from cityfocus import CityData, DataError
from cityfocus.data.scaling import MaxScaler, StandardScaler, scaler_from_config
from cityfocus.data.split import chronological_split


def make(values, mask=None):
    return CityData(values, pd.date_range("2024-01-01", periods=len(values), freq="h"), mask=mask)


def test_standard_scaler_uses_observed_training_entries_only():
    values = np.zeros((10, 2, 1), dtype=np.float32)
    values[:7, :, 0] = np.arange(7)[:, None]  # train part: 0..6 in both zones
    values[7:] = 1000.0  # test part must not influence the statistics
    mask = np.ones_like(values, dtype=bool)
    mask[0, 0, 0] = False  # an unobserved reading must not count either
    split = chronological_split(make(values, mask), train=0.7, val=0.1)
    scaler = StandardScaler().fit(split.train)
    observed = np.r_[np.arange(1, 7), np.arange(7)].astype(np.float64)
    assert scaler.mean_[0] == pytest.approx(observed.mean(), rel=1e-6)
    assert scaler.std_[0] == pytest.approx(observed.std(), rel=1e-6)
    x = split.train.values
    np.testing.assert_allclose(scaler.inverse_transform(scaler.transform(x)), x, atol=1e-5)


def test_per_zone_and_config_round_trip():
    rng = np.random.default_rng(1)
    values = rng.normal([[0.0], [50.0]], [[1.0], [10.0]], size=(200, 2, 1))
    scaler = StandardScaler(per_zone=True).fit(make(values))
    z = scaler.transform(values.astype(np.float32))
    np.testing.assert_allclose(z.mean(axis=0), 0, atol=1e-4)
    np.testing.assert_allclose(z.std(axis=0), 1, atol=1e-3)
    again = scaler_from_config(scaler.to_config())
    np.testing.assert_array_equal(again.transform(values), scaler.transform(values))


def test_max_scaler_and_errors():
    scaler = MaxScaler().fit(make(np.array([[[10.0]], [[70.0]]])))
    assert scaler.transform(np.array([35.0]))[0] == pytest.approx(0.5)
    assert scaler_from_config(scaler.to_config()).max_ == scaler.max_
    with pytest.raises(DataError, match="no observed value"):
        StandardScaler().fit(make(np.full((3, 1, 1), np.nan)))
    with pytest.raises(DataError, match="unknown scaler kind"):
        scaler_from_config({"kind": "robust"})

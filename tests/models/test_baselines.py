import numpy as np
import pandas as pd
import pytest

from cityfocus import CityData, DataError
from cityfocus.data.synthetic import synthetic_city
from cityfocus.models import HistoricalAverage, Persistence


def test_historical_average_recovers_a_weekly_pattern():
    ts = pd.date_range("2024-01-01", periods=24 * 7 * 3, freq="h")
    pattern = np.asarray(ts.day_of_week * 24 + ts.hour, dtype=np.float32)
    data = CityData(np.stack([pattern, 2 * pattern], axis=1)[:, :, None], ts)
    model = HistoricalAverage(horizon=5).fit(data.slice_time(0, 24 * 14))
    forecast = model.predict(data, at=24 * 14 + 30)
    np.testing.assert_array_equal(forecast.mean[:, 0], pattern[24 * 14 + 30 : 24 * 14 + 35])
    assert forecast.mean.shape == (5, 2) and forecast.timestamps[0] == ts[24 * 14 + 30]


def test_historical_average_ignores_missing_and_falls_back():
    ts = pd.date_range("2024-01-01", periods=48, freq="h")
    values = np.ones((48, 1, 1), dtype=np.float32)
    values[5, 0, 0] = np.nan  # Monday 05:00 never observed on a Monday
    values[29, 0, 0] = 100.0  # Tuesday 05:00
    model = HistoricalAverage(horizon=1).fit(CityData(values, ts))
    monday_5 = model.table_[5, 0]
    assert monday_5 == pytest.approx(100.0)  # falls back to the 05:00 mean over weekdays seen


def test_persistence_uses_last_observed_value():
    ts = pd.date_range("2024-01-01", periods=4, freq="D")
    values = np.array([[1.0, 5.0], [2.0, np.nan], [3.0, np.nan], [4.0, np.nan]])[:, :, None]
    data = CityData(values, ts)
    forecast = Persistence(horizon=2).fit(data).predict(data)
    np.testing.assert_array_equal(forecast.mean, [[4.0, 5.0], [4.0, 5.0]])
    with pytest.raises(DataError, match="cannot forecast from step 0"):
        Persistence().fit(data).predict(data, at=0)


def test_historical_average_beats_persistence_on_the_synthetic_city():
    city = synthetic_city()
    at = 24 * 50
    ha = HistoricalAverage(horizon=24).fit(city.data.slice_time(0, at)).predict(city.data, at)
    last = Persistence(horizon=24).fit(city.data).predict(city.data, at)
    rate = city.truth.rate[at : at + 24]
    assert np.abs(ha.mean - rate).mean() < np.abs(last.mean - rate).mean()

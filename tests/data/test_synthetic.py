import numpy as np
import pytest

from cityfocus import DataError
from cityfocus.data.synthetic import synthetic_city


def test_deterministic_by_seed():
    a, b, c = synthetic_city(seed=3), synthetic_city(seed=3), synthetic_city(seed=4)
    assert a.data.equals(b.data)
    np.testing.assert_array_equal(a.truth.rate, b.truth.rate)
    assert a.truth.leads == b.truth.leads
    assert not np.array_equal(a.data.values, c.data.values)


def test_structure_and_planted_truth():
    city = synthetic_city(n_zones=24, days=28)
    data, truth = city.data, city.truth
    assert data.shape == (28 * 24, 24, 3)
    assert data.features == ("traffic", "pm25", "incidents") and data.target == "incidents"
    assert data.zones[["lat", "lon"]].notna().all().all()
    adj = data.adjacency
    assert adj is not None and np.allclose(adj, adj.T) and (np.diag(adj) == 0).all()
    # sensors have gaps; incident counts are always observed
    assert 0.005 < 1 - data.mask[:, :, :2].mean() < 0.2 and data.mask[:, :, 2].all()
    # incidents are Poisson draws around the planted rate
    incidents = data.target_values
    assert abs(incidents.mean() - truth.rate.mean()) < 0.05 * truth.rate.mean()
    # each planted lead is a graph link, and the follower repeats the leader's bursts
    assert len(truth.leads) >= 24 // 4 - 1
    for leader, follower, lag in truth.leads:
        assert adj[leader, follower] > 0 and truth.lead_matrix[follower, leader]
        assert lag in (2, 3)
    assert truth.lead_matrix.sum() == len(truth.leads)


def test_lagged_spillover_is_visible_in_traffic():
    city = synthetic_city(n_zones=24, days=56)
    data = city.data
    traffic, observed = data.values[:, :, 0].astype(np.float64), data.mask[:, :, 0]
    # remove each zone's weekly profile (mean by hour of week over observed readings)
    hour_of_week = np.asarray(data.timestamps.day_of_week * 24 + data.timestamps.hour)
    residual = np.zeros_like(traffic)
    for h in range(168):
        rows = hour_of_week == h
        mean = (traffic[rows] * observed[rows]).sum(0) / observed[rows].sum(0)
        residual[rows] = traffic[rows] - mean
    residual[~observed] = 0.0

    def corr(a, b):
        return np.corrcoef(a, b)[0, 1]

    for leader, follower, lag in city.truth.leads:
        at_lag = corr(residual[:-lag, leader], residual[lag:, follower])
        same_time = corr(residual[:, leader], residual[:, follower])
        assert at_lag > same_time + 0.1, (leader, follower, lag, at_lag, same_time)


def test_daily_cycle_and_rush_hours():
    city = synthetic_city()
    ts = city.data.timestamps
    weekday = np.asarray(ts.day_of_week < 5)
    traffic = city.data.values[:, :, 0].mean(axis=1)
    by_hour = np.array([traffic[weekday & (ts.hour == h)].mean() for h in range(24)])
    assert by_hour[8] > 2 * by_hour[3] and by_hour[17] > 2 * by_hour[3]
    weekend = traffic[~weekday].mean()
    assert weekend < traffic[weekday].mean()


def test_drift_moves_risk_and_marks_rising_zones():
    city = synthetic_city(drift_day=28)
    truth = city.truth
    assert truth.drift_step == 28 * 24
    assert truth.rising.any()
    before, after = truth.risk[truth.drift_step - 1], truth.risk[truth.drift_step]
    assert not np.allclose(before, after)
    with pytest.raises(DataError, match="drift_day"):
        synthetic_city(drift_day=100)

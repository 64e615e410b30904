"""Fault injection (seeded, only after ``start``, exactly the stated kinds and shares) and the
sensor check (finds injected stuck runs and spikes, leaves clean readings alone)."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.data.faults import SensorCheck, detection_scores, inject
from cityfocus.data.synthetic import synthetic_city
from cityfocus.errors import DataError


@pytest.fixture(scope="module")
def city():
    return synthetic_city(n_zones=20, days=28, seed=3).data


def traffic(data):
    return data.replace(target="traffic")


def test_missing_and_outages_drop_only_test_readings(city) -> None:
    data = traffic(city)
    start = 500
    k = data.target_index
    faulted, faults = inject(data, "missing", 0.3, seed=1, start=start)
    observed = data.mask[:, :, k]
    assert not faults.dropped[:start].any()
    share = faults.dropped[start:].sum() / observed[start:].sum()
    assert share == pytest.approx(0.3, abs=0.02)
    assert not (faulted.mask[:, :, k] & faults.dropped).any()
    np.testing.assert_array_equal(faulted.values[:start], data.values[:start])
    again, same = inject(data, "missing", 0.3, seed=1, start=start)
    np.testing.assert_array_equal(same.dropped, faults.dropped)  # seeded
    dark, out = inject(data, "outage", 0.1, seed=2, start=start)
    assert len(out.dark_zones) == 2
    dropped_zones = np.flatnonzero(out.dropped.any(axis=0))
    assert set(dropped_zones) <= set(out.dark_zones.tolist())
    # contiguous blocks of 2-12 hourly steps
    for i in out.dark_zones:
        runs = np.diff(np.flatnonzero(np.diff(np.r_[0, out.dropped[:, i].astype(int), 0])))[::2]
        assert runs.min() >= 1 and runs.max() <= 12


def test_stuck_and_spikes_corrupt_present_readings(city) -> None:
    data = traffic(city)
    k = data.target_index
    stuck, faults = inject(data, "stuck", 0.2, seed=4, start=300)
    assert faults.corrupted.any() and not faults.dropped.any()
    t, i = np.argwhere(faults.corrupted)[0]
    assert stuck.values[t, i, k] == stuck.values[t - 1, i, k] or not data.mask[t - 1, i, k]
    spiked, sp = inject(data, "spike", 0.01, seed=5, start=300)
    np.testing.assert_allclose(spiked.values[:, :, k][sp.corrupted],
                               5 * data.values[:, :, k][sp.corrupted])
    with pytest.raises(DataError, match="unknown fault"):
        inject(data, "melted", 0.1)
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        inject(data, "missing", 1.5)


@pytest.mark.parametrize("kind, rate", [("stuck", 0.2), ("spike", 0.01)])
def test_the_check_finds_injected_faults(city, kind, rate) -> None:
    data = traffic(city)
    k = data.target_index
    start = 400
    check = SensorCheck().fit(data.values[:start, :, k], data.mask[:start, :, k])
    faulted, faults = inject(data, kind, rate, seed=6, start=start)
    found = check.flags(faulted.values[:, :, k], faulted.mask[:, :, k])
    flagged = found["stuck"] | found["spike"]
    scores = detection_scores(flagged[start:], faults.corrupted[start:],
                              faulted.mask[start:, :, k])
    assert scores["f1"] >= 0.9 and scores["clean_flagged"] <= 0.01, scores
    clean = check.flags(data.values[:, :, k], data.mask[:, :, k])
    assert (clean["stuck"] | clean["spike"])[start:].mean() < 0.01
    masked = check.clean(faulted.values[:, :, k], faulted.mask[:, :, k])
    assert not (masked & flagged).any()


def test_detection_scores_by_hand() -> None:
    flagged = np.array([True, True, False, False])
    truth = np.array([True, False, True, False])
    observed = np.ones(4, dtype=bool)
    s = detection_scores(flagged, truth, observed)
    assert (s["precision"], s["recall"], s["clean_flagged"]) == (0.5, 0.5, 0.5)


def flat_check(**options) -> SensorCheck:
    """A check fitted on a noisy level series in 4 zones where 70 (a cap) often repeats."""
    rng = np.random.default_rng(0)
    x = np.round(50 + rng.normal(0, 3, (2000, 4)), 2)
    x[rng.random((2000, 4)) < 0.2] = 70.0
    return SensorCheck(**options).fit(x, np.ones_like(x, dtype=bool))


def test_a_run_is_judged_by_how_often_its_value_repeats() -> None:
    check = flat_check()
    series = np.round(50 + np.random.default_rng(1).normal(0, 3, (40, 4)), 2)
    series[10:16, 0] = 47.31  # a value in between: 6 equal readings are improbable
    series[10:16, 1] = 70.0  # the cap repeats often in clean history
    series[20:23, 2] = 47.31  # too short
    observed = np.ones_like(series, dtype=bool)
    observed[12, 3] = False
    series[9:16, 3] = 52.17  # stuck across an unobserved reading
    stuck = check.flags(series, observed)["stuck"]
    assert stuck[11:16, 0].all() and not stuck[10, 0]  # the first is the last good reading
    assert not stuck[:, 1].any() and not stuck[:, 2].any()
    assert stuck[[10, 11, 13, 14, 15], 3].all() and not stuck[12, 3]


def test_a_spike_rises_above_both_sides_a_step_does_not() -> None:
    check = flat_check(z=1.5)
    series = np.full((40, 4), 50.0) + np.random.default_rng(2).normal(0, 0.5, (40, 4))
    series[20, 0] *= 5  # a spike
    series[20:, 1] *= 5  # a step up that lasts
    series[20, 2] *= 0.2  # a dip: speeds drop for real, only rises are glitches
    series[39, 3] *= 5  # the newest reading: judged on the readings before it
    spike = check.flags(series, np.ones_like(series, dtype=bool))["spike"]
    assert spike[20, 0] and spike[39, 3]
    assert spike.sum() == 2


def test_fitted_on_the_readings_it_checks_it_still_finds_their_faults(city) -> None:
    # the service fits the check on a city's stored readings, faults included
    data = traffic(city)
    k = data.target_index
    for kind, rate in (("stuck", 0.2), ("spike", 0.01)):
        faulted, faults = inject(data, kind, rate, seed=7, start=300)
        values, observed = faulted.values[:, :, k], faulted.mask[:, :, k]
        found = SensorCheck().fit(values, observed).flags(values, observed)
        scores = detection_scores(found["stuck"] | found["spike"], faults.corrupted, observed)
        assert scores["f1"] >= 0.85 and scores["clean_flagged"] <= 0.01, (kind, scores)

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


@pytest.mark.parametrize("kind, rate, recall", [("stuck", 0.2, 0.8), ("spike", 0.01, 0.5)])
def test_the_check_finds_injected_faults(city, kind, rate, recall) -> None:
    data = traffic(city)
    k = data.target_index
    start = 400
    check = SensorCheck().fit(data.values[:start, :, k], data.mask[:start, :, k])
    faulted, faults = inject(data, kind, rate, seed=6, start=start)
    found = check.flags(faulted.values[:, :, k], faulted.mask[:, :, k])
    flagged = found["stuck"] | found["spike"]
    scores = detection_scores(flagged[start:], faults.corrupted[start:],
                              faulted.mask[start:, :, k])
    assert scores["recall"] >= recall and scores["precision"] >= 0.9, scores
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

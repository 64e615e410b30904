"""Every forecast the service makes first masks the readings the sensor check flags."""

from __future__ import annotations

import numpy as np

from cityfocus.data.faults import inject
from cityfocus.data.synthetic import synthetic_city
from cityfocus.serve.decisions.forecast import checked_readings, data_digest
from tests.serve.conftest import Served


def test_stuck_and_spiking_readings_are_masked_before_forecasting() -> None:
    data = synthetic_city(n_zones=12, days=21, seed=4).data.replace(target="traffic")
    clean, none = checked_readings(data)
    assert none == 0 and data_digest(clean) == data_digest(data)  # clean data: untouched
    stuck, faults = inject(data, "stuck", 0.25, seed=1, start=300)
    spiked, spikes = inject(stuck, "spike", 0.01, seed=2, start=300)
    checked, masked = checked_readings(spiked)
    k = data.target_index
    flagged = spiked.mask[:, :, k] & ~checked.mask[:, :, k]
    assert masked == int(flagged.sum()) > 0
    corrupted = faults.corrupted | spikes.corrupted
    assert (flagged & corrupted).sum() >= 0.8 * flagged.sum()  # mostly the broken ones
    assert np.all(checked.values[:, :, k][flagged] == 0)  # masked readings hold 0
    others = [f for f in range(data.shape[2]) if f != k]
    np.testing.assert_array_equal(checked.mask[:, :, others], spiked.mask[:, :, others])


def test_decisions_say_how_many_readings_were_masked(served: Served) -> None:
    with served.client(served.tokens["read"]) as client:
        answer = client.post("/cities/synthetic/whatif", json={"budget": 3, "units": True})
    assert answer.status_code == 200
    assert answer.json()["forecast"]["masked_readings"] == 0  # counts: bursts are demand

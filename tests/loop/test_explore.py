"""The exploring policy: its zone posterior, its revisit schedule and the limit D it keeps."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cityfocus.allocate.task import DecisionTask
from cityfocus.data.citydata import CityData
from cityfocus.errors import CityfocusError
from cityfocus.learn.policies import ExplorePolicy
from cityfocus.learn.posterior import city_prior, zone_posterior
from cityfocus.learn.revisit import revisit_zones, unseen_age
from cityfocus.loop import ReplayConfig, load_source, run_replay

RATES = np.array([20.0, 10.0, 5.0, 2.0, 0.02, 0.02])  # daily counts: two near-empty cells
TINY = {"synthetic_zones": 8, "synthetic_days": 14, "steps": 6, "budget": 3.0}


def daily_counts(days: int = 300, seed: int = 0) -> CityData:
    counts = np.random.default_rng(seed).poisson(RATES, size=(days, len(RATES)))
    return CityData(counts[:, :, None].astype(np.float32),
                    pd.date_range("2020-01-01", periods=days, freq="D"), features=["crime"])


def test_city_prior_recovers_the_spread_of_zone_rates():
    rng = np.random.default_rng(0)
    rates = rng.gamma(2.0, 3.0, size=4000)  # mean 6, variance 18
    steps = np.full(4000, 50.0)
    a0, b0 = city_prior(rng.poisson(rates * steps).astype(float), steps)
    assert a0 / b0 == pytest.approx(6.0, rel=0.05)
    assert a0 / b0**2 == pytest.approx(18.0, rel=0.15)  # Poisson noise removed


def test_posterior_follows_forecast_when_seen_and_level_when_not():
    data = daily_counts()
    mask = data.mask.copy()
    mask[200:, 2] = False  # zone 2 unobserved for the last 100 days
    store = data.replace(mask=mask)
    forecast = np.array([30.0, 10.0, 0.0, 2.0, 0.0, 0.0])  # the model knows nothing of zone 2
    post = zone_posterior(store, 300, 1, forecast, halflife=7.0, kappa=1.0, window=56)
    mean = post.mean()
    assert mean[0] == pytest.approx(30.0, rel=0.05)  # lots of recent evidence: the forecast
    assert post.evidence[2] == 0.0
    assert mean[2] == pytest.approx(5.0, rel=0.1)  # unseen lately: its long-run level
    sd = np.sqrt(post.shape) / post.rate
    assert sd[2] == pytest.approx(mean[2], rel=0.01)  # the drift spread: level / sqrt(kappa)
    assert sd[1] == pytest.approx(np.sqrt(10.0 / post.evidence[1]), rel=0.1)  # Poisson spread
    assert mean[4] < 0.1 and post.level[4] < 0.1


def test_widened_keeps_the_mean_and_scales_the_spread():
    post = zone_posterior(daily_counts(), 300, 1, RATES, halflife=7.0, kappa=1.0)
    wide = post.widened(3.0)
    np.testing.assert_allclose(wide.mean(), post.mean())
    np.testing.assert_allclose(np.sqrt(wide.shape) / wide.rate,
                               3.0 * np.sqrt(post.shape) / post.rate)


def test_thompson_draws_rarely_attend_near_empty_cells():
    data = daily_counts()
    mask = data.mask.copy()
    mask[250:, 3:] = False  # the weak cells went unobserved for 50 days
    store = data.replace(mask=mask)
    task = DecisionTask("coverage", 4.0, True, params={"alpha": 1.0})
    policy = ExplorePolicy(task, 1, beta=1.0, halflife=7.0, kappa=1.0, train_window=56)
    policy.fit(store, 300)
    attended = np.array([policy.allocate(store, 300 - k) > 0 for k in range(40)])
    assert attended[:, 4:].mean() < 0.05  # level ~0.02: not worth a unit
    assert attended[:, 3].mean() > 0.05  # level 2 and unseen: sometimes drawn above the cut


def test_draws_depend_only_on_seed_and_decision():
    store = daily_counts()
    task = DecisionTask("coverage", 4.0, True, params={"alpha": 1.0})
    policies = [ExplorePolicy(task, 1, beta=1.0, seed=s, train_window=56)
                for s in (0, 0, 1)]
    for p in policies:
        p.fit(store, 280)
    draws = [p.explored_demand(store, 280) for p in policies]
    assert np.array_equal(draws[0], draws[1]) and not np.array_equal(draws[0], draws[2])
    mean = ExplorePolicy(task, 1, beta=0.0, train_window=56)
    mean.fit(store, 280)
    np.testing.assert_allclose(mean.explored_demand(store, 280),
                               mean.posterior(store, 280).mean())


def test_unseen_age_counts_decisions_since_the_last_observation():
    mask = np.ones((10 * 4, 3), dtype=bool)  # 10 decisions of 4 steps
    mask[28:, 1] = False  # zone 1 last seen in decision 6
    mask[:, 2] = False  # zone 2 never seen
    assert unseen_age(mask, 40, 4).tolist() == [1, 4, 11]


def test_revisits_start_as_late_as_deadlines_allow():
    limit = 3
    age = np.array([1, 1, 1, 1, 1, 1, 1, 1])  # all seen last decision: all due in 3 more
    pick = revisit_zones(age, limit, np.ones(8, dtype=bool), capacity=10)
    assert pick.sum() == 2  # 8 zones, at most c = 2 a decision: start now to finish in time
    few = np.array([1, 1, 1, 0, 0, 0, 0, 0], bool)
    assert not revisit_zones(age, limit, few, capacity=10).any()  # 3 fit later: wait
    assert revisit_zones(age + 2, limit, few, capacity=10).sum() == 1  # 3 due within 1
    age = np.array([5, 4, 2, 1, 1, 1])  # zone 0 overdue, zone 1 due now
    pick = revisit_zones(age, limit, np.array([1, 1, 1, 1, 1, 0], bool), capacity=10)
    assert pick[:2].all() and not pick[5]
    assert revisit_zones(age, limit, np.ones(6, bool), capacity=1).tolist() == [
        True, False, False, False, False, False]


def test_revisit_limit_holds_in_a_replay():
    source = load_source(ReplayConfig(**TINY).resolved())
    runs = {limit: run_replay(ReplayConfig(policy="explore", revisit=limit, beta=0.0,
                                           **{**TINY, "steps": 10}), source=source)
            for limit in (0, 3)}
    assert max(r["max_unseen"] for r in runs[3]["records"]) <= 3
    assert max(r["max_unseen"] for r in runs[0]["records"]) > 3  # the rule is what holds it


def test_explore_settings_are_checked():
    task = DecisionTask("coverage", 4.0, True, params={"alpha": 1.0})
    with pytest.raises(CityfocusError, match="kappa > 0"):
        ExplorePolicy(task, 1, kappa=0.0)

"""Hindsight oracle and regret."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.allocate import AllocationError, AllocationProblem, solve
from cityfocus.allocate.oracle import oracle, regret, with_gap


@pytest.mark.parametrize("family", ["coverage", "variance", "linear"])
def test_regret_is_zero_for_the_oracle_and_positive_for_a_forecast(family):
    rng = np.random.default_rng(0)
    truth = rng.gamma(2.0, 2.0, 50)
    forecast = truth * rng.uniform(0.3, 1.7, 50)
    prob = AllocationProblem(forecast, 10.0, family, upper=2.0)
    planned = solve(prob)
    assert regret(prob, oracle(prob, truth).w, truth) == pytest.approx(0.0, abs=1e-9)
    gap = regret(prob, planned.w, truth)
    assert gap > 1e-6
    # regret is the gain difference measured on the realized demand
    truth_prob = AllocationProblem(truth, 10.0, family, upper=2.0)
    assert gap == pytest.approx(truth_prob.gain(oracle(prob, truth).w) - truth_prob.gain(planned.w))
    assert with_gap(prob, planned, truth).gap == pytest.approx(gap)


def test_regret_of_units_uses_the_integer_oracle():
    prob = AllocationProblem([5.0, 1.0, 1.0], 3, "coverage", units=True)
    truth = np.array([1.0, 5.0, 1.0])
    best = oracle(prob, truth).w  # unit gains: zone 1: 3.16, 1.16; zones 0 and 2: 0.63
    assert best[1] == 2.0 and best.sum() == 3.0
    assert regret(prob, solve(prob).w, truth) > 0


def test_batch_regret_and_shape_errors():
    rng = np.random.default_rng(1)
    truth = rng.gamma(2.0, 2.0, (4, 20))
    # with one alpha for all zones, a forecast off by a constant factor costs nothing...
    prob = AllocationProblem(truth * 1.5, 5.0, "log")
    gaps = regret(prob, solve(prob).w, truth)
    assert gaps.shape == (4,) and np.abs(gaps).max() < 1e-9
    # ...one off zone by zone does
    prob = AllocationProblem(truth * rng.uniform(0.5, 1.5, truth.shape), 5.0, "log")
    assert (regret(prob, solve(prob).w, truth) > 1e-9).all()
    with pytest.raises(AllocationError, match="allocation shape"):
        regret(prob, np.ones(20), truth)
    with pytest.raises(AllocationError, match="demand shape"):
        oracle(prob, truth[0])

"""Utility families: formulas, derivatives, inverses and the water-filling form."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.allocate import FAMILIES, AllocationError, make_utility
from cityfocus.allocate.utilities import phi

SMOOTH = ("coverage", "log", "variance", "delay")


def _util(family: str):
    params = {"delay": {"saturation": 12.0, "cycle": 60.0}, "linear": {"cap": 1.5}}
    return make_utility(family, **params.get(family, {"alpha": 1.7}))


def test_values_match_the_formulas_by_hand():
    w, d = np.array([0.0, 0.5, 2.0]), np.array([3.0, 3.0, 3.0])
    alpha = 1.7
    np.testing.assert_allclose(
        make_utility("coverage", alpha=alpha).value(w, d), d * (1 - np.exp(-alpha * w))
    )
    np.testing.assert_allclose(
        make_utility("log", alpha=alpha).value(w, d), d * np.log(1 + alpha * w)
    )
    np.testing.assert_allclose(
        make_utility("variance", alpha=alpha).value(w, d), d / (1 + alpha * w)
    )
    np.testing.assert_allclose(make_utility("linear", cap=1.0).value(w, d), [0.0, 1.5, 3.0])
    # Webster uniform delay: flow 3, saturation 12 (y = 0.25), cycle 60, green 0.5:
    # per-vehicle delay 60 * 0.5^2 / (2 * 0.75) = 10 s, times flow 3 = 30.
    delay = make_utility("delay", saturation=12.0, cycle=60.0)
    assert delay.value(np.array([0.5]), np.array([3.0]))[0] == pytest.approx(30.0)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_marginal_is_the_derivative_of_the_gain(family):
    util = _util(family)
    rng = np.random.default_rng(0)
    w = rng.uniform(0.05, 0.95, 50)
    d = rng.uniform(0.1, 10.0, 50)
    h = 1e-6
    numeric = (util.gain(w + h, d) - util.gain(w - h, d)) / (2 * h)
    if family == "linear":  # away from the kink at cap = 1.5, every w here is below it
        assert (w < 1.5).all()
    np.testing.assert_allclose(util.marginal(w, d), numeric, rtol=1e-6, atol=1e-8)
    assert (np.diff(util.marginal(np.linspace(0, 3, 200), np.full(200, 2.0))) <= 1e-12).all()


@pytest.mark.parametrize("family", list(FAMILIES))
def test_increment_is_a_gain_difference(family):
    util = _util(family)
    rng = np.random.default_rng(1)
    w, d, step = rng.uniform(0, 3, 40), rng.uniform(0, 10, 40), rng.uniform(0, 2, 40)
    np.testing.assert_allclose(
        util.increment(w, d, step), util.gain(w + step, d) - util.gain(w, d), atol=1e-10
    )


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("per_zone", [False, True])
def test_unit_gains_are_the_increments_of_one_unit(family, per_zone):
    rng = np.random.default_rng(4)
    x, d = rng.integers(1, 8, 60).astype(float), rng.uniform(0, 10, 60)
    x[:5] = 0.0  # the last-unit gain is left to the caller there
    alpha = rng.uniform(0.05, 30.0, 60) if per_zone else 1.7
    params = {
        "delay": {"saturation": rng.uniform(12.0, 20.0, 60) if per_zone else 12.0},
        "linear": {"cap": rng.uniform(0.5, 6.0, 60) if per_zone else 2.5},
    }
    util = make_utility(family, **params.get(family, {"alpha": alpha}))
    nxt, last = util.unit_gains(x, d)
    np.testing.assert_allclose(nxt, util.increment(x, d, 1.0), rtol=1e-13, atol=1e-300)
    before = util.increment(np.maximum(x - 1.0, 0.0), d, 1.0)
    np.testing.assert_allclose(last[5:], before[5:], rtol=1e-13)
    # an alpha whose exp(-alpha) underflows takes the plain increments
    big = make_utility("coverage", alpha=np.full(60, 800.0)).unit_gains(x, d)
    np.testing.assert_array_equal(big[0], make_utility("coverage", alpha=800.0).increment(x, d))


@pytest.mark.parametrize("family", list(FAMILIES))
def test_value_and_marginal_keep_full_accuracy(family):
    # shares from 1e-12 to 10 (coverage takes 1 - exp(-alpha w) from exp where that is exact)
    rng = np.random.default_rng(5)
    w = np.concatenate([10.0 ** rng.uniform(-12, 1, 400), np.zeros(5)])
    d = rng.uniform(0.1, 10.0, w.size)
    util = _util(family)
    value, marginal = util.value_and_marginal(w, d)
    np.testing.assert_allclose(value, util.value(w, d), rtol=1e-14, atol=0)
    np.testing.assert_allclose(marginal, util.marginal(w, d), rtol=1e-14, atol=0)


@pytest.mark.parametrize("family", SMOOTH)
def test_inverse_marginal_and_water_form_invert_the_marginal(family):
    util = _util(family)
    rng = np.random.default_rng(2)
    w = rng.uniform(0.0, 0.9, 60)
    d = rng.uniform(0.5, 10.0, 60)
    p = rng.uniform(0.5, 2.0, 60)
    lam = util.marginal(w, d)
    np.testing.assert_allclose(util.inverse_marginal(lam, d), w, atol=1e-9)
    a, b = util.water(d, p)
    np.testing.assert_allclose(a + b * phi(util.phi, p * lam), w, atol=1e-9)
    # a price above the starting slope gives nothing, a zero price gives the peak
    assert (util.inverse_marginal(2 * util.marginal(np.zeros(60), d), d) == 0).all()
    assert (util.inverse_marginal(np.zeros(60), d) == (1.0 if family == "delay" else np.inf)).all()


def test_zero_demand_zones_are_inactive_in_the_water_form():
    a, b = make_utility("coverage", alpha=2.0).water(np.array([0.0, 1.0]), np.ones(2))
    assert b[0] == 0 and a[0] == 0 and b[1] > 0


def test_unknown_family_lists_the_valid_ones():
    with pytest.raises(AllocationError, match="coverage, log, variance, linear, delay"):
        make_utility("quadratic")


@pytest.mark.parametrize(
    "family, params, message",
    [
        ("coverage", {"alpha": 0.0}, "alpha = 0.0 must be > 0"),
        ("log", {"alpha": [1.0, -2.0]}, "alpha = -2.0 at zone 1"),
        ("linear", {"cap": float("nan")}, "cap"),
        ("delay", {"cycle": -1.0}, "cycle"),
        ("coverage", {"cap": 1.0}, "unknown parameter"),
    ],
)
def test_bad_parameters_are_named(family, params, message):
    with pytest.raises(AllocationError, match=message):
        make_utility(family, **params)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_config_round_trips(family):
    util = _util(family)
    again = make_utility(**util.to_config())
    assert again.to_config() == util.to_config()
    assert type(again) is type(util)

"""The capacity family: exact on small instances (every allocation enumerated), the same as
one-unit-at-a-time greedy, shares against a linear program, and the mean plug-in as the
point-mass special case."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import optimize, stats

from cityfocus.allocate import AllocationError
from cityfocus.allocate.capacity import (
    expected_served,
    mean_plug_in,
    solve_capacity,
    survival_grid,
)


def poisson_survival(mu: np.ndarray, upto: int) -> np.ndarray:
    return stats.poisson(np.asarray(mu)[:, None]).sf(np.arange(upto))


def random_survival(rng: np.random.Generator, n: int, upto: int) -> np.ndarray:
    """Survival grids of random count distributions (mixtures, so not all Poisson-shaped)."""
    mu = rng.gamma(1.0, 1.5, size=n)
    r = rng.uniform(0.3, 5.0, size=n)
    nb = stats.nbinom(r[:, None], (r / (r + mu))[:, None]).sf(np.arange(upto))
    zero = rng.uniform(0, 0.6, size=n)[:, None]
    return (1 - zero) * nb


def test_expected_served_is_the_mean_of_the_minimum() -> None:
    rng = np.random.default_rng(1)
    mu = np.array([0.3, 2.0, 5.5])
    s = poisson_survival(mu, 60)
    for c in (0.0, 0.5, 1.0, 2.7, 8.0):
        draws = rng.poisson(mu[:, None], size=(3, 200_000))
        want = np.minimum(draws, c).mean(axis=1)
        np.testing.assert_allclose(expected_served(s, np.full(3, c)), want, atol=0.02)
    np.testing.assert_allclose(expected_served(s, np.full(3, 59.0)), mu, rtol=1e-9)


@pytest.mark.parametrize("seed", range(20))
def test_whole_units_are_optimal_by_enumeration(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, budget = 4, int(rng.integers(1, 7))
    kappa = float(rng.choice([0.5, 1.0, 1.5, 2.0]))
    s = random_survival(rng, n, 40)
    upper = rng.integers(1, 4, size=n).astype(float) if seed % 2 else None
    got = solve_capacity(s, kappa, budget, units=True, upper=upper)
    best = -1.0
    limit = np.full(n, budget) if upper is None else upper
    for w in itertools.product(*(range(int(min(budget, u)) + 1) for u in limit)):
        if sum(w) == min(budget, int(sum(limit))):
            best = max(best, float(expected_served(s, kappa * np.array(w, float)).sum()))
    assert got.objective == pytest.approx(best, rel=1e-12, abs=1e-12)
    assert got.w.sum() == min(budget, limit.sum())
    assert np.all(got.w == np.floor(got.w))


@pytest.mark.parametrize("seed", range(10))
def test_whole_units_match_one_unit_at_a_time_greedy(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, budget, kappa = 30, 25, 1.0
    s = random_survival(rng, n, 60)
    w = np.zeros(n)
    for _ in range(budget):
        gain = expected_served(s, kappa * (w + 1)) - expected_served(s, kappa * w)
        w[int(np.argmax(gain))] += 1
    got = solve_capacity(s, kappa, budget, units=True)
    assert got.objective == pytest.approx(float(expected_served(s, kappa * w).sum()), rel=1e-12)
    # the shadow price is the best next unit's gain
    nxt = expected_served(s, kappa * (got.w + 1)) - expected_served(s, kappa * got.w)
    assert got.shadow_price == pytest.approx(nxt.max())


@pytest.mark.parametrize("seed", range(8))
def test_shares_solve_the_linear_program(seed: int) -> None:
    rng = np.random.default_rng(200 + seed)
    n, k, kappa = 6, 12, float(rng.choice([0.7, 1.0, 2.5]))
    s = random_survival(rng, n, k)
    budget = float(rng.uniform(0.5, 4.0))
    upper = rng.uniform(0.2, 3.0, size=n)
    got = solve_capacity(s, kappa, budget, units=False, upper=upper)
    # LP over the pieces: maximise sum slope * x, 0 <= x <= piece length, share bounds
    slope = (kappa * s).ravel()
    length = np.full(n * k, 1.0 / kappa)
    zone = np.repeat(np.arange(n), k)
    a_ub = np.vstack([np.ones(n * k)] + [(zone == i).astype(float) for i in range(n)])
    b_ub = np.concatenate([[budget], upper])
    lp = optimize.linprog(-slope, A_ub=a_ub, b_ub=b_ub, bounds=list(zip(0 * length, length,
                                                                        strict=True)))
    assert lp.status == 0
    assert got.objective == pytest.approx(-lp.fun, rel=1e-9)
    assert got.w.sum() == pytest.approx(min(budget, np.minimum(upper, k / kappa).sum()))
    assert np.all(got.w <= upper + 1e-12)


def test_mean_plug_in_is_the_point_mass_case() -> None:
    rng = np.random.default_rng(5)
    mu = rng.gamma(1.0, 2.0, size=12)
    plug = mean_plug_in(mu, 1.0, 8, units=True)
    # a point mass at mu: V(w) = min(mu, w); enumerate the greedy on that
    w = np.zeros(12)
    for _ in range(8):
        gain = np.minimum(mu, w + 1) - np.minimum(mu, w)
        w[int(np.argmax(gain))] += 1
    assert np.minimum(mu, plug).sum() == pytest.approx(np.minimum(mu, w).sum())
    assert plug.sum() == 8


def test_the_distribution_matters_where_spread_differs() -> None:
    """Two zones with the same mean: the over-dispersed one deserves fewer sure units and
    the plug-in cannot tell them apart; the distribution-aware plan serves more."""
    mu, r = 2.0, 0.5
    steady = stats.poisson(mu).sf(np.arange(50))
    bursty = stats.nbinom(r, r / (r + mu)).sf(np.arange(50))
    s = np.vstack([steady, bursty])
    aware = solve_capacity(s, 1.0, 3, units=True)
    plug = mean_plug_in(np.array([mu, mu]), 1.0, 3, units=True)
    assert aware.objective >= float(expected_served(s, plug).sum()) - 1e-12
    assert aware.w[0] > aware.w[1]  # the steady zone uses units more surely


def test_bad_inputs_are_one_line_errors() -> None:
    s = poisson_survival(np.array([1.0]), 5)
    with pytest.raises(AllocationError, match="kappa"):
        solve_capacity(s, 0.0, 2)
    with pytest.raises(AllocationError, match="whole number"):
        solve_capacity(s, 1.0, 2.5, units=True)
    with pytest.raises(AllocationError, match="must not increase"):
        survival_grid(np.array([[0.2, 0.5]]))
    with pytest.raises(AllocationError, match=r"\[0, 1\]"):
        survival_grid(np.array([[1.5, 0.5]]))

"""Continuous water-filling: exact (vs cvxpy), feasible, KKT-optimal, batched = row by row."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import given, settings

from cityfocus.allocate import FAMILIES, AllocationProblem, allocate, solve_continuous
from cityfocus.allocate.reference import project_feasible, solve_cvxpy
from tests.allocate.problems import problems, random_problem


def assert_feasible(prob: AllocationProblem, w: np.ndarray) -> None:
    budget = prob.budget
    assert np.isfinite(w).all()
    assert (w >= prob.lower).all() and (w <= prob.upper).all()
    np.testing.assert_allclose(w.sum(axis=-1), budget, rtol=1e-9, atol=1e-12)


def assert_kkt(prob: AllocationProblem, alloc) -> None:
    """No transfer of budget between two zones can gain: the smallest left-marginal among
    zones above their lower bound is >= the largest right-marginal among zones below their
    upper bound, and the reported shadow price sits between them."""
    n = prob.n_zones
    w = np.asarray(alloc.w).reshape(-1, n)
    d = prob.rows()
    p, lo, hi = (a.reshape(-1, n) for a in (prob.weights, prob.lower, prob.upper))
    right = p * prob.utility.marginal(w, d)
    left = p * prob.utility.marginal_left(w, d)
    give = np.where(w > lo, left, np.inf).min(axis=1)
    take = np.where(w < hi, right, -np.inf).max(axis=1)
    scale = np.maximum(1.0, np.abs(right).max(axis=1))
    assert (give >= take - 1e-8 * scale).all(), (give, take)
    lam = np.atleast_1d(alloc.shadow_price)
    assert (lam >= np.maximum(take, 0) - 1e-8 * scale).all()
    assert (lam <= give + 1e-8 * scale).all()


@settings(max_examples=150, deadline=None)
@given(problems())
def test_shares_are_feasible_and_kkt_optimal(prob):
    alloc = solve_continuous(prob)
    assert_feasible(prob, alloc.w)
    assert_kkt(prob, alloc)
    np.testing.assert_allclose(alloc.marginal, prob.marginal(alloc.w))


@settings(max_examples=60, deadline=None)
@given(problems())
def test_objective_beats_random_feasible_points(prob):
    alloc = solve_continuous(prob)
    rng = np.random.default_rng(0)
    n, best = prob.n_zones, prob.gain(alloc.w)
    spread = float(prob.budget) / n + 1.0
    for _ in range(20):
        x = project_feasible(prob, prob.lower + rng.exponential(spread, n))
        assert_feasible(prob, x)
        assert best >= prob.gain(x) - 1e-9 * max(1.0, abs(best))


@pytest.mark.parametrize("family", list(FAMILIES))
@pytest.mark.parametrize("seed", range(3))
def test_matches_cvxpy_and_is_never_worse(family, seed):
    prob = random_problem(family, 25, np.random.default_rng(seed))
    ours = prob.gain(solve_continuous(prob).w)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Clarabel may call tight tolerances inaccurate
        ref = solve_cvxpy(prob)
    scale = max(1.0, abs(ours))
    assert abs(prob.gain(ref) - ours) <= 1e-7 * scale
    assert ours >= prob.gain(project_feasible(prob, ref)) - 1e-12 * scale


@pytest.mark.parametrize("family", list(FAMILIES))
def test_batch_equals_row_by_row(family):
    rng = np.random.default_rng(7)
    batch = random_problem(family, 40, rng, rows=6)
    together = solve_continuous(batch)
    for r in range(6):
        one = batch.row(r)
        alone = solve_continuous(one)
        np.testing.assert_allclose(together.w[r], alone.w, rtol=1e-9, atol=1e-12)
        assert together.shadow_price[r] == pytest.approx(alone.shadow_price, rel=1e-9)


def test_weights_act_like_scaled_demand_for_coverage():
    d = np.array([1.0, 4.0, 2.0, 0.5])
    p = np.array([2.0, 0.5, 1.0, 3.0])
    weighted = allocate(d, 2.0, "coverage", weights=p, alpha=1.3)
    scaled = allocate(d * p, 2.0, "coverage", alpha=1.3)
    np.testing.assert_allclose(weighted.w, scaled.w, atol=1e-12)


def test_sated_zones_take_the_rest_at_price_zero():
    # green shares past 1 buy no delay reduction: the extra goes anywhere, price is 0
    alloc = allocate([1.0, 2.0], 2.5, "delay", saturation=10.0, upper=[2.0, 1.0])
    assert alloc.shadow_price == 0.0 and alloc.objective == pytest.approx(0.0)
    np.testing.assert_allclose(alloc.w, [1.5, 1.0])
    linear = allocate([3.0, 1.0, 0.0], 5.0, "linear", cap=1.0)
    assert (linear.w[:2] >= 1.0).all() and linear.w.sum() == pytest.approx(5.0)
    assert linear.objective == pytest.approx(4.0) and linear.shadow_price == 0.0


def test_linear_fills_by_slope_order():
    alloc = allocate([1.0, 5.0, 3.0], 1.5, "linear", cap=1.0)
    np.testing.assert_allclose(alloc.w, [0.0, 1.0, 0.5])
    assert alloc.shadow_price == 3.0 and alloc.objective == pytest.approx(6.5)
    # without caps or upper bounds the steepest zone takes it all
    uncapped = allocate([1.0, 5.0, 3.0], 1.5, "linear", lower=[0.25, 0.0, 0.0])
    np.testing.assert_allclose(uncapped.w, [0.25, 1.25, 0.0])
    assert uncapped.shadow_price == 5.0


def test_large_problem_meets_its_budget():
    rng = np.random.default_rng(3)
    d = rng.gamma(0.5, 4.0, 200_000)
    alloc = allocate(d, 5_000.0, "coverage", alpha=rng.uniform(0.5, 2, d.size))
    assert alloc.w.sum() == pytest.approx(5_000.0, rel=1e-12)
    assert_kkt(AllocationProblem(d, 5_000.0, "coverage", alpha=1.0), allocate(d, 5_000.0))

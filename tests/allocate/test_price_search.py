"""The linear-time level searches agree with the sorting reference (``level_sorted``)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityfocus.allocate.continuous import level, level_sorted, newton_step, water_fill
from cityfocus.allocate.price_search import NEWTON_RTOL, level_newton, level_select
from tests.allocate.problems import problems, random_problem

SMOOTH = ("coverage", "log", "variance", "delay")


def _top(a, b, lo, hi, t_max):
    """Each row's total at price 0 (every zone at its peak)."""
    with np.errstate(all="ignore"):
        return np.where(b > 0, np.clip(a + b * t_max, lo, hi), lo).sum(axis=1)


def _coefficients(prob):
    n = prob.n_zones
    d = prob.rows()
    p, lo, hi = (x.reshape(-1, n) for x in (prob.weights, prob.lower, prob.upper))
    a, b = prob.utility.water(d, np.ascontiguousarray(p))
    return a, b, lo, hi, prob.budget.reshape(-1), prob.utility.t_max()


def _reference_shares(a, b, lo, hi, budget, t_max):
    """Water-filling with the sorted search (the solver before the linear-time search)."""
    t = newton_step(level_sorted(a, b, lo, hi, budget, t_max), a, b, lo, hi, budget)
    with np.errstate(all="ignore"):
        return np.where(b > 0, np.clip(a + b * t[:, None], lo, hi), lo), t


def _assert_same_shares(w, ref, budget):
    if w.size == 0:  # every row sated: nothing the level decides
        return
    scale = np.maximum(1.0, np.abs(budget))[:, None]
    np.testing.assert_allclose(w, ref, rtol=1e-9, atol=1e-9 * scale.max())


@settings(max_examples=1500, deadline=None)
@given(problems(families=SMOOTH, max_zones=30))
def test_selection_equals_the_sorted_search(prob):
    a, b, lo, hi, budget, t_max = _coefficients(prob)
    w = water_fill(a, b, lo, hi, budget, t_max)
    ref, _ = _reference_shares(a, b, lo, hi, budget, t_max)
    top = _top(a, b, lo, hi, t_max)
    if (top <= budget).any():  # sated: the leftover rule decides, not the level
        return
    _assert_same_shares(w, ref, budget)


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1), st.sampled_from(SMOOTH), st.integers(1, 40))
def test_batched_newton_equals_the_sorted_search(seed, family, n):
    prob = random_problem(family, n, np.random.default_rng(seed), rows=5)
    a, b, lo, hi, budget, t_max = _coefficients(prob)
    top = _top(a, b, lo, hi, t_max)
    sated = top <= budget
    t = level(a, b, lo, hi, budget, t_max, sated)
    with np.errstate(all="ignore"):
        w = np.where(b > 0, np.clip(a + b * t[:, None], lo, hi), lo)
    ref, _ = _reference_shares(a, b, lo, hi, budget, t_max)
    _assert_same_shares(w[~sated], ref[~sated], budget[~sated])


def test_ties_and_bounds_are_exact():
    # equal breakpoints everywhere, a zone pinned (lo = hi), zones without demand
    a = np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    b = np.array([[1.0, 1.0, 1.0, 1.0, 0.0, 2.0]])
    lo = np.array([[0.0, 0.0, 0.5, 0.0, 0.3, 0.0]])
    hi = np.array([[1.0, 1.0, 0.5, np.inf, 0.3, 1.0]])
    for budget in (0.8, 1.6, 2.0, 3.0, 4.0, 10.0):
        bud = np.array([budget])
        t = level_select(a[0], b[0], lo[0], hi[0], budget, np.inf)
        w = np.clip(a + b * t, lo, hi)
        w[0, 4] = lo[0, 4]
        assert w.sum() == pytest.approx(budget, rel=1e-12)
        ref, _ = _reference_shares(a, b, lo, hi, bud, np.inf)
        _assert_same_shares(w, ref, bud)


def test_budget_at_the_sum_of_lower_bounds():
    a, b = np.array([[-1.0, 0.5, 2.0]]), np.array([[1.0, 2.0, 0.5]])
    lo, hi = np.array([[0.2, 1.0, 3.0]]), np.array([[np.inf, 2.0, 4.0]])
    w = water_fill(a, b, lo, hi, lo.sum(axis=1), np.inf)
    np.testing.assert_allclose(w, lo, atol=1e-12)
    w = water_fill(a, b, lo, hi, np.array([1e6]), np.inf)
    assert w.sum() == pytest.approx(1e6) and (w <= hi).all()


def test_newton_reports_unfinished_rows():
    prob = random_problem("coverage", 50, np.random.default_rng(3), rows=4)
    a, b, lo, hi, budget, t_max = _coefficients(prob)
    t, done = level_newton(a, b, lo, hi, budget, t_max, np.zeros(4, dtype=bool))
    with np.errstate(all="ignore"):
        total = np.clip(a + b * t[:, None], lo, hi).sum(axis=1)
    ok = np.abs(total - budget) <= NEWTON_RTOL * np.maximum(1.0, budget)
    assert (ok == done).all()


@pytest.mark.slow
@pytest.mark.parametrize("family", SMOOTH)
def test_large_rows_match_the_sorted_search(family):
    rng = np.random.default_rng(21)
    for n in (10_000, 200_000):
        prob = random_problem(family, n, rng)
        a, b, lo, hi, budget, t_max = _coefficients(prob)
        w = water_fill(a, b, lo, hi, budget, t_max)
        ref, _ = _reference_shares(a, b, lo, hi, budget, t_max)
        _assert_same_shares(w, ref, budget)

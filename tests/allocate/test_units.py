"""Whole units: the greedy and the repaired relaxation both equal brute force."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings

from cityfocus.allocate import AllocationProblem, greedy_units, solve, solve_units
from cityfocus.allocate.units import unit_gains
from tests.allocate.problems import problems, random_problem


def brute_force_gain(prob: AllocationProblem) -> float:
    """Best gain over every integer point of the box with the right total."""
    k = int(prob.budget)
    pairs = zip(prob.lower, prob.upper, strict=True)
    ranges = [range(int(lo), int(min(hi, k)) + 1) for lo, hi in pairs]
    best = -np.inf
    for x in itertools.product(*ranges):
        if sum(x) == k:
            best = max(best, float(prob.gain(np.array(x, dtype=float))))
    return best


@settings(max_examples=120, deadline=None)
@given(problems(max_zones=4, units=True))
def test_integer_solution_equals_brute_force(prob):
    best = brute_force_gain(prob)
    tol = 1e-9 * max(1.0, abs(best))
    for alloc in (solve_units(prob), greedy_units(prob)):
        x = alloc.w
        assert (x == np.round(x)).all() and x.sum() == prob.budget
        assert (x >= prob.lower).all() and (x <= prob.upper).all()
        assert prob.gain(x) == pytest.approx(best, abs=tol)


@pytest.mark.parametrize("family", ["coverage", "log", "variance", "linear", "delay"])
def test_optimality_condition_on_a_larger_problem(family):
    prob = random_problem(family, 3000, np.random.default_rng(11), units=True)
    fast, heap = solve_units(prob), greedy_units(prob)
    assert fast.objective == pytest.approx(heap.objective, rel=1e-12, abs=1e-9)
    nxt, last = unit_gains(prob, fast.w)
    assert last.min() >= nxt.max() - 1e-9 * max(1.0, abs(nxt).max())
    assert fast.shadow_price == pytest.approx(max(nxt.max(), 0.0))


@pytest.mark.parametrize("family", ["coverage", "log", "variance", "delay"])
def test_a_long_row_started_from_its_sample_level_is_optimal(family):
    # 40,000 zones: the relaxation stops at the strided sample's level (not the budget's),
    # the repair restores the count, and the optimality condition certifies the result
    prob = random_problem(family, 40_000, np.random.default_rng(13), units=True)
    x = solve_units(prob).w
    assert (x == np.round(x)).all() and x.sum() == prob.budget
    assert (x >= prob.lower).all() and (x <= prob.upper).all()
    nxt, last = unit_gains(prob, x)
    assert last.min() >= nxt.max() - 1e-9 * max(1.0, abs(nxt).max())


@pytest.mark.slow
@pytest.mark.parametrize("family", ["coverage", "log", "variance", "linear", "delay"])
def test_a_long_row_equals_the_heap_greedy(family):
    prob = random_problem(family, 40_000, np.random.default_rng(14), units=True)
    fast, heap = solve_units(prob), greedy_units(prob)
    assert fast.objective == pytest.approx(heap.objective, rel=1e-12, abs=1e-9)


def test_batch_rows_are_solved_independently():
    rng = np.random.default_rng(5)
    prob = random_problem("log", 30, rng, units=True, rows=3)
    batch = solve(prob)
    for r in range(3):
        one = prob.row(r)
        assert batch.objective[r] == pytest.approx(solve(one).objective, rel=1e-12)


def test_units_flow_to_the_largest_gains():
    alloc = solve(AllocationProblem([10.0, 1.0, 5.0], 4, "coverage", units=True, alpha=1.0))
    # gains of successive units: zone 0: 6.32, 2.33, 0.86..; zone 2: 3.16, 1.16; zone 1: 0.63
    assert alloc.w.tolist() == [2.0, 0.0, 2.0]


def test_unit_solvers_refuse_share_problems():
    with pytest.raises(ValueError, match="units=True"):
        solve_units(AllocationProblem([1.0, 2.0], 2.0))

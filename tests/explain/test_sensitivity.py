"""Solver-side explanations against brute force on small problems."""

import itertools

import numpy as np
import pytest

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.explain.sensitivity import demand_for_increment, solver_view


def brute_force_units(problem: AllocationProblem) -> np.ndarray:
    """The optimal whole-unit allocation by enumerating every split of the budget."""
    n, k = problem.n_zones, int(problem.budget)
    best, best_w = -np.inf, None
    for w in itertools.product(range(k + 1), repeat=n):
        if sum(w) != k:
            continue
        w = np.array(w, dtype=float)
        if (w < problem.lower).any() or (w > problem.upper).any():
            continue
        value = float(problem.gain(w))
        if value > best + 1e-12:
            best, best_w = value, w
    return best_w


@pytest.mark.parametrize("family", ["coverage", "log", "variance"])
@pytest.mark.parametrize("seed", range(4))
def test_unit_thresholds_flip_exactly_one_unit(family, seed):
    rng = np.random.default_rng(seed)
    demand = rng.uniform(0.5, 5.0, size=4)
    problem = AllocationProblem(demand, 6, family, alpha=0.7, units=True, upper=5)
    allocation = solve(problem)
    view = solver_view(problem, allocation)
    np.testing.assert_array_equal(brute_force_units(problem), allocation.w)
    for i in range(4):
        for threshold, sign in ((view.gain_at[i], +1), (view.lose_at[i], -1)):
            if not np.isfinite(threshold):
                continue
            assert (threshold - demand[i]) * sign >= -1e-9  # on the right side of today
            for factor, moved in ((1 + 1e-6 * sign, sign), (1 - 1e-6 * sign, 0)):
                trial = demand.copy()
                trial[i] = threshold * factor
                w = brute_force_units(problem.with_demand(trial))
                assert w[i] - allocation.w[i] == moved, (i, sign, factor)


def test_no_threshold_at_a_bound_or_with_nothing_to_take():
    problem = AllocationProblem([3.0, 1.0, 0.5], 3, "coverage", units=True, upper=[1, 3, 3])
    view = solver_view(problem, solve(problem))
    assert np.isnan(view.gain_at[0])  # zone 0 is at its upper bound
    assert np.isnan(view.lose_at[2]) or view.w[2] > 0  # nothing to lose without a unit
    lone = AllocationProblem([1.0], 2, "coverage", units=True)
    lone_view = solver_view(lone, solve(lone))
    assert np.isnan(lone_view.gain_at[0]) and np.isnan(lone_view.lose_at[0])


def test_unit_view_numbers_match_the_solver():
    demand = np.array([4.0, 2.0, 1.0])
    problem = AllocationProblem(demand, 4, "coverage", alpha=0.5, units=True)
    allocation = solve(problem)
    view = solver_view(problem, allocation)
    util = problem.utility
    np.testing.assert_allclose(view.next_gain, util.increment(allocation.w, demand))
    held = allocation.w > 0
    np.testing.assert_allclose(view.last_gain[held],
                               util.increment(allocation.w[held] - 1, demand[held]))
    assert view.price == pytest.approx(view.next_gain.max())
    np.testing.assert_allclose(view.share, allocation.w / 4)


def test_demand_for_increment_inverts_the_increment():
    problem = AllocationProblem([1.0, 1.0], 2, "delay", saturation=10.0, cycle=60.0)
    util = problem.utility
    for w, target in ((0.2, 3.0), (0.5, 0.7)):
        d = demand_for_increment(util, w, target)
        assert d < 10.0
        assert float(util.increment(np.array([w]), np.array([d]), 1.0)[0]) == pytest.approx(
            target, rel=1e-9)
    assert np.isnan(demand_for_increment(util, 0.2, 0.0))


def test_share_thresholds_move_the_continuous_share_by_the_step():
    demand = np.array([3.0, 2.0, 1.0, 0.5])
    problem = AllocationProblem(demand, 10.0, "log", alpha=1.0)
    allocation = solve(problem)
    view = solver_view(problem, allocation, step=0.5)
    assert view.price == pytest.approx(allocation.shadow_price)
    for i in range(4):
        if np.isfinite(view.gain_at[i]):
            trial = demand.copy()
            trial[i] = view.gain_at[i]
            w = solve(problem.with_demand(trial)).w[i]
            assert w == pytest.approx(allocation.w[i] + 0.5, abs=1e-6)
        if np.isfinite(view.lose_at[i]):
            trial = demand.copy()
            trial[i] = view.lose_at[i]
            w = solve(problem.with_demand(trial)).w[i]
            assert w == pytest.approx(allocation.w[i] - 0.5, abs=1e-6)
    assert np.isfinite(view.gain_at).all()


def test_batches_are_refused():
    problem = AllocationProblem(np.ones((2, 3)), 2, "coverage", units=True)
    with pytest.raises(ValueError):
        solver_view(problem, solve(problem))


def test_unreachable_increment_below_a_ceiling_gives_nan_not_a_hang():
    # delay with whole units: a zone holding 1 unit (the whole cycle) gains nothing more, so
    # no demand below the saturation reaches the target (this loop used to run forever)
    problem = AllocationProblem([6.0, 1.0, 0.5, 0.2], 5, "delay", units=True, saturation=50.0)
    view = solver_view(problem, solve(problem))
    assert view.gain_at.shape == (4,)
    util = problem.utility
    assert np.isnan(demand_for_increment(util, 1.0, 0.1))

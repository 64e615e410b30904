"""The fast paths agree with the plain ones: trusted demand, Kiwiel's search behind the
whole-row Newton, linear by selection, incremental unit repair, torch without autograd."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import cityfocus.allocate.price_search as price_search
from cityfocus.allocate import FAMILIES, AllocationProblem, greedy_units, solve, solve_units
from cityfocus.allocate.continuous import (
    fill_best,
    fill_linear,
    fill_sorted,
    linear_row,
    newton_step,
    water_fill,
)
from cityfocus.allocate.torch_layer import solve_torch
from tests.allocate.problems import problems, random_problem
from tests.allocate.test_price_search import (
    SMOOTH,
    _assert_same_shares,
    _coefficients,
    _reference_shares,
    _top,
)


@settings(max_examples=150, deadline=None)
@given(problems(max_zones=40), st.booleans(), st.integers(0, 2**32 - 1))
def test_trusted_demand_gives_bit_identical_results(prob, units, seed):
    if units:
        prob = random_problem(prob.utility.name, prob.n_zones, np.random.default_rng(seed), True)
    rng = np.random.default_rng(seed)
    demand = prob.demand * rng.uniform(0.5, 1.0, prob.demand.shape)  # delay: stays below s
    checked, trusted = solve(prob.with_demand(demand)), solve(prob.with_demand(demand, check=False))
    for name in ("w", "objective", "shadow_price", "marginal"):
        np.testing.assert_array_equal(getattr(trusted, name), getattr(checked, name))


def test_trusted_demand_keeps_the_shape_check():
    prob = AllocationProblem([1.0, 2.0, 3.0], 2.0)
    with pytest.raises(ValueError, match="demand shape"):
        prob.with_demand([1.0, 2.0], check=False)


@settings(max_examples=400, deadline=None)
@given(problems(families=SMOOTH, max_zones=30))
def test_kiwiel_search_alone_equals_the_sorted_search(prob):
    a, b, lo, hi, budget, t_max = _coefficients(prob)
    if (_top(a, b, lo, hi, t_max) <= budget).any():
        return
    t = price_search.level_select(a[0], b[0], lo[0], hi[0], float(budget[0]), t_max)
    t = newton_step(np.array([t]), a, b, lo, hi, budget)
    with np.errstate(all="ignore"):
        w = np.where(b > 0, np.clip(a + b * t[:, None], lo, hi), lo)
    _assert_same_shares(w, _reference_shares(a, b, lo, hi, budget, t_max)[0], budget)


def test_rows_newton_leaves_fall_back_to_kiwiel(monkeypatch):
    prob = random_problem("coverage", 500, np.random.default_rng(8))
    a, b, lo, hi, budget, t_max = _coefficients(prob)
    fast = water_fill(a, b, lo, hi, budget, t_max)
    monkeypatch.setattr(price_search, "_DENSE_PASSES", 0)
    slow = water_fill(a, b, lo, hi, budget, t_max)
    _assert_same_shares(fast, slow, budget)


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(64, 3000), st.booleans())
def test_linear_by_selection_equals_the_sorted_fill(seed, n, ties):
    prob = random_problem("linear", n, np.random.default_rng(seed))
    rng = np.random.default_rng(seed + 1)
    d = np.round(prob.demand, 0) if ties else prob.demand  # many equal slopes
    p, lo, hi = prob.weights[None], prob.lower[None], prob.upper[None]
    cap = np.broadcast_to(prob.utility.params()["cap"], (1, n)) * (rng.random(n) < 0.9)
    cap = np.where(cap > 0, cap, np.inf)
    slope, budget = p * d, prob.budget.reshape(1)
    top = np.maximum(lo, np.minimum(cap, hi))
    room = np.where(slope > 0, top - lo, 0.0)
    w = linear_row(slope[0], room[0], lo[0], top[0], float(budget[0] - lo.sum()))
    if w is None:
        return
    two = lambda x: np.repeat(x, 2, axis=0)  # noqa: E731  (a batch: the sorted path)
    ref = fill_linear(two(slope), two(cap), two(lo), two(hi), two(budget))[0]
    value = lambda x: float((slope[0] * np.minimum(x, cap[0])).sum())  # noqa: E731
    assert value(w) == pytest.approx(value(ref), rel=1e-12, abs=1e-12)
    assert (w >= lo[0]).all() and (w <= hi[0]).all()
    assert w.sum() == pytest.approx(float(budget[0]), rel=1e-12)


@settings(max_examples=80, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(2, 400), st.booleans(), st.floats(0.0, 1.2))
def test_linear_rows_by_partition_equal_the_sorted_fill(seed, n, ties, spend):
    prob = random_problem("linear", n, np.random.default_rng(seed), rows=4)
    rng = np.random.default_rng(seed + 1)
    slope = prob.weights * (np.round(prob.demand, 0) if ties else prob.demand)
    cap = np.where(rng.random(n) < 0.9, prob.utility.params()["cap"], np.inf)
    lo, hi = np.broadcast_to(prob.lower, slope.shape), np.broadcast_to(prob.upper, slope.shape)
    top = np.maximum(lo, np.minimum(cap, hi))
    room = np.where(slope > 0, top - lo, 0.0)
    need, total = prob.budget - lo.sum(axis=1), room.sum(axis=1)
    with np.errstate(invalid="ignore"):  # spend * total: some rows sated
        need = np.where(np.isfinite(total), np.minimum(need, spend * total + 1e-9), need)
    w, ref = fill_best(slope, room, lo, top, need), fill_sorted(slope, room, lo, top, need)
    value = lambda x: (slope * np.minimum(x, cap)).sum(axis=1)  # noqa: E731
    np.testing.assert_allclose(value(w), value(ref), rtol=1e-12, atol=1e-12)
    assert (w >= lo).all() and (w <= hi).all()
    np.testing.assert_allclose(w.sum(axis=1), ref.sum(axis=1), rtol=1e-12, atol=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.sampled_from([f for f in FAMILIES]), st.integers(0, 2**32 - 1), st.integers(2, 300))
def test_incremental_unit_repair_equals_the_heap_greedy(family, seed, n):
    prob = random_problem(family, n, np.random.default_rng(seed), units=True)
    fast, heap = solve_units(prob), greedy_units(prob)
    assert fast.objective == pytest.approx(heap.objective, rel=1e-12, abs=1e-9)
    assert fast.shadow_price == pytest.approx(heap.shadow_price, rel=1e-9, abs=1e-12)


@pytest.mark.parametrize("family", SMOOTH)
def test_torch_without_gradients_equals_the_differentiable_shares(family):
    prob = random_problem(family, 80, np.random.default_rng(6), rows=6)
    args = {k: torch.tensor(np.array(getattr(prob, k))) for k in ("lower", "upper", "weights")}
    d = torch.as_tensor(prob.demand)
    plain = solve_torch(d, torch.as_tensor(prob.budget), prob.utility, **args)
    graded = solve_torch(
        d.clone().requires_grad_(), torch.as_tensor(prob.budget), prob.utility, **args
    )
    assert not plain.w.requires_grad and graded.w.requires_grad
    np.testing.assert_allclose(plain.w.numpy(), graded.w.detach().numpy(), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_value_and_marginal_equal_the_separate_calls(family):
    prob = random_problem(family, 200, np.random.default_rng(9), rows=3)
    w = solve(prob).w
    value, marginal = prob.utility.value_and_marginal(w, prob.demand)
    # to rounding: the shared work may order the operations differently
    np.testing.assert_allclose(value, prob.utility.value(w, prob.demand), rtol=1e-14, atol=0)
    np.testing.assert_allclose(marginal, prob.utility.marginal(w, prob.demand), rtol=1e-14, atol=0)


@pytest.mark.parametrize("family", SMOOTH)
def test_a_long_row_started_from_its_sample_equals_the_sorted_search(family):
    assert 40_000 > price_search._SAMPLE_START_ABOVE  # the sampled start is exercised
    prob = random_problem(family, 40_000, np.random.default_rng(12))
    a, b, lo, hi, budget, t_max = _coefficients(prob)
    w = water_fill(a, b, lo, hi, budget, t_max)
    _assert_same_shares(w, _reference_shares(a, b, lo, hi, budget, t_max)[0], budget)

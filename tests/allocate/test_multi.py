"""Several parts: own budgets, one shared budget across families, Pareto sweep."""

from __future__ import annotations

import warnings

import cvxpy as cp
import numpy as np
import pytest

from cityfocus.allocate import AllocationError, AllocationProblem, solve
from cityfocus.allocate.multi import pareto_sweep, solve_multi, weighted_gain
from cityfocus.allocate.reference import TIGHT, cvxpy_problem, random_problem


def test_own_budgets_solve_each_part_alone():
    rng = np.random.default_rng(0)
    parts = {
        "patrol": random_problem("coverage", 20, rng),
        "sensors": random_problem("variance", 15, rng),
    }
    result = solve_multi(parts)
    for name, prob in parts.items():
        assert result.parts[name].objective == pytest.approx(solve(prob).objective, rel=1e-12)
    assert result.shadow_price is None


def test_shared_budget_of_one_family_equals_the_joined_problem():
    rng = np.random.default_rng(1)
    d1, d2 = rng.gamma(1.0, 3.0, 30), rng.gamma(1.0, 3.0, 20)
    parts = {
        "a": AllocationProblem(d1, 0.0, "log", alpha=2.0, upper=1.5),
        "b": AllocationProblem(d2, 0.0, "log", alpha=2.0, upper=1.5),
    }
    result = solve_multi(parts, budget=12.0)
    joined = solve(AllocationProblem(np.concatenate([d1, d2]), 12.0, "log", alpha=2.0, upper=1.5))
    np.testing.assert_allclose(
        np.concatenate([result.parts["a"].w, result.parts["b"].w]), joined.w, atol=1e-9
    )
    assert result.shadow_price == pytest.approx(joined.shadow_price, rel=1e-9)
    assert sum(result.budget_split.values()) == pytest.approx(12.0, rel=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_mixed_families_match_cvxpy_on_the_weighted_objective(seed):
    rng = np.random.default_rng(seed)
    fams = ("coverage", "variance", "linear", "delay")
    parts = {f: random_problem(f, 12, rng) for f in fams}
    omega = {f: float(rng.uniform(0.2, 2.0)) for f in fams}
    lo = sum(p.lower.sum() for p in parts.values())
    budget = lo + 3.0
    result = solve_multi(parts, budget, omega)
    ws = {n: a.w for n, a in result.parts.items()}
    for name, prob in parts.items():
        assert (ws[name] >= prob.lower).all() and (ws[name] <= prob.upper).all()
    assert sum(w.sum() for w in ws.values()) == pytest.approx(budget, rel=1e-12)
    ours = weighted_gain(parts, ws, omega)
    assert ours == pytest.approx(result.objective, rel=1e-12)
    # cvxpy on the joined problem: each part's objective as a gain, one budget
    expr, cons, variables = 0, [], {}
    for name, prob in parts.items():
        sub, w = cvxpy_problem(prob)
        sign = 1.0 if isinstance(sub.objective, cp.Maximize) else -1.0
        expr = expr + omega[name] * sign * sub.objective.expr
        cons += sub.constraints[1:]  # bounds; the part's own budget is dropped
        variables[name] = w
    cons.append(sum(cp.sum(w) for w in variables.values()) == budget)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cp.Problem(cp.Maximize(expr), cons).solve(solver=cp.CLARABEL, **TIGHT)
    theirs = weighted_gain(parts, {n: v.value for n, v in variables.items()}, omega)
    assert ours >= theirs - 1e-7 * max(1.0, abs(ours))
    # no other split of the budget between the parts does better (each part optimal)
    lows = np.array([p.lower.sum() for p in parts.values()])
    highs = np.array([p.upper.sum() for p in parts.values()])
    for _ in range(20):
        split = lows + rng.dirichlet(np.ones(len(parts))) * (budget - lows.sum())
        if (split > highs).any():
            continue
        best = {
            n: solve(
                AllocationProblem(
                    p.demand, b, p.utility, lower=p.lower, upper=p.upper, weights=p.weights
                )
            ).w
            for (n, p), b in zip(parts.items(), split, strict=True)
        }
        assert ours >= weighted_gain(parts, best, omega) - 1e-9 * max(1.0, abs(ours))


def test_pareto_sweep_trades_one_objective_for_the_other():
    rng = np.random.default_rng(3)
    parts = {
        "patrol": AllocationProblem(rng.gamma(1.0, 4.0, 25), 0.0, "coverage", alpha=1.0),
        "sensors": AllocationProblem(rng.gamma(1.0, 4.0, 25), 0.0, "variance", alpha=2.0),
    }
    points = pareto_sweep(parts, budget=10.0, steps=6)
    assert [p.weights["patrol"] for p in points] == pytest.approx([0, 0.2, 0.4, 0.6, 0.8, 1])
    patrol = [p.budget_split["patrol"] for p in points]
    assert patrol[0] == pytest.approx(0.0) and patrol[-1] == pytest.approx(10.0)
    assert all(b >= a - 1e-9 for a, b in zip(patrol, patrol[1:], strict=False))
    covered = [p.objectives["patrol"] for p in points]
    variance = [p.objectives["sensors"] for p in points]
    assert covered == sorted(covered) and variance == sorted(variance)  # both rise together
    assert all(p.efficient for p in points)


def test_bad_combinations_are_refused():
    a = AllocationProblem([1.0, 2.0], 1.0)
    with pytest.raises(AllocationError, match="outside"):
        solve_multi({"a": a}, budget=-1.0)
    with pytest.raises(AllocationError, match="unknown part 'b'"):
        solve_multi({"a": a}, budget=1.0, objective_weights={"b": 1.0})
    with pytest.raises(AllocationError, match="whole units"):
        solve_multi({"a": AllocationProblem([1.0, 2.0], 1, units=True)}, budget=2.0)

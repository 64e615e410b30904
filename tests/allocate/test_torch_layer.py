"""The torch solver: same answers as numpy, batched, on the input's device, differentiable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from cityfocus.allocate import FAMILIES, AllocationError, AllocationProblem, solve_continuous
from cityfocus.allocate.torch_layer import AllocationLayer, solve_torch
from tests.allocate.problems import random_problem

SMOOTH = ("coverage", "log", "variance", "delay")


def _torch_args(prob: AllocationProblem) -> dict:
    t = lambda a: torch.as_tensor(np.ascontiguousarray(a))  # noqa: E731
    return dict(
        budget=t(prob.budget),
        utility=prob.utility,
        lower=t(prob.lower),
        upper=t(prob.upper),
        weights=t(prob.weights),
    )


@pytest.mark.parametrize("family", list(FAMILIES))
def test_matches_the_numpy_solver_on_a_batch(family):
    prob = random_problem(family, 60, np.random.default_rng(4), rows=8)
    ref = solve_continuous(prob)
    out = solve_torch(torch.as_tensor(prob.demand), **_torch_args(prob))
    np.testing.assert_allclose(out.w.numpy(), ref.w, rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(out.objective.numpy(), ref.objective, rtol=1e-10)
    np.testing.assert_allclose(out.shadow_price.numpy(), ref.shadow_price, rtol=1e-8, atol=1e-12)


def test_single_problem_and_float32_keep_shape_and_dtype():
    d = torch.tensor([3.0, 1.0, 0.0, 2.0])
    out = solve_torch(d, 2.0, "coverage", alpha=1.5)
    assert out.w.shape == (4,) and out.w.dtype == torch.float32 and out.objective.dim() == 0
    ref = solve_continuous(AllocationProblem(d.double().numpy(), 2.0, "coverage", alpha=1.5))
    np.testing.assert_allclose(out.w.numpy(), ref.w, atol=1e-5)
    assert out.w.device == d.device


@pytest.mark.parametrize("family", SMOOTH)
def test_gradients_match_finite_differences(family):
    rng = np.random.default_rng(9)
    n = 7
    params = {"alpha": 1.3} if family != "delay" else {"saturation": 40.0, "cycle": 60.0}
    upper = 1.0 if family == "delay" else 1.2
    demand = torch.tensor(rng.uniform(1.0, 9.0, (2, n)), dtype=torch.float64, requires_grad=True)
    budget = torch.tensor(
        [0.8, 1.1] if family == "delay" else [2.5, 3.0], dtype=torch.float64, requires_grad=True
    )

    def shares(d, b):
        return solve_torch(d, b, family, upper=upper, **params).w

    assert torch.autograd.gradcheck(shares, (demand, budget), eps=1e-6, atol=1e-6)


def test_budget_gradient_of_linear_goes_to_the_zone_being_filled():
    budget = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    w = solve_torch(torch.tensor([1.0, 5.0, 3.0], dtype=torch.float64), budget, "linear", cap=1.0).w
    (grad,) = torch.autograd.grad(w @ torch.tensor([10.0, 20.0, 30.0], dtype=torch.float64), budget)
    assert float(grad) == pytest.approx(30.0)


def test_training_through_the_layer_lowers_regret():
    """Gradient steps on a demand forecast, through the layer, reach the oracle's shares."""
    torch.manual_seed(0)
    truth = torch.rand(16, 20, dtype=torch.float64) * 5 + 0.5
    layer = AllocationLayer("coverage", budget=4.0, alpha=1.0)
    oracle = layer(truth)
    logits = torch.zeros_like(truth, requires_grad=True)
    opt = torch.optim.Adam([logits], lr=0.1)
    first = None
    for _ in range(150):
        loss = ((layer(torch.exp(logits)) - oracle) ** 2).mean()
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.05 * first


def test_bad_input_is_reported():
    with pytest.raises(AllocationError, match="zone 1: demand nan"):
        solve_torch(torch.tensor([[1.0, float("nan")]]), 1.0)
    with pytest.raises(AllocationError, match="budget outside"):
        solve_torch(torch.tensor([1.0, 2.0]), 3.0, upper=1.0)


def test_gradients_stay_finite_when_some_rows_are_sated():
    # row 0: zone 0 is full at its bound and zone 1 has no demand: the budget overflows
    # into zone 1 at price 0; row 1 has no upper bounds (its peak shares are infinite)
    f64 = torch.float64
    demand = torch.tensor([[1.0, 0.0], [1.0, 2.0]], dtype=f64, requires_grad=True)
    budget = torch.tensor([3.0, 0.8], dtype=f64, requires_grad=True)
    upper = torch.tensor([[1.0, 5.0], [float("inf"), float("inf")]], dtype=f64)
    out = solve_torch(demand, budget, "coverage", upper=upper)
    assert out.shadow_price[0] == 0 and out.shadow_price[1] > 0
    assert torch.allclose(out.w[0], torch.tensor([1.0, 2.0], dtype=f64))
    (out.w * torch.tensor([1.0, 3.0], dtype=f64)).sum().backward()
    assert torch.isfinite(demand.grad).all() and torch.isfinite(budget.grad).all()
    assert float(budget.grad[0]) == pytest.approx(3.0)  # the overflow goes to zone 1 only

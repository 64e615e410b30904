"""Bad input fails with one clear line naming the zone and the violated condition."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.allocate import AllocationError, AllocationProblem, allocate
from cityfocus.errors import CityfocusError


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"demand": [1.0, 2.0, float("nan")]}, r"zone 2: demand is nan"),
        ({"demand": [1.0, -2.0, 3.0]}, r"zone 1: demand -2 is negative"),
        ({"demand": [[1.0, 2.0, 3.0], [1.0, 2.0, np.inf]]}, r"problem 1, zone 2: demand is inf"),
        ({"budget": 0.5, "lower": [0.2, 0.2, 0.2]}, r"budget 0.5 is below the sum of lower"),
        ({"budget": 5.0, "upper": [1.0, 1.0, 1.0]}, r"budget 5 exceeds the sum of upper"),
        ({"lower": [0.0, 0.5, 0.0], "upper": [1.0, 0.4, 1.0]}, r"zone 1: upper bound 0.4 < lower"),
        ({"lower": [0.0, -0.1, 0.0]}, r"zone 1: lower bound -0.1 is invalid"),
        ({"utility": "fairness"}, r"unknown utility family 'fairness'; valid families: coverage"),
        ({"lower": [0.0, 0.0]}, r"lower has 2 values but demand has 3 zones"),
        ({"weights": [1.0, 1.0, 1.0, 1.0]}, r"weights has 4 values but demand has 3 zones"),
        ({"alpha": [1.0, 2.0]}, r"alpha has 2 values but demand has 3 zones"),
        ({"budget": -1.0}, r"budget -1.0 must be finite and >= 0"),
        ({"units": True, "budget": 2.5}, r"whole number"),
        (
            {"units": True, "lower": [0.2, 0.0, 0.0], "upper": [0.7, 5.0, 5.0]},
            r"zone 0: no whole number of units between lower 0.2 and upper 0.7",
        ),
        (
            {"utility": "delay", "saturation": [10.0, 1.5, 10.0], "budget": 0.9},
            r"delay: zone 1 has flow/saturation = 1.33 >= 1",
        ),
    ],
)
def test_bad_input_names_what_and_where(kwargs, message):
    args = {"demand": [1.0, 2.0, 3.0], "budget": 2.0, **kwargs}
    with pytest.raises(AllocationError, match=message) as info:
        AllocationProblem(args.pop("demand"), args.pop("budget"), **args)
    assert isinstance(info.value, CityfocusError) and isinstance(info.value, ValueError)
    assert "\n" not in str(info.value)


def test_a_valid_problem_broadcasts_its_bounds():
    prob = AllocationProblem([[1.0, 2.0], [3.0, 4.0]], [1.0, 2.0], "log", upper=5.0)
    assert prob.batched and prob.upper.shape == (2, 2) and prob.budget.tolist() == [1.0, 2.0]
    assert prob.lower.sum() == 0 and (prob.weights == 1).all()


def test_units_round_bounds_inward():
    prob = AllocationProblem([1.0, 2.0], 3, lower=[0.5, 0.0], upper=[2.9, 9.0], units=True)
    assert prob.lower.tolist() == [1.0, 0.0] and prob.upper.tolist() == [2.0, 9.0]


def test_never_a_silent_nan_allocation():
    alloc = allocate([0.0, 0.0, 0.0], 3.0, "coverage")  # nobody gains: spread, price 0
    assert np.isfinite(alloc.w).all() and alloc.w.sum() == pytest.approx(3.0)
    assert alloc.shadow_price == 0.0

"""Hypothesis strategy of random allocation problems (instances from ``reference``)."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cityfocus.allocate import FAMILIES
from cityfocus.allocate.reference import random_problem

__all__ = ["problems", "random_problem"]


@st.composite
def problems(draw, families=tuple(FAMILIES), max_zones: int = 12, units: bool = False):
    """``AllocationProblem`` of a drawn family and size from a drawn numpy seed."""
    family = draw(st.sampled_from(families))
    n = draw(st.integers(1, max_zones))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_problem(family, n, np.random.default_rng(seed), units=units)

"""Random allocation problems for property tests: hypothesis strategies and a numpy sampler."""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from cityfocus.allocate import FAMILIES, AllocationProblem

SMOOTH = ("coverage", "log", "variance", "delay")


def family_params(family: str, demand: np.ndarray, rng: np.random.Generator) -> dict:
    """Per-zone parameters that make a valid instance of ``family`` for ``demand [N]``."""
    n = demand.shape[-1]
    if family in ("coverage", "log", "variance"):
        return {"alpha": rng.uniform(0.1, 5.0, n)}
    if family == "linear":
        return {"cap": rng.uniform(0.1, 3.0, n)}
    saturation = demand.max(axis=0) * rng.uniform(1.2, 4.0, n) + rng.uniform(0.5, 2.0, n)
    return {"saturation": saturation, "cycle": float(rng.uniform(30, 120))}


def random_problem(
    family: str, n: int, rng: np.random.Generator, units: bool = False, rows: int | None = None
) -> AllocationProblem:
    """A feasible random problem: some zero demands, some bounds, some infinite uppers."""
    shape = (n,) if rows is None else (rows, n)
    demand = rng.uniform(0.0, 10.0, shape) * (rng.random(shape) > 0.15)
    demand *= 10.0 ** rng.uniform(-2, 2)
    if units:
        lower = rng.integers(0, 2, n).astype(float)
        upper = lower + rng.integers(0, 6, n)
        upper[rng.random(n) < 0.3] = np.inf
    else:
        lower = rng.uniform(0.0, 0.3, n) * (rng.random(n) < 0.4)
        upper = lower + rng.uniform(0.0, 3.0, n)
        upper[rng.random(n) < 0.4] = np.inf
        if family == "delay":
            upper = np.maximum(np.minimum(upper, 1.2), lower)
    span = min(upper.sum(), lower.sum() + rng.uniform(0.0, 2.0) * n)
    budget = (
        rng.uniform(lower.sum(), span) if rows is None else rng.uniform(lower.sum(), span, rows)
    )
    if units:
        budget = np.floor(budget)
    return AllocationProblem(
        demand,
        budget,
        family,
        lower=lower,
        upper=upper,
        weights=rng.uniform(0.5, 2.0, n),
        units=units,
        **family_params(family, demand, rng),
    )


@st.composite
def problems(draw, families=tuple(FAMILIES), max_zones: int = 12, units: bool = False):
    """Hypothesis strategy of ``AllocationProblem`` (seeded numpy draws, shrinkable sizes)."""
    family = draw(st.sampled_from(families))
    n = draw(st.integers(1, max_zones))
    seed = draw(st.integers(0, 2**32 - 1))
    return random_problem(family, n, np.random.default_rng(seed), units=units)

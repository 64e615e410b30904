"""Paired moving-block bootstrap intervals for comparing two allocation rules decision by
decision (numpy only).

Consecutive decisions share weather, weekday and overlapping horizons, so they are resampled
in runs of ``block`` decisions (Künsch's moving-block bootstrap), and the two rules' values of
one decision stay paired.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike

RESAMPLES = 2000
LEVEL = 0.95


def ratio_interval(numerator: ArrayLike, denominator: ArrayLike, block: int,
                   resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float] | None:
    """``LEVEL`` percentile interval of ``sum(numerator) / sum(denominator)`` over paired
    per-decision values, resampling runs of ``block`` consecutive decisions (moving-block
    bootstrap; as many runs as cover the decisions). ``None`` when it is undefined (no
    decisions, or a resampled denominator of 0)."""
    a, b = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or len(a) == 0:
        return None
    block = int(min(max(block, 1), len(a)))
    run_a = np.convolve(a, np.ones(block), "valid")  # sum of each run of `block` decisions
    run_b = np.convolve(b, np.ones(block), "valid")
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(run_a), size=(resamples, -(-len(a) // block)))
    top, bottom = run_a[starts].sum(1), run_b[starts].sum(1)
    if np.any(bottom == 0):
        return None
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(top / bottom, [tail, 100 - tail])
    return float(low), float(high)

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


def _resampled_sums(series: list[np.ndarray], block: int, resamples: int,
                    seed: int) -> list[np.ndarray] | None:
    """For paired per-decision ``series`` (same length), the sums of each over ``resamples``
    moving-block resamples (runs of ``block`` decisions, as many as cover them), every series
    resampled at the same runs. None without decisions or with mismatched lengths."""
    n = len(series[0])
    if n == 0 or any(s.ndim != 1 or len(s) != n for s in series):
        return None
    block = int(min(max(block, 1), n))
    runs = [np.convolve(s, np.ones(block), "valid") for s in series]  # each run's sum
    rng = np.random.default_rng(seed)
    starts = rng.integers(0, len(runs[0]), size=(resamples, -(-n // block)))
    return [run[starts].sum(1) for run in runs]


def _percentiles(values: np.ndarray) -> tuple[float, float]:
    tail = (1 - LEVEL) / 2 * 100
    low, high = np.percentile(values, [tail, 100 - tail])
    return float(low), float(high)


def ratio_interval(numerator: ArrayLike, denominator: ArrayLike, block: int,
                   resamples: int = RESAMPLES, seed: int = 0) -> tuple[float, float] | None:
    """``LEVEL`` percentile interval of ``sum(numerator) / sum(denominator)`` over paired
    per-decision values, resampling runs of ``block`` consecutive decisions (moving-block
    bootstrap; as many runs as cover the decisions). ``None`` when it is undefined (no
    decisions, or a resampled denominator of 0)."""
    a, b = np.asarray(numerator, dtype=np.float64), np.asarray(denominator, dtype=np.float64)
    sums = _resampled_sums([a, b], block, resamples, seed)
    if sums is None or np.any(sums[1] == 0):
        return None
    return _percentiles(sums[0] / sums[1])


def ratio_of_ratios_interval(num_a: ArrayLike, den_a: ArrayLike, num_b: ArrayLike,
                             den_b: ArrayLike, block: int, resamples: int = RESAMPLES,
                             seed: int = 0) -> tuple[float, float] | None:
    """``LEVEL`` interval of ``(sum num_a / sum den_a) / (sum num_b / sum den_b)`` — two rules'
    pooled ratios (a PAI, a PEI) compared — by the same paired moving-block bootstrap. None
    when undefined (no decisions, or a resampled zero where a division needs a non-zero)."""
    parts = [np.asarray(x, dtype=np.float64) for x in (num_a, den_a, num_b, den_b)]
    sums = _resampled_sums(parts, block, resamples, seed)
    if sums is None or any(np.any(sums[i] == 0) for i in (1, 2, 3)):
        return None
    return _percentiles((sums[0] / sums[1]) / (sums[2] / sums[3]))

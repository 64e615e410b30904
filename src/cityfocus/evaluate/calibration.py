"""How good a count forecast is as a distribution, not only as a mean.

- ``poisson_deviance``: ``2 mean(y log(y / mu) - (y - mu))`` (the Poisson GLM's deviance per
  entry, ``0 log 0 = 0``): the proper score of a mean for counts;
- ``interval_coverage``: the share of counts inside the central ``level`` interval
  ``[q((1-level)/2), q((1+level)/2)]`` (closed; for counts it covers at least ``level`` when
  calibrated, more where most mass sits on one value such as 0);
- ``pit``: the randomised probability integral transform of counts (Czado, Gneiting & Held
  2009, "Predictive model assessment for count data", Biometrics 65:1254-1261):
  ``u = F(y - 1) + v P(y)`` with ``v ~ U(0, 1)``; uniform on [0, 1] exactly when the forecast
  is calibrated. ``pit_coverage(level)`` = share of ``u`` in the central ``level`` band: the
  interval coverage a continuous forecast would have, so ``level`` is the calibrated value;
- ``pit_histogram``: counts of ``u`` in ``bins`` equal bins (flat when calibrated).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np


class CountDistribution(Protocol):
    """What these figures need of a count forecast (``cityfocus.models.counts`` has one)."""

    @property
    def family(self) -> str: ...

    @property
    def mean(self) -> np.ndarray: ...

    @property
    def size(self) -> float | None: ...

    @property
    def zero(self) -> float | None: ...

    def cdf(self, k: np.ndarray | float) -> np.ndarray: ...

    def pmf(self, k: np.ndarray | float) -> np.ndarray: ...

    def logpmf(self, k: np.ndarray) -> np.ndarray: ...

    def quantile(self, q: float) -> np.ndarray: ...


def poisson_deviance(y: np.ndarray, mu: np.ndarray) -> float:
    """Mean Poisson deviance of means ``mu`` for counts ``y`` (``mu`` floored at 1e-9)."""
    y = np.asarray(y, dtype=np.float64)
    mu = np.clip(np.asarray(mu, dtype=np.float64), 1e-9, None)
    with np.errstate(divide="ignore", invalid="ignore"):
        term = np.where(y > 0, y * np.log(y / mu), 0.0)
    return float(2.0 * np.mean(term - (y - mu)))


def interval_coverage(dist: CountDistribution, y: np.ndarray, level: float) -> float:
    """Share of ``y`` inside the closed central ``level`` interval of ``dist``."""
    low = dist.quantile((1 - level) / 2)
    high = dist.quantile((1 + level) / 2)
    y = np.asarray(y, dtype=np.float64)
    return float(np.mean((y >= low) & (y <= high)))


def pit(dist: CountDistribution, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Randomised PIT values of counts ``y`` under ``dist`` (seeded)."""
    y = np.rint(np.clip(np.asarray(y, dtype=np.float64), 0, None))
    below = dist.cdf(y - 1)
    at = dist.pmf(y)
    v = np.random.default_rng(seed).random(y.shape)
    return np.clip(below + v * at, 0.0, 1.0)


def pit_coverage(u: np.ndarray, level: float) -> float:
    """Share of PIT values in the central ``level`` band ``[(1-level)/2, (1+level)/2]``."""
    return float(np.mean((u >= (1 - level) / 2) & (u <= (1 + level) / 2)))


def pit_histogram(u: np.ndarray, bins: int = 10) -> list[int]:
    counts, _ = np.histogram(u, bins=bins, range=(0.0, 1.0))
    return [int(c) for c in counts]


def calibration(dist: CountDistribution, y: np.ndarray, seed: int = 0) -> dict[str, Any]:
    """Every figure above for ``dist`` against counts ``y`` (same shape)."""
    u = pit(dist, y, seed)
    return {"family": dist.family, "size": dist.size, "zero": dist.zero,
            "poisson_deviance": poisson_deviance(y, dist.mean),
            "log_score": float(-dist.logpmf(np.rint(np.clip(y, 0, None))).mean()),
            "coverage_50": interval_coverage(dist, y, 0.5),
            "coverage_90": interval_coverage(dist, y, 0.9),
            "pit_coverage_50": pit_coverage(u, 0.5), "pit_coverage_90": pit_coverage(u, 0.9),
            "pit_histogram": pit_histogram(u)}

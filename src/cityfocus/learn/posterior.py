"""Per-zone Gamma posterior over the demand of the next decision, from observed readings only.

Counts are modelled as Poisson with a per-zone rate ``lambda_i`` (demand per decision). Each
observed target reading is split by its age between two uses, so it counts once in all:

- weight ``g = 0.5 ** (age / (halflife * horizon))`` towards the zone's **recent evidence**
  ``n_i = sum g / horizon`` (decisions' worth of observed steps; ``g = 0`` outside the
  model's training window, since the model's forecast comes from inside it);
- weight ``1 - g`` towards the zone's **long-run level** ``l_i``, the Gamma–Poisson posterior
  mean ``(a0 + sum (1-g) y) / (b0 + sum (1-g) / horizon)`` under a city-wide prior
  ``Gamma(a0, b0)`` fitted across zones by the method of moments (empirical Bayes; the
  Poisson part of the spread between zones is removed first).

The current rate may have drifted from the level: ``lambda_i ~ Gamma(kappa, kappa / l_i)``
(mean ``l_i``, coefficient of variation ``1 / sqrt(kappa)``). The model's forecast ``f_i`` is
taken as the sample mean of the recent evidence, so by conjugacy

    ``lambda_i | data ~ Gamma(kappa + n_i f_i, kappa / l_i + n_i)``.

A zone observed lately sits at its forecast with spread ``~ sqrt(f_i / n_i)``; a zone not
observed for a while falls back to its long-run level with the drift spread, so a zone with
a near-zero level (most of a sparse crime grid) is never thought likely to need a unit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from cityfocus.data.citydata import CityData


@dataclass(frozen=True)
class RatePosterior:
    """``Gamma(shape, rate)`` per zone over the demand of one decision.

    Attributes:
        shape: ``[N]`` Gamma shape.
        rate: ``[N]`` Gamma rate (inverse scale).
        evidence: ``[N]`` recent evidence ``n_i`` in decisions' worth of observed steps.
        level: ``[N]`` long-run level ``l_i`` (demand per decision).
    """

    shape: np.ndarray
    rate: np.ndarray
    evidence: np.ndarray
    level: np.ndarray

    def mean(self) -> np.ndarray:
        return self.shape / self.rate

    def widened(self, factor: float) -> RatePosterior:
        """The same means with standard deviations multiplied by ``factor`` (> 0)."""
        scale = 1.0 / (factor * factor)
        return RatePosterior(self.shape * scale, self.rate * scale, self.evidence, self.level)

    def sample(self, rng: np.random.Generator) -> np.ndarray:
        """``[N]`` one draw per zone (Thompson sampling)."""
        return rng.gamma(self.shape, 1.0 / self.rate)


def city_prior(totals: np.ndarray, steps: np.ndarray) -> tuple[float, float]:
    """``(a0, b0)`` of a Gamma prior over zone rates from per-zone observed ``totals`` [N]
    over ``steps`` [N] decisions' worth of readings (method of moments, Poisson noise
    removed; zones never observed are left out)."""
    seen = steps > 0
    if not seen.any():
        return 1.0, 1.0
    rates = totals[seen] / steps[seen]
    m0 = float(rates.mean())
    if m0 <= 0:
        return 1.0, 1.0
    v0 = float(rates.var() - (rates / steps[seen]).mean())
    v0 = max(v0, 1e-3 * m0 * m0)  # no spread left: a tight (not a degenerate) prior
    return m0 * m0 / v0, m0 / v0


def zone_posterior(store: CityData, at: int, horizon: int, forecast: np.ndarray,
                   halflife: float, kappa: float, window: int | None = None) -> RatePosterior:
    """The posterior for the decision at data step ``at`` from the store's steps before it.

    Args:
        store: what the policy observed (its target mask says which readings it holds).
        at: data step of the decision.
        horizon: data steps per decision.
        forecast: ``[N]`` the model's forecast demand for the decision (>= 0).
        halflife: half-life of recent evidence, in decisions.
        kappa: drift shape (larger: the current rate stays closer to the long-run level).
        window: recent evidence counts only the last this many steps (the model's training
            window; None: all).
    """
    y = store.target_values[:at].astype(np.float64)
    seen = store.target_mask[:at].astype(np.float64)  # [t, N]
    per_step = 0.5 ** (1.0 / (halflife * horizon))
    recent = per_step ** np.arange(at - 1, -1, -1, dtype=np.float64)  # [t]
    if window is not None:
        recent[: max(at - window, 0)] = 0.0
    older = 1.0 - recent
    evidence = recent @ seen / horizon
    old_steps = older @ seen / horizon
    old_totals = older @ (y * seen)
    a0, b0 = city_prior((y * seen).sum(0), seen.sum(0) / horizon)
    level = (a0 + old_totals) / (b0 + old_steps)
    forecast = np.clip(np.asarray(forecast, dtype=np.float64), 0.0, None)
    return RatePosterior(kappa + evidence * forecast, kappa / level + evidence, evidence, level)

"""Simple allocation rules used as baselines: uniform and proportional to demand."""

from __future__ import annotations

import numpy as np


def round_units(shares: np.ndarray, units: int) -> np.ndarray:
    """Whole units from ``[..., N]`` shares summing to ``units`` (largest remainder)."""
    shares = np.asarray(shares, dtype=np.float64)
    base = np.floor(shares + 1e-9)
    missing = (units - base.sum(-1)).astype(np.int64)
    order = np.argsort(-(shares - base), axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    return base + (rank < np.expand_dims(missing, -1))


def proportional(demand: np.ndarray, budget: float, units: bool = False) -> np.ndarray:
    """Shares (or whole units) of ``budget`` proportional to ``[..., N]`` demand; an all-zero
    row is split evenly."""
    demand = np.clip(np.asarray(demand, dtype=np.float64), 0.0, None)
    total = demand.sum(-1, keepdims=True)
    n = demand.shape[-1]
    shares = np.where(total > 0, demand / np.where(total > 0, total, 1.0), 1.0 / n) * budget
    return round_units(shares, int(budget)) if units else shares


def uniform(shape: tuple[int, ...], budget: float, units: bool = False) -> np.ndarray:
    """An even split of ``budget`` over the last axis (whole units: largest remainder,
    ties to the lowest zone index)."""
    shares = np.full(shape, budget / shape[-1])
    return round_units(shares, int(budget)) if units else shares

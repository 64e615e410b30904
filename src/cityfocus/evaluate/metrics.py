"""Masked forecast metrics over ``[S, H, N]`` arrays (numpy only, usable anywhere).

``y`` is the truth, ``y_hat`` the forecast, both ``[S, H, N]`` (windows x horizon steps x
zones) in original units; ``mask`` (same shape, bool) is True where the truth was observed.
A masked-out entry never counts, in any metric. Every scalar metric reduces over the counted
entries it is given; ``forecast_metrics`` applies them per horizon step and to all steps
flattened together (the T-GCN convention: all windows and steps stacked into one matrix, so
the "all steps" figure is not the mean of the per-step figures).

The T-GCN set (Zhao et al., "T-GCN", IEEE T-ITS 2019, arXiv:1811.05320): Accuracy
``1 - ||Y - Ŷ||_F / ||Y||_F``, R² ``1 - Σ(y - ŷ)² / Σ(y - ȳ)²`` with ȳ the mean of the truth,
explained variance ``1 - Var(Y - Ŷ) / Var(Y)`` (population variances over all entries).
The count protocol (ST-SHN, Xia et al., IJCAI 2021): MAE and MAPE only over entries whose
true count is positive, per category, and pooled over all categories.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from cityfocus.errors import DataError
from cityfocus.evaluate.manifest import Manifest

MAPE_EPS = 1e-6
"""MAPE skips entries with ``|y| <= MAPE_EPS`` (a relative error of a zero truth is undefined)."""

METRIC_DEFINITIONS: dict[str, str] = {
    "mae": "mean |y - ŷ| over observed entries",
    "rmse": "sqrt(mean (y - ŷ)²) over observed entries",
    "mape": f"mean |y - ŷ| / |y| over observed entries with |y| > {MAPE_EPS:g} (a fraction, "
    "not %)",
    "accuracy": "1 - ||Y - Ŷ||_F / ||Y||_F over observed entries (T-GCN)",
    "r2": "1 - Σ(y - ŷ)² / Σ(y - ȳ)², ȳ = mean of the observed truth (T-GCN, TF code)",
    "explained_variance": "1 - Var(y - ŷ) / Var(y), population variances over observed "
    "entries (T-GCN 'var')",
    "mae_pos": "mean |y - ŷ| over observed entries with true count y > 0 (ST-SHN)",
    "mape_pos": "mean |y - ŷ| / y over observed entries with true count y > 0 (ST-SHN; a "
    "fraction, not %)",
}


def _counted(
    y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """The truth and forecast at the counted entries, as flat float64 arrays."""
    y = np.asarray(y, dtype=np.float64)
    y_hat = np.asarray(y_hat, dtype=np.float64)
    if y.shape != y_hat.shape:
        raise DataError(f"forecast shape {y_hat.shape} != truth shape {y.shape}")
    if mask is None:
        return y.ravel(), y_hat.ravel()
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != y.shape:
        raise DataError(f"mask shape {mask.shape} != truth shape {y.shape}")
    return y[mask], y_hat[mask]


def _ratio(numerator: float, denominator: float) -> float:
    return numerator / denominator if denominator > 0 else float("nan")


def mae(y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Mean absolute error over the counted entries (NaN when none counts)."""
    t, p = _counted(y, y_hat, mask)
    return float(np.abs(t - p).mean()) if t.size else float("nan")


def rmse(y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Root mean squared error over the counted entries (NaN when none counts)."""
    t, p = _counted(y, y_hat, mask)
    return float(np.sqrt(np.square(t - p).mean())) if t.size else float("nan")


def mape(
    y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None = None, eps: float = MAPE_EPS
) -> float:
    """Mean absolute percentage error as a fraction, over counted entries with ``|y| > eps``.

    Entries whose truth is (near) zero are skipped rather than blowing up the mean; NaN when
    no entry is left.
    """
    t, p = _counted(y, y_hat, mask)
    keep = np.abs(t) > eps
    return float((np.abs(t - p)[keep] / np.abs(t[keep])).mean()) if keep.any() else float("nan")


def accuracy(y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None = None) -> float:
    """T-GCN accuracy ``1 - ||Y - Ŷ||_F / ||Y||_F`` (NaN when the truth is all zero)."""
    t, p = _counted(y, y_hat, mask)
    return 1.0 - _ratio(float(np.linalg.norm(t - p)), float(np.linalg.norm(t)))


def r2(y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None = None) -> float:
    """Coefficient of determination ``1 - Σ(y - ŷ)² / Σ(y - ȳ)²``, ȳ the truth's mean.

    (T-GCN's PyTorch port centres on the forecast's mean instead; we follow its TF code.)
    NaN when the truth is constant or nothing counts.
    """
    t, p = _counted(y, y_hat, mask)
    if not t.size:
        return float("nan")
    return 1.0 - _ratio(float(np.square(t - p).sum()), float(np.square(t - t.mean()).sum()))


def explained_variance(
    y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None = None
) -> float:
    """``1 - Var(y - ŷ) / Var(y)`` (population variances); NaN when the truth is constant."""
    t, p = _counted(y, y_hat, mask)
    if not t.size:
        return float("nan")
    return 1.0 - _ratio(float(np.var(t - p)), float(np.var(t)))


METRICS: dict[str, Callable[..., float]] = {
    "mae": mae,
    "rmse": rmse,
    "mape": mape,
    "accuracy": accuracy,
    "r2": r2,
    "explained_variance": explained_variance,
}


def _check_windows(y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None) -> np.ndarray:
    """Validate ``[S, H, N]`` arrays and return the mask (all True when None)."""
    y = np.asarray(y)
    if y.ndim != 3:
        raise DataError(f"truth must be [S, H, N], got shape {y.shape}")
    if np.shape(y_hat) != y.shape:
        raise DataError(f"forecast shape {np.shape(y_hat)} != truth shape {y.shape}")
    mask = np.ones(y.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if mask.shape != y.shape:
        raise DataError(f"mask shape {mask.shape} != truth shape {y.shape}")
    if not mask.any():
        raise DataError("no observed target entry to score (the mask is all False)")
    return mask


def forecast_metrics(
    y: np.ndarray,
    y_hat: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    metrics: Sequence[str] = tuple(METRICS),
    manifest: Manifest | None = None,
) -> dict[str, Any]:
    """Every metric per horizon step and over all steps flattened.

    Args:
        y: ``[S, H, N]`` truth.
        y_hat: ``[S, H, N]`` forecast, same units.
        mask: ``[S, H, N]`` bool, True where the truth was observed. Default: all observed.
        metrics: names from ``METRICS`` (default: all).
        manifest: how the arrays were made; copied into the result with metric definitions.

    Returns:
        ``{"per_step": {metric: [H floats]}, "all": {metric: float},
        "entries": {"per_step": [H ints], "all": int}, "manifest": {...}}``; a metric is NaN
        at a step where no entry counts.

    Raises:
        DataError: on shape mismatch, an unknown metric, or when no entry is observed.
    """
    mask = _check_windows(y, y_hat, mask)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise DataError(f"unknown metric {unknown[0]!r}; choose from {', '.join(METRICS)}")
    H = mask.shape[1]
    per_step = {
        name: [METRICS[name](y[:, h], y_hat[:, h], mask[:, h]) for h in range(H)]
        for name in metrics
    }
    return {
        "per_step": per_step,
        "all": {name: METRICS[name](y, y_hat, mask) for name in metrics},
        "entries": {"per_step": mask.sum(axis=(0, 2)).tolist(), "all": int(mask.sum())},
        "manifest": (manifest or Manifest()).as_dict(
            {name: METRIC_DEFINITIONS[name] for name in metrics}
        ),
    }


def positive_entry_metrics(
    y: np.ndarray, y_hat: np.ndarray, mask: np.ndarray | None = None
) -> dict[str, float | int]:
    """MAE and MAPE over the observed entries whose true count is positive (ST-SHN).

    Returns:
        ``{"mae_pos": float, "mape_pos": float, "entries": int}`` (NaN when none is positive).
    """
    t, p = _counted(y, y_hat, mask)
    positive = t > 0
    t, p = t[positive], p[positive]
    if not t.size:
        return {"mae_pos": float("nan"), "mape_pos": float("nan"), "entries": 0}
    error = np.abs(t - p)
    return {"mae_pos": float(error.mean()), "mape_pos": float((error / t).mean()),
            "entries": int(t.size)}


def count_metrics(
    y: np.ndarray,
    y_hat: np.ndarray,
    mask: np.ndarray | None = None,
    *,
    categories: Sequence[str],
    manifest: Manifest | None = None,
) -> dict[str, Any]:
    """The count protocol per category and pooled, per horizon step and over all steps.

    Args:
        y: ``[S, H, N, C]`` true counts, the last axis one category each.
        y_hat: ``[S, H, N, C]`` forecast counts.
        mask: ``[S, H, N, C]`` bool, True where observed. Default: all observed.
        categories: the C category names, in the order of the last axis.
        manifest: how the arrays were made.

    Returns:
        ``{"per_category": {name: {"all": {...}, "per_step": [...]}}, "all": {...},
        "per_step": [...], "manifest": {...}}`` where each ``{...}`` is
        ``positive_entry_metrics`` of those entries. "all" pools every category's positive
        entries (as the ST-SHN/ST-HSL code sums errors over categories before dividing).
    """
    y = np.asarray(y)
    if y.ndim != 4 or y.shape[-1] != len(categories):
        raise DataError(
            f"counts must be [S, H, N, C] with C={len(categories)} categories, got {y.shape}"
        )
    mask = np.ones(y.shape, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
    if np.shape(y_hat) != y.shape or mask.shape != y.shape:
        raise DataError(f"forecast {np.shape(y_hat)} / mask {mask.shape} != truth {y.shape}")
    if not mask.any():
        raise DataError("no observed target entry to score (the mask is all False)")
    H = y.shape[1]

    def summary(sel: tuple) -> dict[str, Any]:
        t, p, m = y[sel], y_hat[sel], mask[sel]
        return {
            "all": positive_entry_metrics(t, p, m),
            "per_step": [positive_entry_metrics(t[:, h], p[:, h], m[:, h]) for h in range(H)],
        }

    per_category = {name: summary((..., c)) for c, name in enumerate(categories)}
    pooled = summary((...,))
    return {
        "per_category": per_category,
        "all": pooled["all"],
        "per_step": pooled["per_step"],
        "manifest": (manifest or Manifest()).as_dict(
            {k: METRIC_DEFINITIONS[k] for k in ("mae_pos", "mape_pos")}
        ),
    }


"""Attention rollout for the spatio-temporal transformer: which zones and past steps fed a forecast.

The ST-Transformer (``cityfocus.models.st_transformer``) first mixes the L steps of each zone
with temporal blocks, keeps each zone's last-step token as its summary, then mixes the zone
summaries with spatial blocks. Rollout (Abnar & Zuidema, 2020, "Quantifying Attention Flow
in Transformers") follows that path:

* per layer, average the heads and account for the residual connection,
  ``Â = renorm(0.5 Ā + 0.5 I)`` (rows renormalised to sum to one);
* compose layers, later layers on the left: ``R = Â_K ... Â_1``;
* temporal: ``r_j(t) = R^temp_j[L-1, t]``, how zone j's summary draws on its step t;
* spatial: ``S[i, j] = R^spat[i, j]``, how zone i's final token draws on zone j's summary;
* together: ``a_i(j, t) = S[i, j] r_j(t)``, a distribution over (zone, step) per forecast zone.

Every function accepts extra leading batch dimensions (``[..., heads, S, S]``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


def residual_attention(weights: np.ndarray) -> np.ndarray:
    """``renorm(0.5 mean_heads(A) + 0.5 I)`` for one layer's maps ``[..., heads, S, S]``.

    Returns ``[..., S, S]`` with rows summing to one.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim < 3 or w.shape[-1] != w.shape[-2]:
        raise ValueError(f"attention maps must be [..., heads, S, S], got {w.shape}")
    mixed = 0.5 * w.mean(axis=-3) + 0.5 * np.eye(w.shape[-1])
    return mixed / mixed.sum(axis=-1, keepdims=True)


def rollout(layers: Sequence[np.ndarray]) -> np.ndarray:
    """Compose per-layer maps ``[..., heads, S, S]`` (first layer first) into ``[..., S, S]``:
    row = output token, column = input token, rows summing to one."""
    if not layers:
        raise ValueError("rollout needs at least one layer of attention maps")
    out = residual_attention(layers[0])
    for weights in layers[1:]:
        out = residual_attention(weights) @ out
    return out


@dataclass(frozen=True)
class Attribution:
    """Where each zone's forecast came from, by rollout.

    Attributes:
        joint: ``[..., N, N, L]``: ``joint[i, j, t]`` share of zone i's forecast traced to
            zone j's input at lookback step t (t = L-1 is the most recent); sums to one
            over (j, t).
        zones: ``[..., N, N]`` the spatial rollout ``S`` (row i over source zones j).
        steps: ``[..., N, L]`` share of zone i's forecast per input step, over all zones.
        temporal: ``[..., N, L]`` each zone's own temporal rollout ``r_j`` (its summary
            token over its L steps).
    """

    joint: np.ndarray
    zones: np.ndarray
    steps: np.ndarray
    temporal: np.ndarray


def attribute(attention: dict[str, Sequence[np.ndarray]]) -> Attribution:
    """Rollout of a forecast's attention maps (``Forecast.attention``).

    Args:
        attention: ``{"temporal": per layer [..., N, heads, L, L], "spatial": per layer
            [..., heads, N, N]}``; leading batch dims must agree. A model without spatial
            layers has ``S = I`` (each zone draws only on itself).
    """
    temporal_layers = list(attention.get("temporal") or [])
    spatial_layers = list(attention.get("spatial") or [])
    if not temporal_layers:
        raise ValueError("attribution needs the temporal attention maps")
    temporal = rollout(temporal_layers)[..., -1, :]  # [..., N, L]: each summary token's row
    n = temporal.shape[-2]
    if spatial_layers:
        zones = rollout(spatial_layers)
        if zones.shape[-1] != n:
            raise ValueError(f"spatial maps cover {zones.shape[-1]} zones, temporal {n}")
    else:
        zones = np.broadcast_to(np.eye(n), temporal.shape[:-2] + (n, n))
    joint = zones[..., :, :, None] * temporal[..., None, :, :]
    return Attribution(joint=joint, zones=zones, steps=joint.sum(axis=-2), temporal=temporal)


def top_sources(zones: np.ndarray, zone: int, k: int, include_self: bool = False) -> np.ndarray:
    """Indices of the ``k`` zones with the largest attribution in row ``zone`` of ``[N, N]``
    (ties broken by index), optionally leaving the zone itself out."""
    row = np.asarray(zones[zone], dtype=np.float64).copy()
    if not include_self:
        row[zone] = -np.inf
    order = np.argsort(-row, kind="stable")
    return order[: min(k, len(row) - (0 if include_self else 1))]


def recent_span(steps: np.ndarray, share: float = 0.5) -> int:
    """The fewest most-recent input steps whose attribution reaches ``share`` of a row ``[L]``."""
    row = np.asarray(steps, dtype=np.float64)
    total = row.sum()
    if total <= 0:
        return len(row)
    cumulative = np.cumsum(row[::-1]) / total
    return int(np.searchsorted(cumulative, share - 1e-12) + 1)

"""Decision metrics: how good the allocations were once the truth was known.

For allocations ``w`` ``[S, N]`` made before realized demand ``y`` ``[S, N]`` was known:

- realized objective ``F(w; y)`` and oracle objective ``F(w*(y); y)`` (as gains; mean per
  decision), regret = oracle - realized (>= 0), normalised regret =
  ``sum_s regret_s / sum_s |oracle_s|``;
- hit rate: the share of realized demand (e.g. incidents) that fell in zones given any
  attention (``w > 0``), pooled over decisions;
- police hotspot measures, pooled over decisions (zones count as of equal area): PAI, the
  predictive accuracy index ``(n / N) / (a / A)`` — the hit rate over the share of zone-steps
  attended (Chainey, Tompson & Uhlig 2008, "The utility of hotspot mapping for predicting
  spatial patterns of crime", Security Journal 21:4-28; 1 is chance) — and PEI, the
  predictive efficiency index ``n / n*`` — incidents in attended zones over the most any
  choice of as many zones could have held (Hunt 2016; in [0, 1]); NaN when nothing was
  realized or nothing attended;
- hotspot detection: a zone is a hotspot in a decision when its realized demand is among the
  ``k`` largest (``k`` = the number of zones the oracle attends, at least 1) and positive;
  precision, recall and F1 of "got attention" against "was a hotspot", pooled; AUC of the
  model's scores (forecast demand, or shares) against the same labels (Mann-Whitney, ties
  counted half).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.stats import rankdata

from cityfocus.allocate.task import DecisionTask
from cityfocus.errors import CityfocusError


def decision_metrics(task: DecisionTask, w: np.ndarray, realized: np.ndarray,
                     scores: np.ndarray | None = None) -> dict[str, Any]:
    """Metrics of allocations ``w`` ``[S, N]`` against realized demand ``[S, N]``."""
    w = np.asarray(w, dtype=np.float64)
    realized = np.clip(np.asarray(realized, dtype=np.float64), 0.0, None)
    if w.shape != realized.shape or w.ndim != 2:
        raise CityfocusError(f"allocations {w.shape} and realized demand {realized.shape} "
                             "must both be [S, N]")
    problem = task.problem(realized)
    from cityfocus.allocate import solve

    best_alloc = solve(problem)
    best = np.asarray(best_alloc.gain, dtype=np.float64)
    gain = np.asarray(problem.gain(w), dtype=np.float64)
    regret = best - gain
    attended = w > 1e-9
    k = np.maximum((np.asarray(best_alloc.w) > 1e-9).sum(-1), 1)
    hotspot = _top_k(realized, k) & (realized > 0)
    tp = float((attended & hotspot).sum())
    precision = tp / max(float(attended.sum()), 1.0)
    recall = tp / max(float(hotspot.sum()), 1.0)
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return {
        "decisions": int(w.shape[0]),
        "realized_objective": float(gain.mean()),
        "oracle_objective": float(best.mean()),
        "regret": float(regret.mean()),
        "normalized_regret": float(regret.sum() / max(np.abs(best).sum(), 1e-12)),
        **hotspot_figures(w, realized),
        "precision": precision,
        "recall": recall,
        "f1": f1,
        "auc": auc(w if scores is None else scores, hotspot),
    }


def hotspot_parts(w: np.ndarray, realized: np.ndarray) -> dict[str, np.ndarray]:
    """Per decision (``[S]`` each): the demand that fell in attended zones (``hits``), the
    realized total, the zones attended, and the most as many zones could have held: the sums
    PAI and PEI are made of (and what a paired bootstrap resamples)."""
    attended = np.asarray(w) > 1e-9
    realized = np.asarray(realized, dtype=np.float64)
    count = attended.sum(-1)
    ranked = np.sort(realized, axis=-1)[:, ::-1]
    return {"hits": (realized * attended).sum(-1), "total": realized.sum(-1),
            "zones_attended": count.astype(np.float64),
            "best_same_area": (ranked * (np.arange(realized.shape[1]) < count[:, None])).sum(-1)}


def hotspot_figures(w: np.ndarray, realized: np.ndarray) -> dict[str, float]:
    """Hit rate, PAI and PEI of allocations ``w`` ``[S, N]`` against realized demand
    ``[S, N]`` (>= 0), pooled over the S decisions (see the module docstring)."""
    parts = {k: float(v.sum()) for k, v in hotspot_parts(w, realized).items()}
    hits, total, best = parts["hits"], parts["total"], parts["best_same_area"]
    area = parts["zones_attended"] / np.asarray(w).size
    nan = float("nan")
    return {"hit_rate": hits / total if total > 0 else nan,
            "pai": hits / total / area if total > 0 and area > 0 else nan,
            "pei": hits / best if best > 0 else nan}


def _top_k(values: np.ndarray, k: np.ndarray) -> np.ndarray:
    """Boolean ``[S, N]``: the ``k[s]`` largest entries of each row (ties by zone order)."""
    order = np.argsort(-values, axis=-1, kind="stable")
    rank = np.argsort(order, axis=-1, kind="stable")
    return rank < k[:, None]


def auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve of ``scores`` for boolean ``labels`` (pooled; NaN if one
    class is absent)."""
    scores, labels = np.ravel(scores), np.ravel(labels).astype(bool)
    positives, negatives = int(labels.sum()), int((~labels).sum())
    if positives == 0 or negatives == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - positives * (positives + 1) / 2)
                 / (positives * negatives))

"""A decision's figures once its demand is known (numpy; the oracle is exact).

- regret, normalized regret, hit rate: ``cityfocus.evaluate.decisions.decision_metrics``
  on the decision's own task (family, budget, units, bounds, parameters), the oracle solved
  exactly on the realized demand (``cityfocus.allocate``);
- PAI, the predictive accuracy index of crime mapping (Chainey, Tompson & Uhlig 2008, "The
  utility of hotspot mapping for predicting spatial patterns of crime", Security Journal
  21:4-28): ``PAI = (n / N) / (a / A)``, the hit rate (share ``n/N`` of the realized
  incidents that fell in attended zones) over the share ``a/A`` of the area attended. Zones
  count as of equal area, so ``a/A`` = attended zones / all zones. PAI 1 is no better than
  attending at random; higher is better. Undefined (None) when nothing was realized or no
  zone was attended.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cityfocus.allocate.task import DecisionTask
from cityfocus.evaluate.decisions import decision_metrics

ATTENDED = 1e-9  # a zone with more than this share or count is attended


def task_of(request: dict[str, Any], zones: list[str]) -> DecisionTask:
    """The decision task of a stored (normalized) request over ``zones`` in city order."""
    lower, upper = np.zeros(len(zones)), np.full(len(zones), np.inf)
    position = {z: i for i, z in enumerate(zones)}
    for zone, bound in (request.get("bounds") or {}).items():
        lower[position[zone]] = bound["lower"]
        if bound.get("upper") is not None:
            upper[position[zone]] = bound["upper"]
    return DecisionTask(family=request["family"], budget=float(request["budget"]),
                        units=bool(request["units"]), lower=lower, upper=upper,
                        params=dict(request.get("params") or {}))


def pai(w: np.ndarray, realized: np.ndarray) -> float | None:
    """Predictive accuracy index of allocation ``w`` ``[N]`` against realized ``[N]``."""
    attended = w > ATTENDED
    total = float(realized.sum())
    if total <= 0 or not attended.any():
        return None
    hit_share = float(realized[attended].sum()) / total
    area_share = float(attended.sum()) / len(w)
    return hit_share / area_share


def outcome_figures(task: DecisionTask, w: np.ndarray, realized: np.ndarray
                    ) -> dict[str, float | None]:
    """Regret (and its parts), normalized regret, hit rate and PAI of one decision."""
    figures = decision_metrics(task, w[None, :], realized[None, :])
    hit = figures["hit_rate"]
    return {"realized_objective": figures["realized_objective"],
            "oracle_objective": figures["oracle_objective"],
            "regret": max(figures["regret"], 0.0),
            "normalized_regret": max(figures["normalized_regret"], 0.0),
            "hit_rate": None if math.isnan(hit) else hit,
            "pai": pai(w, np.clip(realized, 0.0, None))}

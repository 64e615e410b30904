"""A decision's figures once its demand is known (numpy; the oracle is exact).

- regret, normalized regret, hit rate: ``cityfocus.evaluate.decisions.decision_metrics``
  on the decision's own task (family, budget, units, bounds, parameters), the oracle solved
  exactly on the realized demand (``cityfocus.allocate``);
- PAI, the predictive accuracy index of crime mapping (``decision_metrics``'s, for one
  decision): ``PAI = (n / N) / (a / A)``, the hit rate over the share of zones attended; 1 is
  no better than attending at random. None when nothing was realized or no zone attended.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from cityfocus.allocate.task import DecisionTask
from cityfocus.evaluate.decisions import decision_metrics


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
            "pai": None if math.isnan(figures["pai"]) else figures["pai"]}

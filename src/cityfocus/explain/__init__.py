"""Explain every allocation: attention rollout attributions, solver facts, text and reports.

``explain_allocation`` joins a forecast's attributions (``rollout``) with the solver's view
(``sensitivity``) into one paragraph per zone (``narrative``); ``figures`` and ``report``
turn that into PNGs and a self-contained HTML page; ``faithfulness`` checks the attributions
against the synthetic city's planted truth; ``patrol_demo`` is the whole chain ``cityfocus
demo`` runs, from the synthetic city to an explained patrol plan.
"""

from cityfocus.explain.explanation import (
    CityExplanation,
    ZoneExplanation,
    explain_allocation,
)
from cityfocus.explain.rollout import Attribution, attribute, residual_attention, rollout
from cityfocus.explain.sensitivity import SolverView, demand_for_increment, solver_view

__all__ = [
    "Attribution",
    "CityExplanation",
    "SolverView",
    "ZoneExplanation",
    "attribute",
    "demand_for_increment",
    "explain_allocation",
    "residual_attention",
    "rollout",
    "solver_view",
]

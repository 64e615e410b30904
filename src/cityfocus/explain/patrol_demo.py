"""The demo's whole chain on the embedded synthetic city: forecast tomorrow's incidents with
the historical average, place patrol units exactly, say why, and score the plan on the city's
planted truth against the proportional rule.

Patrol units are indivisible and follow Koopman's detection law: ``u`` units in a zone with
``d`` expected incidents intercept ``d (1 - exp(-alpha u))`` of them (the ``coverage``
family). ``cityfocus demo`` prints ``patrol_demo``'s result and writes its ``files()``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.data.split import chronological_split
from cityfocus.data.synthetic import synthetic_city
from cityfocus.data.windows import steps_per_day
from cityfocus.explain.explanation import CityExplanation, explain_allocation
from cityfocus.models.baselines import HistoricalAverage

# what ``progress`` reports, in order (one call as each part starts, then one at the end)
PARTS = ("synthetic city", "historical average", "forecast next day", "allocate")


@dataclass(frozen=True)
class PatrolDemo:
    """A patrol plan for one day of the synthetic city, explained and scored.

    Attributes:
        rows: one dict per zone, highest forecast first: ``zone``, ``name``, ``forecast``
            (incidents over the day), ``units``, ``share`` (of all units), ``true_expected``
            (the planted rate summed over the day), ``realized`` (incidents drawn),
            ``proportional_units`` (the proportional rule's plan) and ``why`` (the
            explanation's one-line reason, ``ZoneExplanation.brief``).
        summary: the run's manifest and scores: dataset, seed, day, units, alpha,
            forecaster, allocation, ``forecast_mae_vs_true_rate`` (incidents per step),
            ``true_incidents_intercepted_engine`` / ``_proportional`` (expected incidents the
            plan and the rule intercept at the planted rates), ``engine_gain_over_proportional``
            (their ratio minus 1), ``shadow_price`` and the ``command`` that reproduces it.
        explanation: the full explanation of the plan (a paragraph per zone).
    """

    rows: list[dict[str, Any]]
    summary: dict[str, Any]
    explanation: CityExplanation

    def files(self) -> dict[str, str]:
        """The report folder's files: ``allocation.csv`` (the rows), ``summary.json`` and
        ``report.md`` (summary, the table of all zones, a paragraph per patrolled zone)."""
        return {"allocation.csv": pd.DataFrame(self.rows).to_csv(index=False),
                "summary.json": json.dumps(self.summary, indent=2) + "\n",
                "report.md": report_markdown(self)}


def patrol_demo(units: int = 10, alpha: float = 0.5, seed: int = 0,
                progress: Callable[[int, str], None] | None = None) -> PatrolDemo:
    """Plan ``units`` patrol units for the first day of the synthetic city's test period.

    Args:
        units: whole patrol units to place (>= 1).
        alpha: detection rate per unit in the coverage law (> 0).
        seed: seed of the synthetic city.
        progress: called as ``progress(parts done, part starting)`` through ``PARTS``, and
            ``progress(len(PARTS), "")`` at the end.

    Raises:
        AllocationError: ``units`` or ``alpha`` out of range.
    """
    report = progress or (lambda done, part: None)
    report(0, PARTS[0])
    city = synthetic_city(seed=seed)
    data, truth = city.data, city.truth
    split = chronological_split(data, train=0.7, val=0.1)
    report(1, PARTS[1])
    day = steps_per_day(data.freq)
    model = HistoricalAverage(horizon=day).fit(split.train)
    report(2, PARTS[2])
    at = split.test_start
    forecast = model.predict(data, at=at)
    demand = forecast.mean.sum(axis=0).astype(np.float64)
    report(3, PARTS[3])
    problem = AllocationProblem(demand, units, "coverage", alpha=alpha, units=True)
    plan = solve(problem)
    expl = explain_allocation(data, at, forecast, problem, plan)
    report(len(PARTS), "")

    alloc = plan.w.astype(np.int64)
    rule = expl.rule.w.astype(np.int64)
    realized = data.target_values[at : at + day].sum(axis=0)
    expected = truth.rate[at : at + day].sum(axis=0)
    intercepted = {name: float(problem.utility.value(w.astype(np.float64), expected).sum())
                   for name, w in (("engine", alloc), ("proportional", rule))}
    by_index = {z.index: z for z in expl.zones}
    zones = data.zones
    rows = [
        {
            "zone": zones["id"][i], "name": zones["name"][i],
            "forecast": float(demand[i]), "units": int(alloc[i]),
            "share": float(alloc[i] / units), "true_expected": float(expected[i]),
            "realized": float(realized[i]),
            "proportional_units": int(rule[i]),
            "why": by_index[i].brief,
        }
        for i in np.argsort(-demand, kind="stable")
    ]
    summary = {
        "dataset": data.name, "seed": seed, "day": f"{forecast.timestamps[0]:%Y-%m-%d}",
        "units": units, "alpha": alpha,
        "forecaster": "historical_average (slot of day x weekday)",
        "allocation": "coverage d(1-exp(-alpha u)), whole units, exact greedy",
        "forecast_mae_vs_true_rate": float(np.abs(forecast.mean - truth.rate[at : at + day])
                                           .mean()),
        "true_incidents_intercepted_engine": intercepted["engine"],
        "true_incidents_intercepted_proportional": intercepted["proportional"],
        "engine_gain_over_proportional": intercepted["engine"] / intercepted["proportional"] - 1,
        "shadow_price": float(plan.shadow_price),
        "command": f"cityfocus demo --units {units} --alpha {alpha} --seed {seed}",
    }
    return PatrolDemo(rows, summary, expl)


def report_markdown(demo: PatrolDemo) -> str:
    """``report.md``: the summary as a list, every zone in a table, then the explanation's
    paragraph for each zone given units."""
    summary, rows = demo.summary, demo.rows
    lines = [f"# cityfocus demo: patrol plan for {summary['day']}", ""]
    lines += [f"- {key}: {value}" for key, value in summary.items()]
    lines += ["",
              "| zone | forecast | units | proportional rule | true expected | realized | why |",
              "|---|---:|---:|---:|---:|---:|---|"]
    lines += [
        f"| {r['zone']} | {r['forecast']:.2f} | {r['units']} | {r['proportional_units']} | "
        f"{r['true_expected']:.2f} | {r['realized']:.0f} | {r['why']} |"
        for r in rows
    ]
    lines += ["", "## Why each patrolled zone", ""]
    lines += [f"- {z.zone}: {z.text}" for z in demo.explanation.top(most=len(rows))]
    return "\n".join(lines) + "\n"

"""One allocation explained: forecast, attributions and solver facts per zone, with its paragraph.

``explain_allocation`` joins what the model saw (rollout attributions, when the forecast
carries attention maps) with what the solver decided (``solver_view``) and writes the
paragraph of every zone, allocated zones first. ``zone_briefs`` is the cheap path to each
zone's one-line reason alone (what the service stores): no thresholds, no attributions.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from cityfocus.allocate import Allocation, AllocationProblem
from cityfocus.data.citydata import CityData
from cityfocus.explain.baseline import RuleComparison, compare_with_proportional
from cityfocus.explain.formatting import duration
from cityfocus.explain.narrative import ZoneFacts, brief, paragraph
from cityfocus.explain.rollout import Attribution, attribute, recent_span, top_sources
from cityfocus.explain.sensitivity import SolverView, solver_view
from cityfocus.models.forecast import Forecast


@dataclass(frozen=True)
class ZoneExplanation:
    """One zone's row of the report (numbers in the target's units); ``text`` is its
    paragraph, ``brief`` the same reason in one line for a table (``narrative``)."""

    index: int
    zone: str
    name: str
    demand: float
    actual: float
    rank: int
    w: float
    share: float
    next_gain: float
    last_gain: float
    gain_at: float
    lose_at: float
    drivers: list[tuple[str, float]]
    own_weight: float | None
    recent_steps: int | None
    text: str
    brief: str

    def to_row(self) -> dict[str, Any]:
        return {"zone": self.zone, "name": self.name, "forecast": self.demand,
                "actual": self.actual, "rank": self.rank, "w": self.w, "share": self.share,
                "next_gain": self.next_gain, "last_gain": self.last_gain,
                "gain_at": self.gain_at, "lose_at": self.lose_at,
                "drivers": "; ".join(f"{z} {w:.3f}" for z, w in self.drivers),
                "own_weight": self.own_weight, "recent_steps": self.recent_steps,
                "explanation": self.text}


@dataclass(frozen=True)
class CityExplanation:
    """An allocation with its reasons.

    Attributes:
        zones: per zone, allocated zones first (most attention first), then by forecast.
        view: the solver facts (``[N]`` arrays in zone order).
        attribution: rollout of the forecast's attention (None for models without it).
        forecast: the forecast explained; ``actual`` its realised target ``[H, N]`` where
            the data has it (NaN where not).
        horizon: the forecast period in words.
        target, data_name: the forecast target and the dataset's name.
        problem, allocation: the solved problem explained.
        rule: the proportional rule on the same problem, for comparison.
        graph: whether the model had a road/zone graph.
    """

    zones: list[ZoneExplanation]
    view: SolverView
    attribution: Attribution | None
    forecast: Forecast
    actual: np.ndarray
    target: str
    horizon: str
    data_name: str
    problem: AllocationProblem
    allocation: Allocation
    rule: RuleComparison
    graph: bool

    def top(self, most: int = 5) -> list[ZoneExplanation]:
        """The zones given most attention (at most ``most``, only zones given some)."""
        return [z for z in self.zones if z.w > 0][:most]


def horizon_words(forecast: Forecast, freq: pd.Timedelta) -> str:
    """``over the next 3 h (2024-02-20 08:00 to 10:00)``."""
    times = forecast.timestamps
    span = duration(freq * len(times))
    first, last = times[0], times[-1]
    end = f"{last:%H:%M}" if last.date() == first.date() else f"{last:%Y-%m-%d %H:%M}"
    return f"over the next {span} ({first:%Y-%m-%d %H:%M} to {end})"


def realised(data: CityData, at: int, horizon: int) -> np.ndarray:
    """``[H, N]`` observed target at steps ``at .. at+H-1`` (NaN where missing or beyond T)."""
    out = np.full((horizon, data.shape[1]), np.nan)
    stop = min(at + horizon, data.shape[0])
    if stop > at:
        part = data.target_values[at:stop].astype(np.float64)
        out[: stop - at] = np.where(data.target_mask[at:stop], part, np.nan)
    return out


def zone_briefs(data: CityData, forecast: Forecast, problem: AllocationProblem,
                allocation: Allocation) -> list[str]:
    """Each zone's one-line reason (``ZoneExplanation.brief``), in zone order: the same text
    ``explain_allocation`` writes, without what only the paragraph uses (the sensitivity
    thresholds, which re-solve the problem per zone, and the attention attributions)."""
    view = solver_view(problem, allocation, thresholds=False)
    names = [str(z) for z in data.zones["name"].fillna(data.zones["id"])]
    rank = _ranks(view.demand)
    horizon = horizon_words(forecast, data.freq)
    return [brief(_facts(view, i, names[i], int(rank[i]), horizon, data.target))
            for i in range(len(names))]


def _ranks(demand: np.ndarray) -> np.ndarray:
    order_by_demand = np.argsort(-demand, kind="stable")
    rank = np.empty(len(demand), dtype=int)
    rank[order_by_demand] = np.arange(1, len(demand) + 1)
    return rank


def _facts(view: SolverView, i: int, name: str, rank: int, horizon: str, target: str,
           drivers: list[tuple[str, float]] | None = None, own: float | None = None,
           recent: str | None = None, recent_share: float | None = None) -> ZoneFacts:
    return ZoneFacts(
        name=name, demand=float(view.demand[i]), rank=rank, n_zones=len(view.demand),
        horizon=horizon, target=target, w=float(view.w[i]), budget=view.budget,
        units=view.units, family=view.family, next_gain=float(view.next_gain[i]),
        last_gain=float(view.last_gain[i]), price=view.price,
        gain_at=float(view.gain_at[i]), lose_at=float(view.lose_at[i]), step=view.step,
        drivers=drivers or [], own_weight=own, recent=recent, recent_share=recent_share)


def explain_allocation(data: CityData, at: int, forecast: Forecast, problem: AllocationProblem,
                       allocation: Allocation, drivers: int = 2,
                       graph: bool | None = None) -> CityExplanation:
    """Explain ``allocation`` (solving ``problem`` built from ``forecast`` of ``data`` at ``at``).

    Args:
        data: the dataset the forecast came from (zone names, frequency, realised target).
        at: index of the first forecast step.
        forecast: the model's forecast (with attention maps for attention models).
        problem, allocation: the solved allocation problem (one, not batched).
        drivers: how many other zones to name as drivers per zone.
        graph: whether the model was given a road/zone graph (a checkpoint's
            ``schema_["adjacency"]``); default: whether ``data`` has one.
    """
    view = solver_view(problem, allocation)
    attribution = attribute(forecast.attention) if forecast.attention else None
    names = [str(z) for z in data.zones["name"].fillna(data.zones["id"])]
    ids = [str(z) for z in data.zones["id"]]
    n = len(ids)
    demand = view.demand
    rank = _ranks(demand)
    actual = realised(data, at, len(forecast.timestamps))
    horizon = horizon_words(forecast, data.freq)
    zones = []
    for i in range(n):
        named, own, recent, recent_share = [], None, None, None
        span, top = None, []
        if attribution is not None:
            row = attribution.zones[i]
            top = [int(j) for j in top_sources(attribution.zones, i, drivers)]
            named = [(names[j], float(row[j])) for j in top]
            own = float(row[i])
            span = recent_span(attribution.steps[i])
            recent = f"last {duration(data.freq * span)}"
            recent_share = float(attribution.steps[i][-span:].sum())
        facts = _facts(view, i, names[i], int(rank[i]), horizon, data.target, named, own,
                       recent, recent_share)
        zones.append(ZoneExplanation(
            index=i, zone=ids[i], name=names[i], demand=float(demand[i]),
            actual=float(np.nansum(actual[:, i])) if np.isfinite(actual[:, i]).any()
            else float("nan"),
            rank=int(rank[i]), w=float(view.w[i]), share=float(view.share[i]),
            next_gain=float(view.next_gain[i]), last_gain=float(view.last_gain[i]),
            gain_at=float(view.gain_at[i]), lose_at=float(view.lose_at[i]),
            drivers=[(ids[j], w) for j, (_, w) in zip(top, named, strict=True)], own_weight=own,
            recent_steps=span, text=paragraph(facts), brief=brief(facts)))
    zones.sort(key=lambda z: (-z.w, z.rank))
    return CityExplanation(zones, view, attribution, forecast, actual, data.target, horizon,
                           data.name, problem, allocation,
                           compare_with_proportional(problem, allocation),
                           graph=data.adjacency is not None if graph is None else graph)

"""The contract of ``GET /cities/{city}/zones/{zone}``."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from cityfocus.serve.cities.schemas import ZoneOut
from cityfocus.serve.contract import ClockTime


class Neighbour(BaseModel):
    zone: str
    name: str
    weight: float = Field(description="the edge's weight in the road/zone graph")


class History(BaseModel):
    """The zone's target over the last steps stored (``null``: not observed), beside its
    usual range at each step's hour and weekday."""

    times: list[ClockTime]
    values: list[float | None]
    usual: list[float | None] = Field(description="mean of the zone's stored values at the "
                                      "same hour and weekday")
    usual_low: list[float | None] = Field(description="their 5th percentile")
    usual_high: list[float | None] = Field(description="their 95th percentile")


class ZoneForecast(BaseModel):
    forecaster: str
    model_version: int | None
    times: list[ClockTime]
    mean: list[float]
    low: list[float | None] = Field(description="lower end of the interval (see interval)")
    high: list[float | None] = Field(description="upper end of the interval")
    interval: str = Field(description="what the interval is, in words")
    demand: float = Field(description="the forecast summed over the horizon (clipped at 0): "
                          "what the allocation uses")


class SourceZone(BaseModel):
    zone: str
    name: str
    share: float = Field(description="share of this zone's forecast traced to that zone")


class SourceStep(BaseModel):
    time: ClockTime
    share: float = Field(description="share of this zone's forecast traced to that step")


class Drivers(BaseModel):
    """What the forecaster drew on for this zone."""

    method: Literal["attention rollout", "historical average", "none"]
    text: str
    zones: list[SourceZone] = Field(description="the largest sources, largest first")
    steps: list[SourceStep] = Field(description="past steps drawn on, oldest first")


class PastDecision(BaseModel):
    """A stored decision with an outcome: what it forecast for this zone, what it gave it,
    and what then happened."""

    decision: int
    start: ClockTime = Field(description="first step the decision was for")
    end: ClockTime
    forecast: float = Field(description="the zone's forecast demand over the horizon")
    given: float = Field(description="the zone's share or units")
    realized: float = Field(description="the demand the outcome reported for the zone")


class ZoneDetail(BaseModel):
    city: str
    zone: ZoneOut
    target: str
    units: str
    frequency: str
    neighbours: list[Neighbour]
    history: History
    forecast: ZoneForecast
    drivers: Drivers
    past: list[PastDecision] = Field(description="the last decisions with an outcome, "
                                     "oldest first: forecast against what happened")

"""The contract of ``/cities`` and ``/cities/{city}``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from cityfocus.serve.contract import ClockTime


class ZoneOut(BaseModel):
    id: str
    name: str
    lat: float | None
    lon: float | None


class CitySummary(BaseModel):
    name: str
    frequency: str = Field(description='the step between observations, e.g. "1 h"')
    zones: int
    features: list[str]
    target: str


class CityOut(BaseModel):
    name: str
    frequency: str = Field(description='the step between observations, e.g. "1 h"')
    features: list[str]
    target: str = Field(description="the feature that measures need")
    zones: list[ZoneOut]
    adjacency: list[tuple[str, str, float]] = Field(
        description="the road/zone graph as edges [from zone, to zone, weight]")
    card: dict[str, Any] = Field(description="the dataset card in brief")
    observations: int
    first_time: ClockTime | None
    last_time: ClockTime | None

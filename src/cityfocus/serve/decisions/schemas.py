"""The contract of ``/cities/{city}/decisions`` and ``/cities/{city}/whatif``."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, WithJsonSchema

from cityfocus.allocate import FAMILIES
from cityfocus.serve.contract import ClockTime, UtcTime


def _known_family(value: str) -> str:
    """The family's name in lower case; a ValueError naming the valid ones otherwise."""
    name = value.lower()
    if name not in FAMILIES:
        raise ValueError(f"unknown utility family {value!r}; valid families: "
                         f"{', '.join(FAMILIES)}")
    return name


# the schema lists the families (any letter case is accepted)
Family = Annotated[str, AfterValidator(_known_family),
                   WithJsonSchema({"type": "string", "enum": list(FAMILIES)},
                                  mode="validation")]


class ZoneBounds(BaseModel):
    model_config = ConfigDict(extra="forbid")

    lower: float = Field(0.0, ge=0, allow_inf_nan=False)
    upper: float | None = Field(None, ge=0, allow_inf_nan=False,
                                description="none: no upper bound")


class Task(BaseModel):
    """How to allocate, whatever the budget: ``family``: coverage, log, variance, linear or
    delay (see docs/allocation.md); ``units``: whole units (true) or continuous shares
    (false); ``bounds``: per zone id, its lower/upper share (zones not named are unbounded);
    ``params``: the family's parameters (``alpha``, ``cap``, ``saturation``, ``cycle``);
    ``horizon``: steps forecast (default: the city card's decision horizon, else 1)."""

    model_config = ConfigDict(extra="forbid")

    family: Family = "coverage"
    units: bool = Field(False, strict=True)  # 0 or "yes" is a mistake, not a bool
    bounds: dict[str, ZoneBounds] | None = None
    params: dict[str, Annotated[float, Field(allow_inf_nan=False)]] | None = None
    horizon: int | None = Field(None, ge=1, le=10_000)


class DecisionRequest(Task):
    """Split ``budget`` over the city's zones for the next ``horizon`` steps (the other
    fields: see ``Task``)."""

    budget: float = Field(gt=0, allow_inf_nan=False)


class ZoneDecision(BaseModel):
    zone: str
    name: str
    demand: float = Field(description="forecast target summed over the horizon")
    rank: int = Field(description="1 = the highest forecast demand")
    w: float = Field(description="the zone's share (or whole units) of the budget")
    marginal: float = Field(description="value of one more unit (or share) here")
    why: str


class ForecastInfo(BaseModel):
    forecaster: str
    start: ClockTime
    end: ClockTime
    horizon: int
    frequency: str
    data_sha256: str
    model_version: int | None = Field(
        None, description="the city's active model version used; null: the default "
        "historical average")
    checkpoint_sha256: str | None = None
    masked_readings: int = Field(0, description="stored target readings the sensor check "
                                 "flagged (stuck runs, spikes) and the forecast treated as "
                                 "missing")


class DecisionBody(BaseModel):
    """A decision's result (what-if answers this, unstored)."""

    city: str
    stored: bool
    request: dict[str, Any]
    inputs_sha256: str = Field(description="SHA-256 of the request, forecaster and data used")
    forecast: ForecastInfo
    family: str
    budget: float
    units: bool
    objective: float
    shadow_price: float = Field(description="what one more unit of budget would add")
    zones: list[ZoneDecision]


class DecisionOut(DecisionBody):
    id: int
    created_at: UtcTime
    idempotency_key: str | None = None


class DecisionSummary(BaseModel):
    id: int
    created_at: UtcTime
    inputs_sha256: str
    family: str
    budget: float
    units: bool
    horizon: int
    objective: float
    shadow_price: float


class DecisionPage(BaseModel):
    items: list[DecisionSummary]
    next_before: int | None = Field(
        None, description="pass as ?before= for the next (older) page; null: no more")

"""The contract of outcomes, ``/performance`` and ``/retrain-policy``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class OutcomeRequest(BaseModel):
    """The demand the decision's horizon then realized, per zone id (every zone named;
    e.g. incidents summed over the decided steps)."""

    model_config = ConfigDict(extra="forbid")

    realized: dict[str, float] = Field(description="zone id -> realized demand (>= 0)")


class OutcomeOut(BaseModel):
    id: int
    decision_id: int
    city: str
    model_version: int | None = Field(description="the version the decision used; null: "
                                      "the default historical average")
    realized: dict[str, float]
    realized_objective: float
    oracle_objective: float = Field(description="the best allocation's objective on the "
                                    "realized demand (the exact oracle)")
    regret: float = Field(description="oracle - realized objective (>= 0)")
    normalized_regret: float = Field(description="regret / |oracle objective|")
    hit_rate: float | None = Field(description="share of realized demand in attended zones; "
                                   "null when nothing was realized")
    pai: float | None = Field(description="predictive accuracy index: hit rate / share of "
                              "zones attended; null when nothing was realized or attended")
    created_at: dt.datetime
    retrain_job: int | None = Field(None, description="a retrain job the policy enqueued")


class OutcomeSummary(BaseModel):
    """An outcome in the city's history (``GET /cities/{city}/outcomes``)."""

    id: int
    decision_id: int
    city: str
    model_version: int | None
    realized_objective: float
    oracle_objective: float
    regret: float
    normalized_regret: float
    hit_rate: float | None
    pai: float | None
    created_at: dt.datetime


class VersionPerformance(BaseModel):
    model_version: int | None
    outcomes: int = Field(description="outcomes in the window (at most ?window)")
    mean_regret: float
    normalized_regret: float = Field(description="sum of regret / sum of |oracle objective|")
    mean_hit_rate: float | None
    mean_pai: float | None
    first: dt.datetime
    last: dt.datetime


class Performance(BaseModel):
    city: str
    window: int
    overall: VersionPerformance | None = Field(description="the city's last ?window outcomes")
    versions: list[VersionPerformance] = Field(description="per model version, newest first")


class RetrainPolicyIn(BaseModel):
    """Enqueue a retrain job every ``every`` stored outcomes, or when the normalized regret of
    the last ``window`` outcomes since the previous retrain exceeds ``drift`` (drift). The
    job trains ``forecaster`` with ``params`` (default: the active version's forecaster and
    params, else historical_average) and activates the result when ``activate``."""

    model_config = ConfigDict(extra="forbid")

    every: int | None = Field(None, ge=1)
    drift: float | None = Field(None, gt=0, allow_inf_nan=False)
    window: int = Field(20, ge=1, le=10_000)
    forecaster: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    activate: bool = True


class RetrainPolicyOut(RetrainPolicyIn):
    city: str
    outcomes_at_last: int = Field(description="the city's outcome count at the last retrain")

"""The contract of ``/cities/{city}/jobs``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class JobRequest(BaseModel):
    """Train ``forecaster`` on the city's stored observations and register the result as a
    model version (made active when ``activate``).

    ``params``: the forecaster's constructor parameters (``epochs``, ``lr``, ``seed``, ...)
    and its windows ``lookback`` and ``horizon`` (24 each by default); ``weekly`` for the
    historical average."""

    model_config = ConfigDict(extra="forbid")

    forecaster: str = Field(description="historical_average, seed_mlp, lstm or st_transformer")
    params: dict[str, Any] = Field(default_factory=dict)
    activate: bool = False


class JobOut(BaseModel):
    id: int
    city: str
    kind: str = Field(description="train, or retrain (enqueued by the retrain policy)")
    params: dict[str, Any]
    status: str = Field(description="queued, running, done or failed")
    progress: float = Field(description="0..1")
    log: str = Field(description="the log's last lines")
    attempts: int
    worker: str | None
    created_at: dt.datetime
    heartbeat: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    model_version: int | None = Field(description="the version the job registered")

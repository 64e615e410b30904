"""The contract of ``POST /cities/{city}/observations``."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from cityfocus.serve.contract import ClockTime

MAX_ROWS = 100_000


class ObservationRow(BaseModel):
    """One value: ``zone`` id, ``feature`` name, ``time`` (ISO 8601, on the city's clock),
    finite ``value``, and whether the zone was watched because attention went there
    (``attention``) or by full coverage (``full``)."""

    model_config = ConfigDict(extra="forbid")

    zone: str = Field(min_length=1)
    feature: str = Field(min_length=1)
    time: dt.datetime
    value: float = Field(allow_inf_nan=False)
    observed_by: Literal["attention", "full"] = "full"


class ObservationBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    rows: list[ObservationRow] = Field(min_length=1, max_length=MAX_ROWS)


class IngestResult(BaseModel):
    city: str
    accepted: int = Field(description="rows written (a re-sent row replaces the stored one)")
    distinct: int = Field(description="distinct (zone, feature, time) keys in the batch")
    first_time: ClockTime
    last_time: ClockTime
    data_version: int

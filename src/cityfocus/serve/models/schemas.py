"""The contract of ``/cities/{city}/models``."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class ModelUpload(BaseModel):
    """A checkpoint to register as the city's next version.

    ``checkpoint_base64``: the file ``NeuralForecaster.save`` wrote (seed_mlp, lstm,
    st_transformer), base64; leave it out for ``historical_average`` (its ``params``, e.g.
    ``{"weekly": false}``, are the whole model). ``activate``: make it the active version now.
    """

    model_config = ConfigDict(extra="forbid")

    forecaster: str = Field(description="historical_average, seed_mlp, lstm or st_transformer")
    checkpoint_base64: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    activate: bool = False


class ModelVersionOut(BaseModel):
    id: int
    city: str
    version: int
    forecaster: str
    params: dict[str, Any]
    checkpoint_sha256: str
    checkpoint_bytes: int
    source: str = Field(description="upload, or job <id> for a version a job trained")
    created_at: dt.datetime
    active: bool

"""``GET /cities/{city}/zones/{zone}``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.contract import error_responses
from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.deps import get_cache, get_session
from cityfocus.serve.zones.schemas import ZoneDetail
from cityfocus.serve.zones.service import zone_detail

router = APIRouter(prefix="/cities/{city}", tags=["cities"],
                   responses=error_responses(401, 403, 404))


@router.get("/zones/{zone}", response_model=ZoneDetail, dependencies=[Depends(require("read"))])
def get_zone(city: str, zone: str,
             horizon: int | None = Query(None, ge=1, le=10_000,
                                         description="steps forecast (default: the city "
                                         "card's decision horizon)"),
             history: int = Query(72, ge=1, le=10_000, description="past steps shown"),
             session: Session = Depends(get_session),
             cache: ForecastCache = Depends(get_cache)) -> ZoneDetail:
    """One zone: recent target and its usual range, the forecast with an interval, its
    neighbours, and what the forecaster drew on (attention rollout where the model has
    attention)."""
    return ZoneDetail.model_validate(zone_detail(session, cache, city, zone, horizon, history))

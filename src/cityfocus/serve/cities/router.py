"""``GET /cities`` and ``GET /cities/{city}``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from cityfocus.data.timestep import format_freq
from cityfocus.serve.auth import require
from cityfocus.serve.cities.schemas import CityOut, CitySummary, ZoneOut
from cityfocus.serve.cities.service import city_zones, describe_city, list_cities
from cityfocus.serve.contract import GUARDED, error_responses
from cityfocus.serve.deps import get_session
from cityfocus.serve.store.tables import Token

router = APIRouter(prefix="/cities", tags=["cities"], responses=GUARDED)


@router.get("", response_model=list[CitySummary])
def get_cities(token: Token = Depends(require("read")),
               session: Session = Depends(get_session)) -> list[CitySummary]:
    """The cities this token may see."""
    import datetime as dt

    allowed = None if token.cities is None else [str(c) for c in token.cities]
    return [CitySummary(name=c.name,
                        frequency=format_freq(dt.timedelta(seconds=c.freq_seconds)),
                        zones=len(city_zones(session, c)), features=list(c.features),
                        target=c.target)
            for c in list_cities(session, allowed)]


@router.get("/{city}", response_model=CityOut, dependencies=[Depends(require("read"))],
            responses=error_responses(404))
def get_city(city: str, session: Session = Depends(get_session)) -> CityOut:
    """A city: zones, features, frequency, adjacency (edge list), card, observation span."""
    info = describe_city(session, city)
    return CityOut(name=info.name, frequency=info.frequency, features=info.features,
                   target=info.target, zones=[ZoneOut(**z) for z in info.zones],
                   adjacency=[(str(a), str(b), float(w)) for a, b, w in info.edges],
                   card=info.card, observations=info.observations,
                   first_time=info.first_time, last_time=info.last_time)

"""Dependencies the routes share: the store's session, the forecast cache."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import Request
from sqlalchemy.orm import Session

from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.store.engine import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


def get_session(request: Request) -> Iterator[Session]:
    """One session per request, closed (rolled back if uncommitted) at its end."""
    with get_store(request).session() as session:
        yield session


def get_cache(request: Request) -> ForecastCache:
    cache: ForecastCache = request.app.state.forecasts
    return cache

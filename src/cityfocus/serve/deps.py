"""Dependencies the routes share: the store's session, the forecast cache."""

from __future__ import annotations

from collections.abc import AsyncIterator

from fastapi import Request
from sqlalchemy.orm import Session

from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.store.engine import Store


def get_store(request: Request) -> Store:
    store: Store = request.app.state.store
    return store


async def get_session(request: Request) -> AsyncIterator[Session]:
    """One session per request, closed (rolled back if uncommitted) at its end.

    Made and closed on the event loop: a session takes no connection until first used, and
    closing returns it to the pool after at most a rollback, which costs less than the two
    hand-offs to a worker thread a sync generator would need on every request.
    """
    session = get_store(request).sessions()
    try:
        yield session
    finally:
        session.close()


async def get_cache(request: Request) -> ForecastCache:  # async: no worker thread for this
    cache: ForecastCache = request.app.state.forecasts
    return cache

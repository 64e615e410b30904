"""Bearer-token access: ``Depends(require("write"))`` on a route. 401 for a missing, unknown
or revoked token, 403 for a token without the scope or the route's city. The token's id (never
its secret) goes to the access log.

A token the store verified within ``tokens.service.VERIFY_SECONDS`` is trusted without asking
the store again, on the event loop (no thread, no database round trip); otherwise the store is
asked in a worker thread with a session of its own."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from cityfocus.serve.deps import get_store
from cityfocus.serve.store.engine import Store
from cityfocus.serve.store.tables import Token
from cityfocus.serve.tokens.service import VERIFIED, authorize, verify_recent

bearer = HTTPBearer(auto_error=False, description="a token from `cityfocus token create`")


def require(scope: str, *, all_cities: bool = False) -> Callable[..., Awaitable[Token]]:
    """A dependency admitting tokens with ``scope`` for the path's ``{city}`` (if any);
    ``all_cities``: only tokens not limited to cities."""

    async def dependency(request: Request,
                         credentials: HTTPAuthorizationCredentials | None = Depends(bearer)
                         ) -> Token:
        presented = credentials.credentials if credentials else None
        store = get_store(request)
        token = VERIFIED.get(store.database, presented) if presented else None
        if token is None:
            token = await run_in_threadpool(_verify, store, presented)
        request.state.token_id = token.id
        authorize(token, scope, request.path_params.get("city"), all_cities=all_cities)
        return token

    return dependency


def _verify(store: Store, presented: str | None) -> Token:
    with store.session() as session:
        return verify_recent(session, presented)

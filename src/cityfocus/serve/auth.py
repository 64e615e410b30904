"""Bearer-token access: ``Depends(require("write"))`` on a route. 401 for a missing, unknown
or revoked token, 403 for a token without the scope or the route's city. The token's id (never
its secret) goes to the access log."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from cityfocus.serve.deps import get_session
from cityfocus.serve.store.tables import Token
from cityfocus.serve.tokens.service import authorize, verify

bearer = HTTPBearer(auto_error=False, description="a token from `cityfocus token create`")


def require(scope: str, *, all_cities: bool = False) -> Callable[..., Token]:
    """A dependency admitting tokens with ``scope`` for the path's ``{city}`` (if any);
    ``all_cities``: only tokens not limited to cities."""

    def dependency(request: Request,
                   credentials: HTTPAuthorizationCredentials | None = Depends(bearer),
                   session: Session = Depends(get_session)) -> Token:
        token = verify(session, credentials.credentials if credentials else None)
        request.state.token_id = token.id
        authorize(token, scope, request.path_params.get("city"), all_cities=all_cities)
        return token

    return dependency

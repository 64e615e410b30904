"""Errors the service turns into HTTP answers (the routes never build status codes by hand)."""

from __future__ import annotations

import math
from typing import Any

from fastapi import Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse


class ServiceError(Exception):
    """A request the service refuses; ``status`` is its HTTP status."""

    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(ServiceError):
    status = 404


class Conflict(ServiceError):
    status = 409


class Unprocessable(ServiceError):
    """A request body that is well formed but wrong; ``loc`` names the row and field the way
    FastAPI's own validation errors do (``["body", "rows", 12, "zone"]``)."""

    status = 422

    def __init__(self, message: str, loc: list[str | int], kind: str = "value_error") -> None:
        super().__init__(message)
        self.loc = loc
        self.kind = kind

    def detail(self) -> list[dict[str, Any]]:
        return [{"loc": self.loc, "msg": self.message, "type": self.kind}]


class Unauthorized(ServiceError):
    """No token, or one the store does not know or has revoked."""

    status = 401


class Forbidden(ServiceError):
    """A valid token without the scope or the city the request needs."""

    status = 403


def finite_json(value: Any) -> Any:
    """``value`` with the floats JSON cannot carry (inf, nan) written as strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: finite_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite_json(v) for v in value]
    return value


async def validation_error(_request: Request, err: RequestValidationError) -> JSONResponse:
    """FastAPI's 422 answer, but encodable when the rejected input was ``Infinity`` or
    ``NaN`` (Python's JSON reads them; the default answer echoes them and fails: a 500)."""
    return JSONResponse({"detail": finite_json(jsonable_encoder(err.errors()))},
                        status_code=422)

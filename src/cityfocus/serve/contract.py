"""Pieces of the API contract the resources share: how answers write times, the error answers
a route may give, and the bounds of ids in paths and queries (what the store's integers hold)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from fastapi.responses import Response
from pydantic import AfterValidator, BaseModel, Field, WithJsonSchema

# A time on the city's own clock, written without an offset (ISO 8601 local date-time): the
# clock of the city's dataset need not be UTC, so answers must not claim one. RFC 3339's
# "date-time" format requires an offset, hence the pattern instead of that format.
ClockTime = Annotated[dt.datetime, WithJsonSchema(
    {"type": "string", "format": "date-time-local",
     "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?$",
     "description": "a time on the city's clock, ISO 8601 without an offset"},
    mode="serialization")]


def _as_utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


# A moment the service recorded (the store keeps UTC without an offset): written with "Z".
UtcTime = Annotated[dt.datetime, AfterValidator(_as_utc)]

# Ids the store holds: decisions in a 64-bit integer, tokens and cities in a 32-bit one
# (PostgreSQL's BIGINT and INTEGER); a larger id in a path can name nothing (404, not 500).
DecisionId = Annotated[int, Field(ge=1, le=2**63 - 1)]
TokenId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class ErrorOut(BaseModel):
    """An error answer: one line, or FastAPI-style validation items (loc, msg, type)."""

    detail: str | list[dict[str, Any]]


_ERRORS: dict[int, str] = {
    400: "the body is not JSON (or not UTF-8)",
    401: "missing, malformed, unknown or revoked token",
    403: "the token lacks the scope or the city",
    404: "no such city (or resource)",
}


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the error answers ``statuses`` (see ``_ERRORS``)."""
    return {s: {"model": ErrorOut, "description": _ERRORS[s]} for s in statuses}


GUARDED = error_responses(401, 403)
"""What any route that needs a token may answer besides its own statuses."""


def json_answer(model: BaseModel, status_code: int = 200) -> Response:
    """``model`` as the JSON answer, serialized here. A sync route returning its model has
    FastAPI validate it against the response model again, in a worker thread of its own;
    the hot routes build their model once (that is the validation) and answer this."""
    return Response(model.model_dump_json(), status_code=status_code,
                    media_type="application/json")

"""``/cities/{city}/decisions`` (stored) and ``/cities/{city}/whatif`` (not stored)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Header, Query, Request, Response
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.contract import DecisionId, error_responses, json_answer
from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.decisions.schemas import (
    DecisionBody,
    DecisionOut,
    DecisionPage,
    DecisionRequest,
    DecisionSummary,
)
from cityfocus.serve.decisions.service import decide, get_decision, list_decisions, what_if
from cityfocus.serve.deps import get_cache, get_session, get_store

router = APIRouter(prefix="/cities/{city}", tags=["decisions"],
                   responses=error_responses(401, 403, 404))


@router.post("/decisions", response_model=DecisionOut, status_code=201,
             dependencies=[Depends(require("write"))],
             responses={200: {"description": "a retry with the same Idempotency-Key: the "
                              "decision stored the first time", "model": DecisionOut},
                        409: {"description": "the Idempotency-Key was used with another "
                              "request"}, **error_responses(400)})
def post_decision(city: str, body: DecisionRequest, request: Request,
                  idempotency_key: str | None = Header(None, max_length=255),
                  session: Session = Depends(get_session),
                  cache: ForecastCache = Depends(get_cache)) -> Response:
    """Forecast from the stored observations, allocate the budget exactly, explain every
    zone, store the decision with the SHA-256 of its inputs."""
    stored, created = decide(session, cache, city, body, idempotency_key,
                             getattr(request.state, "token_id", None),
                             writes=get_store(request).writes)
    return json_answer(DecisionOut.model_validate(stored), 201 if created else 200)


@router.get("/decisions", response_model=DecisionPage,
            dependencies=[Depends(require("read"))])
def get_decisions(city: str, limit: int = Query(20, ge=1, le=500),
                  before: DecisionId | None = Query(
                      None, description="an id: decisions older than it"),
                  session: Session = Depends(get_session)) -> DecisionPage:
    """The city's decisions, newest first, one page at a time."""
    items, next_before = list_decisions(session, city, limit, before)
    return DecisionPage(items=[DecisionSummary.model_validate(i) for i in items],
                        next_before=next_before)


@router.get("/decisions/{decision_id}", response_model=DecisionOut,
            dependencies=[Depends(require("read"))])
def get_one_decision(city: str, decision_id: DecisionId,
                     session: Session = Depends(get_session)) -> DecisionOut:
    """One stored decision, as it was made."""
    return DecisionOut.model_validate(get_decision(session, city, decision_id))


@router.post("/whatif", response_model=DecisionBody, dependencies=[Depends(require("read"))],
             responses=error_responses(400))
def post_whatif(city: str, body: DecisionRequest, session: Session = Depends(get_session),
                cache: ForecastCache = Depends(get_cache)) -> Response:
    """The decision the request would get now, re-solved on the cached forecast; not stored."""
    return json_answer(DecisionBody.model_validate(what_if(session, cache, city, body)))

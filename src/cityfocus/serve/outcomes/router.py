"""Outcomes of decisions, rolling performance, and the city's retrain policy."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.contract import DecisionId, error_responses
from cityfocus.serve.deps import get_session
from cityfocus.serve.outcomes.schemas import (
    OutcomeOut,
    OutcomeRequest,
    OutcomeSummary,
    Performance,
    RetrainPolicyIn,
    RetrainPolicyOut,
)
from cityfocus.serve.outcomes.service import (
    get_outcome,
    get_policy,
    list_outcomes,
    performance,
    record_outcome,
    set_policy,
)

router = APIRouter(prefix="/cities/{city}", tags=["outcomes"],
                   responses=error_responses(400, 401, 403, 404))


@router.post("/decisions/{decision_id}/outcome", response_model=OutcomeOut, status_code=201,
             dependencies=[Depends(require("write"))],
             responses={409: {"description": "the decision's outcome is already stored"}})
def post_outcome(city: str, decision_id: DecisionId, body: OutcomeRequest,
                 session: Session = Depends(get_session)) -> OutcomeOut:
    """Store the demand a decision then met → its regret against the exact oracle on that
    demand, hit rate and PAI; the retrain policy may enqueue a retrain job."""
    return OutcomeOut.model_validate(record_outcome(session, city, decision_id,
                                                    body.realized))


@router.get("/decisions/{decision_id}/outcome", response_model=OutcomeOut,
            dependencies=[Depends(require("read"))])
def get_one_outcome(city: str, decision_id: DecisionId,
                    session: Session = Depends(get_session)) -> OutcomeOut:
    """A decision's stored outcome."""
    return OutcomeOut.model_validate(get_outcome(session, city, decision_id))


@router.get("/outcomes", response_model=list[OutcomeSummary],
            dependencies=[Depends(require("read"))])
def get_outcomes(city: str, limit: int = Query(100, ge=1, le=1000),
                 session: Session = Depends(get_session)) -> list[OutcomeSummary]:
    """The city's last ``limit`` outcomes, newest first: regret, hit rate and PAI over time."""
    return [OutcomeSummary.model_validate(o) for o in list_outcomes(session, city, limit)]


@router.get("/performance", response_model=Performance, dependencies=[Depends(require("read"))])
def get_performance(city: str, window: int = Query(20, ge=1, le=10_000),
                    session: Session = Depends(get_session)) -> Performance:
    """Rolling figures over the last ``window`` outcomes, for the city and per model version."""
    return Performance.model_validate(performance(session, city, window))


@router.get("/retrain-policy", response_model=RetrainPolicyOut,
            dependencies=[Depends(require("read"))])
def get_retrain_policy(city: str, session: Session = Depends(get_session)) -> RetrainPolicyOut:
    """The city's retrain policy (404: none set)."""
    return RetrainPolicyOut.model_validate(get_policy(session, city))


@router.put("/retrain-policy", response_model=RetrainPolicyOut,
            dependencies=[Depends(require("admin"))])
def put_retrain_policy(city: str, body: RetrainPolicyIn,
                       session: Session = Depends(get_session)) -> RetrainPolicyOut:
    """Set the city's retrain policy: every K outcomes and/or on drift."""
    return RetrainPolicyOut.model_validate(set_policy(session, city, body))

"""``POST /cities/{city}/observations``."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.contract import error_responses
from cityfocus.serve.deps import get_session
from cityfocus.serve.metrics import INGESTED_ROWS_STATE
from cityfocus.serve.observations.schemas import IngestResult, ObservationBatch
from cityfocus.serve.observations.service import ingest

router = APIRouter(prefix="/cities/{city}", tags=["observations"],
                   responses=error_responses(401, 403, 404))


@router.post("/observations", response_model=IngestResult,
             dependencies=[Depends(require("write"))],
             responses={422: {"description": "a bad row: the batch is rejected whole"},
                        **error_responses(400)})
def post_observations(city: str, batch: ObservationBatch, request: Request,
                      session: Session = Depends(get_session)) -> IngestResult:
    """Ingest up to 100 000 rows in one transaction (idempotent: a re-sent row replaces)."""
    done = ingest(session, city, batch.rows)
    setattr(request.state, INGESTED_ROWS_STATE, done.accepted)  # for the rows counter
    return IngestResult(city=done.city, accepted=done.accepted, distinct=done.distinct,
                        first_time=done.first_time, last_time=done.last_time,
                        data_version=done.data_version)

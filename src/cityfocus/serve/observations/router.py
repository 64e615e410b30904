"""``POST /cities/{city}/observations``."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.deps import get_session
from cityfocus.serve.observations.schemas import IngestResult, ObservationBatch
from cityfocus.serve.observations.service import ingest

router = APIRouter(prefix="/cities/{city}", tags=["observations"])


@router.post("/observations", response_model=IngestResult,
             dependencies=[Depends(require("write"))],
             responses={422: {"description": "a bad row: the batch is rejected whole"}})
def post_observations(city: str, batch: ObservationBatch,
                      session: Session = Depends(get_session)) -> IngestResult:
    """Ingest up to 100 000 rows in one transaction (idempotent: a re-sent row replaces)."""
    done = ingest(session, city, batch.rows)
    return IngestResult(city=done.city, accepted=done.accepted, distinct=done.distinct,
                        first_time=done.first_time, last_time=done.last_time,
                        data_version=done.data_version)

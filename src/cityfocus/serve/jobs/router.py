"""``/cities/{city}/jobs``: queue a training job, follow its status, progress and log."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.contract import TokenId, error_responses
from cityfocus.serve.deps import get_session
from cityfocus.serve.jobs.schemas import JobOut, JobRequest
from cityfocus.serve.jobs.service import get_job, list_jobs, submit

router = APIRouter(prefix="/cities/{city}/jobs", tags=["jobs"],
                   responses=error_responses(400, 401, 403, 404))


@router.post("", response_model=JobOut, status_code=202,
             dependencies=[Depends(require("write"))])
def post_job(city: str, body: JobRequest, session: Session = Depends(get_session)) -> JobOut:
    """Queue training of a forecaster on the stored observations; a worker process
    (``cityfocus serve worker``) runs it and registers the result as a model version."""
    return JobOut.model_validate(submit(session, city, body.forecaster, body.params,
                                        body.activate))


@router.get("", response_model=list[JobOut], dependencies=[Depends(require("read"))])
def get_jobs(city: str, limit: int = Query(50, ge=1, le=500),
             session: Session = Depends(get_session)) -> list[JobOut]:
    """The city's jobs, newest first."""
    return [JobOut.model_validate(j) for j in list_jobs(session, city, limit)]


@router.get("/{job_id}", response_model=JobOut, dependencies=[Depends(require("read"))])
def get_one_job(city: str, job_id: TokenId, session: Session = Depends(get_session)) -> JobOut:
    """One job: status (queued, running, done, failed), progress 0..1, the log's tail."""
    return JobOut.model_validate(get_job(session, city, job_id))

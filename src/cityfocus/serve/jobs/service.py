"""Jobs as library functions. The API side: ``enqueue``, ``get_job``, ``list_jobs``. The
worker side: ``claim`` (atomic: ``SELECT … FOR UPDATE SKIP LOCKED`` on PostgreSQL, a guarded
``UPDATE`` on SQLite), ``beat``, ``report``, ``finish``, ``recover_stale``."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from cityfocus.serve.cities.service import get_city
from cityfocus.serve.errors import NotFound, Unprocessable
from cityfocus.serve.models.checkpoint import FORECASTERS
from cityfocus.serve.store.tables import City, Job, ModelVersion, utcnow

KINDS = ("train", "retrain")
LOG_TAIL = 8000  # characters of log kept per job
MAX_ATTEMPTS = 2  # an interrupted job is re-queued once, then failed


def job_out(job: Job, city: City, version: int | None) -> dict[str, Any]:
    return {"id": job.id, "city": city.name, "kind": job.kind, "params": job.params,
            "status": job.status, "progress": job.progress, "log": job.log,
            "attempts": job.attempts, "worker": job.worker, "created_at": job.created_at,
            "heartbeat": job.heartbeat, "started_at": job.started_at,
            "finished_at": job.finished_at, "model_version": version}


def check_job(forecaster: str, params: dict[str, Any]) -> None:
    """Refuse a job that cannot run (an unknown forecaster, bad windows) before queueing."""
    if forecaster not in FORECASTERS:
        raise Unprocessable(f"unknown forecaster {forecaster!r}; choose one of "
                            f"{', '.join(FORECASTERS)}", ["body", "forecaster"])
    for key in ("lookback", "horizon", "epochs"):
        value = params.get(key)
        if value is not None and (not isinstance(value, int) or isinstance(value, bool)
                                  or value < 1):
            raise Unprocessable(f"{key} must be a whole number >= 1", ["body", "params", key])


def enqueue(session: Session, city: City, kind: str, forecaster: str, params: dict[str, Any],
            activate: bool = False) -> Job:
    """Queue a job (not committed: the caller commits)."""
    check_job(forecaster, params)
    job = Job(city_id=city.id, kind=kind, status="queued", progress=0.0, log="", attempts=0,
              params={"forecaster": forecaster, "params": params, "activate": activate})
    session.add(job)
    session.flush()
    return job


def submit(session: Session, city_name: str, forecaster: str, params: dict[str, Any],
           activate: bool) -> dict[str, Any]:
    """Queue a train job for a worker. Commits."""
    city = get_city(session, city_name)
    job = enqueue(session, city, "train", forecaster, params, activate)
    session.commit()
    return job_out(job, city, None)


def _version_numbers(session: Session, jobs: list[Job]) -> dict[int, int]:
    ids = [j.model_version_id for j in jobs if j.model_version_id is not None]
    if not ids:
        return {}
    rows = session.execute(select(ModelVersion.id, ModelVersion.version)
                           .where(ModelVersion.id.in_(ids)))
    return {row_id: number for row_id, number in rows}


def get_job(session: Session, city_name: str, job_id: int) -> dict[str, Any]:
    city = get_city(session, city_name)
    job = session.get(Job, job_id)
    if job is None or job.city_id != city.id:
        raise NotFound(f"no job {job_id} for city {city.name!r}")
    return job_out(job, city, _version_numbers(session, [job]).get(job.model_version_id or -1))


def list_jobs(session: Session, city_name: str, limit: int = 50) -> list[dict[str, Any]]:
    """The city's jobs, newest first."""
    city = get_city(session, city_name)
    jobs = list(session.scalars(select(Job).where(Job.city_id == city.id)
                                .order_by(Job.id.desc()).limit(limit)))
    numbers = _version_numbers(session, jobs)
    return [job_out(j, city, numbers.get(j.model_version_id or -1)) for j in jobs]


# -- the worker's side -------------------------------------------------------------------

def worker_name() -> str:
    """``host:pid``: who runs a job (a restarted worker on the same host can tell at once
    that the process holding a job is gone)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def claim(session: Session, worker: str) -> Job | None:
    """Take the oldest queued job for ``worker``, or None. Atomic across processes: on
    PostgreSQL the row is locked (``FOR UPDATE SKIP LOCKED``, so workers never wait on each
    other); on SQLite (no row locks) the ``UPDATE`` only succeeds while the row is still
    queued, so of two workers racing for it exactly one wins. Commits."""
    candidate = session.scalar(select(Job.id).where(Job.status == "queued").order_by(Job.id)
                               .limit(1).with_for_update(skip_locked=True))
    if candidate is None:
        session.rollback()
        return None
    now = utcnow()
    won = session.execute(
        update(Job).where(Job.id == candidate, Job.status == "queued")
        .values(status="running", worker=worker, started_at=now, heartbeat=now,
                attempts=Job.attempts + 1, progress=0.0))
    session.commit()
    if getattr(won, "rowcount", 0) != 1:
        return None
    return session.get(Job, candidate)


def beat(session: Session, job_id: int, worker: str) -> None:
    """Refresh the heartbeat of a job this worker runs. Commits."""
    session.execute(update(Job).where(Job.id == job_id, Job.worker == worker,
                                      Job.status == "running").values(heartbeat=utcnow()))
    session.commit()


def append_log(log: str, line: str) -> str:
    stamped = f"{utcnow().isoformat(timespec='seconds')} {line.rstrip()}\n"
    return (log + stamped)[-LOG_TAIL:]


def report(session: Session, job_id: int, worker: str, progress: float | None,
           line: str) -> None:
    """Record progress (0..1) and a log line for a running job. Commits."""
    job = session.get(Job, job_id)
    if job is None or job.worker != worker or job.status != "running":
        session.rollback()
        return
    job.log = append_log(job.log, line)
    if progress is not None:
        job.progress = max(0.0, min(1.0, float(progress)))
    job.heartbeat = utcnow()
    session.commit()


def finish(session: Session, job_id: int, worker: str, status: str, line: str,
           model_version_id: int | None = None) -> None:
    """End a job this worker runs as ``done`` or ``failed``, or hand it back (``queued``).
    Commits."""
    job = session.get(Job, job_id)
    if job is None or job.worker != worker:
        session.rollback()
        return
    job.status = status
    job.log = append_log(job.log, line)
    if status == "queued":
        job.worker, job.heartbeat, job.started_at = None, None, None
    else:
        job.finished_at = utcnow()
        if status == "done":
            job.progress = 1.0
    job.model_version_id = model_version_id
    session.commit()


def _process_gone(worker: str | None) -> bool:
    """True when ``worker`` (``host:pid``) ran on this host and that process is gone."""
    if not worker or ":" not in worker:
        return False
    host, _, pid = worker.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def recover_stale(session: Session, stale_after: float, me: str) -> list[int]:
    """Jobs left ``running`` by a worker that stopped (its process gone on this host, or no
    heartbeat for ``stale_after`` seconds) are re-queued once, then failed — never left
    running. Returns their ids. Commits."""
    limit = utcnow() - dt.timedelta(seconds=stale_after)
    recovered = []
    for job in session.scalars(select(Job).where(Job.status == "running")).all():
        if job.worker == me:
            continue
        if not (_process_gone(job.worker) or job.heartbeat is None or job.heartbeat < limit):
            continue
        retry = job.attempts < MAX_ATTEMPTS
        line = (f"interrupted: worker {job.worker} stopped during attempt {job.attempts}; "
                + ("re-queued" if retry else f"failed after {job.attempts} attempts"))
        values: dict[str, Any] = {"log": append_log(job.log, line)}
        if retry:
            values |= {"status": "queued", "worker": None, "heartbeat": None,
                       "started_at": None}
        else:
            values |= {"status": "failed", "finished_at": utcnow()}
        done = session.execute(update(Job).where(Job.id == job.id, Job.status == "running",
                                                 Job.worker == job.worker).values(**values))
        if getattr(done, "rowcount", 0) == 1:
            recovered.append(job.id)
    session.commit()
    return recovered

"""The worker loop (``cityfocus serve worker``): claim a queued job, train, register the
version, heartbeat meanwhile; on start and every so often, recover jobs whose worker
stopped. Torch-free: the ``Trainer`` is passed in."""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from cityfocus.serve.cities.service import city_data
from cityfocus.serve.jobs.service import (
    beat,
    claim,
    finish,
    recover_stale,
    report,
    worker_name,
)
from cityfocus.serve.jobs.training import Trainer
from cityfocus.serve.models.service import register_version
from cityfocus.serve.store.engine import Store
from cityfocus.serve.store.tables import City, Job

LOG = logging.getLogger("cityfocus.serve.worker")


class Stopped(Exception):
    """The worker was asked to stop in the middle of a job (the job is handed back)."""


class Worker:
    """Runs jobs from ``store`` with ``trainer`` until ``stop`` is set.

    Args:
        poll: seconds between looks for a queued job when there is none.
        heartbeat: seconds between heartbeats of the running job.
        stale_after: a running job without a heartbeat for this long is recovered.
        parent: a process id to outlive no longer (``cityfocus serve`` starting its own
            workers): when it is gone the worker stops as on SIGTERM.
    """

    def __init__(self, store: Store, trainer: Trainer, *, poll: float = 0.5,
                 heartbeat: float = 2.0, stale_after: float = 30.0,
                 parent: int | None = None) -> None:
        self.store, self.trainer, self.parent = store, trainer, parent
        self.poll, self.heartbeat, self.stale_after = poll, heartbeat, stale_after
        self.name = worker_name()
        self.stop = threading.Event()

    def recover(self) -> list[int]:
        with self.store.session() as session:
            ids = recover_stale(session, self.stale_after, self.name)
        for job_id in ids:
            LOG.warning("job %s: its worker stopped; recovered", job_id)
        return ids

    def run(self, once: bool = False) -> None:
        """Work until ``stop`` is set (``once``: until no job is queued)."""
        if self.parent is not None:
            threading.Thread(target=self._watch_parent, daemon=True).start()
        self.recover()
        last_recovery = time.monotonic()
        while not self.stop.is_set():
            with self.store.session() as session:
                job = claim(session, self.name)
            if job is not None:
                self.run_job(job.id)
                continue
            if once:
                return
            if time.monotonic() - last_recovery > self.stale_after / 2:
                self.recover()
                last_recovery = time.monotonic()
            self.stop.wait(self.poll)

    def run_job(self, job_id: int) -> None:
        """Train a claimed job, register its version; the job ends done, failed, or (when
        the worker is stopped) queued again."""
        beating = threading.Event()
        pulse = threading.Thread(target=self._beat, args=(job_id, beating), daemon=True)
        pulse.start()
        try:
            status, line, version_id = "done", "done", None
            try:
                version_id, line = self._train(job_id)
            except Stopped:
                status, line = "queued", "worker stopping: handed back to the queue"
            except Exception as err:  # any failure ends the job with its one-line reason
                status, line = "failed", f"failed: {type(err).__name__}: {err}"
                LOG.exception("job %s failed", job_id)
        finally:
            beating.set()
            pulse.join()
        with self.store.session() as session:
            finish(session, job_id, self.name, status, line, version_id)

    def _train(self, job_id: int) -> tuple[int, str]:
        with self.store.session() as session:
            job = session.get(Job, job_id)
            assert job is not None
            city = session.get(City, job.city_id)
            assert city is not None
            data = city_data(session, city)
            spec: dict[str, Any] = dict(job.params)
            city_name, kind = city.name, job.kind
        forecaster, params = spec["forecaster"], dict(spec.get("params") or {})
        self._report(job_id, 0.0, f"{kind} {forecaster} on {city_name}: {data.shape[0]} steps,"
                                  f" {data.shape[1]} zones, params {params}")
        trained = self.trainer(data, forecaster, params,
                               lambda p, line: self._report(job_id, p, line))
        with self.store.session() as session:
            version = register_version(session, city_name, forecaster, trained.checkpoint,
                                       trained.params, source=f"job {job_id}",
                                       activate=bool(spec.get("activate")))
        state = "active" if version["active"] else "not active"
        return version["id"], f"registered model version {version['version']} ({state})"

    def _report(self, job_id: int, progress: float | None, line: str) -> None:
        if self.stop.is_set():
            raise Stopped
        with self.store.session() as session:
            report(session, job_id, self.name, progress, line)

    def _watch_parent(self) -> None:
        while not self.stop.wait(1.0):
            if os.getppid() != self.parent:
                LOG.warning("the service that started this worker is gone; stopping")
                self.stop.set()

    def _beat(self, job_id: int, done: threading.Event) -> None:
        while not done.wait(self.heartbeat):
            try:
                with self.store.session() as session:
                    beat(session, job_id, self.name)
            except Exception:  # a missed beat is retried at the next one
                LOG.exception("heartbeat of job %s", job_id)

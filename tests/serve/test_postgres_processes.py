"""Several real processes on one PostgreSQL database: two ``cityfocus serve --workers 0`` API
processes and one ``cityfocus serve worker`` on one fresh schema (127.0.0.1:5432, database
``test``; dropped afterwards) agree on what is stored, store one decision per idempotency key
whichever API gets it, and share one job queue."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest

from tests.serve.learning import wait_for

pytestmark = pytest.mark.postgres


def _cityfocus(*args: str, log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    try:
        return subprocess.Popen([sys.executable, "-m", "cityfocus", *args], stdout=out,
                                stderr=subprocess.STDOUT)
    finally:
        out.close()  # the child keeps its own descriptor


@contextmanager
def _running(proc: subprocess.Popen[bytes]) -> Iterator[subprocess.Popen[bytes]]:
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _ready(url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    def answers() -> bool:
        assert proc.poll() is None, f"cityfocus serve exited:\n{log.read_text()}"
        try:
            return httpx.get(f"{url}/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_for(answers, 30, f"{url} to be ready")


def test_two_apis_and_a_worker_share_one_postgres_database(pg_url: str,
                                                           tmp_path: Path) -> None:
    log = tmp_path / "processes.log"
    made = subprocess.run([sys.executable, "-m", "cityfocus", "token", "create", "--scope",
                           "admin", "--name", "processes", "--db", pg_url],
                          capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr  # it created, migrated and preloaded the schema
    headers = {"Authorization": f"Bearer {made.stdout.strip()}"}
    with ExitStack() as stack:
        urls = []
        for _ in range(2):
            port = _free_port()
            proc = stack.enter_context(_running(_cityfocus(
                "serve", "--workers", "0", "--port", str(port), "--db", pg_url, log=log)))
            urls.append((f"http://127.0.0.1:{port}", proc))
        for url, proc in urls:
            _ready(url, proc, log)
        a, b = (stack.enter_context(httpx.Client(base_url=url, headers=headers, timeout=60))
                for url, _ in urls)
        before = a.get("/cities/synthetic").json()["observations"]

        # ingest through both; either reads the same counts
        rows = [{"zone": f"z{z:02d}", "feature": "incidents",
                 "time": f"2024-02-26T{h:02d}:00:00", "value": z + h} for z in range(4)
                for h in range(3)]
        assert a.post("/cities/synthetic/observations", json={"rows": rows[:6]}).status_code == 200
        assert b.post("/cities/synthetic/observations",
                      json={"rows": rows[3:]}).status_code == 200  # 3 rows re-sent
        for client in (a, b):
            city = client.get("/cities/synthetic").json()
            assert city["observations"] == before + len(rows)
            assert city["last_time"] == "2024-02-26T02:00:00"

        # the same Idempotency-Key through both (at once): one stored decision
        decision = {"budget": 10, "units": True, "params": {"alpha": 0.5}}
        key = {"Idempotency-Key": "processes-shift-1"}
        with ThreadPoolExecutor(2) as pool:
            answers = list(pool.map(
                lambda c: c.post("/cities/synthetic/decisions", json=decision, headers=key),
                (a, b)))
        assert sorted(r.status_code for r in answers) == [200, 201]
        assert answers[0].json()["id"] == answers[1].json()["id"]
        assert answers[0].json()["zones"] == answers[1].json()["zones"]
        for client in (a, b):
            assert len(client.get("/cities/synthetic/decisions").json()["items"]) == 1

        # a job queued through one API, run by the worker, seen through the other
        stack.enter_context(_running(_cityfocus("serve", "worker", "--db", pg_url, log=log)))
        queued = a.post("/cities/synthetic/jobs", json={"forecaster": "historical_average"})
        assert queued.status_code == 202, queued.text
        job_id = queued.json()["id"]
        job = wait_for(lambda: (lambda j: j if j["status"] in ("done", "failed") else None)(
            b.get(f"/cities/synthetic/jobs/{job_id}").json()), 30, "the job to finish")
        assert job["status"] == "done", f"{job['log']}\n{log.read_text()}"
        assert job["attempts"] == 1 and job["worker"] and job["model_version"] is not None
        assert [j["id"] for j in a.get("/cities/synthetic/jobs").json()] == [job_id]

"""What lets the service take load: requests that miss the forecast cache together make one
forecast, concurrent decisions share a commit (each failing alone), and several API processes
answer on one port (real processes, real sockets)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityfocus.cli.serve_processes import QUICK_EXIT_SECONDS
from cityfocus.serve.cities.service import city_state
from cityfocus.serve.decisions import forecast as forecasts
from cityfocus.serve.decisions.forecast import ForecastCache
from cityfocus.serve.store.engine import Store
from cityfocus.serve.store.tables import Decision
from tests.serve.learning import wait_for


def _together(count: int, work: Callable[[int], object]) -> list[object]:
    """``work(i)`` in ``count`` threads released at once; their results (or errors)."""
    start = threading.Barrier(count)
    results: list[object] = [None] * count

    def run(i: int) -> None:
        start.wait()
        try:
            results[i] = work(i)
        except Exception as err:
            results[i] = err

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


def test_requests_missing_the_cache_together_make_one_forecast(store: Store,
                                                               monkeypatch) -> None:
    made = []
    real = forecasts.forecast_for

    def counted(session: Session, city: str, horizon: int) -> forecasts.CityForecast:
        made.append(city)
        return real(session, city, horizon)

    monkeypatch.setattr(forecasts, "forecast_for", counted)
    cache = ForecastCache()

    def ask(_i: int) -> object:
        with store.session() as session:
            return cache.get_for(session, city_state(session, "tiny"), 24)

    results = _together(8, ask)
    assert made == ["tiny"]
    assert all(r is results[0] for r in results) and isinstance(results[0],
                                                                forecasts.CityForecast)


def test_concurrent_decisions_share_a_commit_and_a_duplicate_key_fails_alone(
        store: Store) -> None:
    commits = []
    event.listen(store.engine, "commit", lambda _conn: commits.append(1))
    with store.session() as session:
        city_id = city_state(session, "tiny").id
    first_in = threading.Event()
    go_on = threading.Event()

    def store_decision(i: int) -> int:
        key = "same" if i in (1, 2) else f"key-{i}"

        def work(session: Session) -> int:
            if i == 0:  # the first group holds only this write until all others queue
                first_in.set()
                assert go_on.wait(30)
            row = Decision(city_id=city_id, idempotency_key=key, request={},
                           request_sha256="r", inputs_sha256="i", forecaster="f", result={})
            session.add(row)
            session.flush()
            return row.id

        if i > 0:
            assert first_in.wait(30)
        return store.writes.write(work)

    waiting = threading.Thread(target=lambda: (
        wait_for(lambda: len(store.writes._waiting) == 15, 30, "15 writes waiting"),
        go_on.set()))
    waiting.start()
    commits.clear()
    results = _together(16, store_decision)
    waiting.join(30)
    failed = [r for r in results if isinstance(r, Exception)]
    assert len(failed) == 1 and isinstance(failed[0], IntegrityError), results
    assert len(commits) == 2  # the first write alone, then the 15 that queued behind it
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Decision)) == 15
        ids = {r for r in results if isinstance(r, int)}
        assert len(ids) == 15


def _sockets(pid: int, port: int, state: str) -> int:
    """How many TCP sockets on local ``port`` in ``state`` (/proc/net/tcp: "0A" listening,
    "01" established) process ``pid`` holds."""
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:  # closed meanwhile
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    count = 0
    with open(f"/proc/{pid}/net/tcp") as table:
        for line in table.readlines()[1:]:
            fields = line.split()
            if (int(fields[1].split(":")[1], 16) == port and fields[3] == state
                    and fields[9] in inodes):
                count += 1
    return count


def _listening(pid: int, port: int) -> bool:
    return _sockets(pid, port, "0A") > 0


def _children(pid: int) -> list[int]:
    with open(f"/proc/{pid}/task/{pid}/children") as kids:
        return [int(k) for k in kids.read().split()]


@pytest.mark.slow  # 15 s of real processes; its socket count was off by 2 once in CI
def test_two_api_processes_answer_on_one_port(tmp_path: Path) -> None:
    """``--api-processes 2``: both processes take connections on the one port, one killed is
    replaced, and SIGTERM stops them all (the status says SIGTERM)."""
    proc = subprocess.Popen([sys.executable, "-m", "cityfocus", "serve", "--port", "0",
                             "--workers", "0", "--api-processes", "2", "--data-dir",
                             str(tmp_path / "data")],
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stderr is not None
        for line in proc.stderr:
            if "cityfocus serve on http://" in line:
                url = line.split(" on ")[1].split()[0]
                break
        port = int(url.rsplit(":", 1)[1])

        wait_for(lambda: len(_children(proc.pid)) == 2 and all(
            _listening(p, port) for p in _children(proc.pid)), 60, "two API processes")
        up = time.monotonic()
        assert not _listening(proc.pid, port)  # the parent holds the port, takes no connection
        again = subprocess.run([sys.executable, "-m", "cityfocus", "serve", "--port", str(port),
                                "--api-processes", "2", "--data-dir", str(tmp_path / "other")],
                               capture_output=True, text=True, timeout=60)
        assert again.returncode == 2 and "already in use" in again.stderr, again.stderr
        clients = [httpx.Client(base_url=url, timeout=30) for _ in range(24)]
        try:
            for client in clients:  # 24 connections, kept open
                assert client.get("/healthz").status_code == 200
            held = {pid: _sockets(pid, port, "01") for pid in _children(proc.pid)}
            assert sum(held.values()) == 24 and all(held.values()), held
        finally:
            for client in clients:
                client.close()
        victim = _children(proc.pid)[0]
        # a process that stops within QUICK_EXIT_SECONDS of starting is taken for a crash at
        # start (the service stops); on a quiet machine the test gets here sooner than that
        time.sleep(max(0.0, QUICK_EXIT_SECONDS + 0.5 - (time.monotonic() - up)))
        os.kill(victim, signal.SIGKILL)
        wait_for(lambda: victim not in _children(proc.pid) and len(_children(proc.pid)) == 2
                 and all(_listening(p, port) for p in _children(proc.pid)), 60,
                 "a replacement API process")
        for _ in range(20):  # whichever process a new connection reaches answers
            assert httpx.get(f"{url}/healthz").status_code == 200
        children = _children(proc.pid)
        proc.send_signal(signal.SIGTERM)
        proc.communicate(timeout=40)
        assert proc.returncode == -signal.SIGTERM
        assert not any(os.path.exists(f"/proc/{pid}") for pid in children)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


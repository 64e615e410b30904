"""A real ``cityfocus serve`` process for the service benchmarks: a fresh store (a temporary
SQLite data folder, or a fresh schema of PostgreSQL database ``test`` dropped afterwards), an
admin token, start / SIGKILL / restart, and the facts of the machine each result records."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cityfocus.evaluate.manifest import git_commit

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@dataclass
class StoreSpec:
    """Where a benchmark's store lives: ``args`` for ``cityfocus serve``/``token``."""

    db: str  # "sqlite" or "postgresql"
    args: list[str]
    url: str | None = None  # the PostgreSQL URL (None for SQLite)
    data_dir: Path | None = None


@contextmanager
def fresh_store(db: str) -> Iterator[StoreSpec]:
    """A store no one used: a temporary SQLite data folder, or a new PostgreSQL schema in
    database ``test`` on 127.0.0.1:5432 (dropped on exit)."""
    if db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="cityfocus-bench-") as tmp:
            folder = Path(tmp) / "data"
            yield StoreSpec("sqlite", ["--data-dir", str(folder)], data_dir=folder)
        return
    from sqlalchemy import create_engine, text

    schema = f"cityfocus_bench_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    try:
        yield StoreSpec("postgresql", ["--db", url], url=url)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def cityfocus(*args: str) -> str:
    """Run ``cityfocus ARGS`` to completion; its stdout (raises with stderr on failure)."""
    done = subprocess.run([sys.executable, "-m", "cityfocus", *args], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        raise RuntimeError(f"cityfocus {' '.join(args)} failed: {done.stderr.strip()}")
    return done.stdout


def admin_token(spec: StoreSpec) -> str:
    """A new admin token (opening, migrating and preloading the store when new)."""
    return cityfocus("token", "create", "--scope", "admin", "--name", "bench",
                     *spec.args).strip()


@dataclass
class Service:
    """A running ``cityfocus serve`` process on a fixed loopback port."""

    spec: StoreSpec
    port: int
    log: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: list[float] = field(default_factory=list)
    args: list[str] = field(default_factory=list)  # more ``cityfocus serve`` options

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> float:
        """Start it and wait until ``/readyz`` answers 200; the seconds that took."""
        import httpx

        started = time.perf_counter()
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "cityfocus", "serve", "--port", str(self.port),
                 *self.spec.args, *no_job_workers(), *self.args], stdout=out,
                stderr=subprocess.STDOUT)
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"cityfocus serve exited; see {self.log}")
            try:
                if httpx.get(f"{self.url}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.perf_counter() - started > timeout:
                raise RuntimeError(f"cityfocus serve not ready in {timeout} s; see {self.log}")
            time.sleep(0.05)
        self.starts.append(time.perf_counter() - started)
        return self.starts[-1]

    def pids(self) -> list[int]:
        """The process ids answering requests: ``cityfocus serve``'s, or with
        ``--api-processes`` its children's (Linux: read from /proc)."""
        assert self.proc is not None
        pid = self.proc.pid
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as kids:
                children = [int(k) for k in kids.read().split()]
        except OSError:
            children = []
        return children or [pid]

    def kill(self) -> None:
        """SIGKILL: no shutdown, no flush, no goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(30)

    def stop(self) -> None:
        """SIGTERM (graceful), SIGKILL after 30 s."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.kill()


def no_job_workers() -> list[str]:
    """``--workers 0`` when ``cityfocus serve`` starts job workers: the benchmarks measure
    the HTTP service alone (and a SIGKILL must not orphan a worker)."""
    global _NO_WORKERS
    if _NO_WORKERS is None:
        text = cityfocus("serve", "--help")
        _NO_WORKERS = ["--workers", "0"] if "--workers" in text else []
    return _NO_WORKERS


_NO_WORKERS: list[str] | None = None


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def database_version(spec: StoreSpec) -> str:
    """The database's own version string (``sqlite 3.x`` or PostgreSQL's)."""
    if spec.db == "sqlite":
        import sqlite3

        return f"SQLite {sqlite3.sqlite_version}"
    from sqlalchemy import create_engine, text

    engine = create_engine(PG_SERVER)
    try:
        with engine.connect() as conn:
            version = str(conn.execute(text("SHOW server_version")).scalar())
            return f"PostgreSQL {version.split()[0]}"
    finally:
        engine.dispose()


def machine() -> dict[str, Any]:
    """What a result depends on: load average, CPUs, Python, platform, commit."""
    return {"load_average": list(os.getloadavg()), "cpu_count": os.cpu_count(),
            "python": platform.python_version(), "platform": platform.platform(),
            "commit": git_commit()}

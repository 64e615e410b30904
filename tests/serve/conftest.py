"""Shared fixtures of the service tests: a store with the synthetic city (preloaded as on a
first start) and a small second city, served by real uvicorn on a free loopback port in a
thread, and tokens of every kind."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn

from cityfocus.data.synthetic import synthetic_city
from cityfocus.serve.app import create_app
from cityfocus.serve.bootstrap import bootstrap
from cityfocus.serve.cities.service import add_city
from cityfocus.serve.store.engine import Store, open_store
from cityfocus.serve.tokens.service import create_token, revoke_token

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextmanager
def serving(store: Store) -> Iterator[str]:
    """Run the service over ``store`` with real uvicorn on a free loopback port; yields its
    base URL."""
    # IPPROTO_TCP so asyncio sets TCP_NODELAY (else ~40 ms per keep-alive answer)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(store), access_log=False,
                                           log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


@dataclass
class Served:
    """A running service: its URL, store, and secrets of every kind of token."""

    url: str
    store: Store
    data_dir: Path | None
    tokens: dict[str, str]

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {} if token is None else {"Authorization": f"Bearer {token}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def make_tokens(store: Store, admin: str) -> dict[str, str]:
    """Secrets by kind: admin, read, write, other_city (write, limited to "other"),
    this_city (write, limited to "synthetic"), revoked, wrong (a real id, wrong secret),
    malformed."""
    with store.session() as session:
        tokens = {"admin": admin}
        for scope in ("read", "write"):
            tokens[scope] = create_token(session, scope, name=scope)[1]
        tokens["other_city"] = create_token(session, "admin", ["other"], "other")[1]
        tokens["this_city"] = create_token(session, "write", ["synthetic"], "this")[1]
        info, secret = create_token(session, "admin", name="revoked")
        revoke_token(session, info.id)
        tokens["revoked"] = secret
    prefix = tokens["read"].rsplit("_", 1)[0]
    tokens["wrong"] = f"{prefix}_{'x' * 43}"
    tokens["malformed"] = "not-a-token"
    return tokens


def prepare(store: Store) -> str:
    """Bootstrap ``store`` as a first start does, add the small city "other"; return the
    admin secret (made here when the store has no data folder)."""
    done = bootstrap(store)
    with store.session() as session:
        add_city(session, synthetic_city(n_zones=4, days=3).data, name="other")
        if done.admin_token is not None:
            return done.admin_token.read_text().strip()
        return create_token(session, "admin", name="admin")[1]


@contextmanager
def served_at(data_dir: Path) -> Iterator[Served]:
    """A service over a fresh SQLite store in ``data_dir`` (synthetic and the small "other"
    city), with a token of every kind."""
    store = open_store(data_dir)
    admin = prepare(store)
    with serving(store) as url:
        yield Served(url, store, data_dir, make_tokens(store, admin))
    store.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One SQLite service for the module's tests (each test touches its own keys and times)."""
    with served_at(tmp_path_factory.mktemp("serve") / "cityfocus-data") as served:
        yield served


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A fresh SQLite store (no HTTP) holding the small city "tiny" (4 zones, 2 days)."""
    store = open_store(tmp_path / "data")
    with store.session() as session:
        add_city(session, synthetic_city(n_zones=4, days=2).data, name="tiny")
    yield store
    store.close()


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A PostgreSQL URL on a fresh schema of database ``test``, dropped afterwards."""
    if not postgres_reachable():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    from sqlalchemy import create_engine, text

    schema = f"cityfocus_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(PG_SERVER)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:  # any failure here means "no usable server"
        admin.dispose()
        pytest.skip(f"PostgreSQL at 127.0.0.1:5432 is not usable: {type(err).__name__}")
    try:
        yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

"""The same store and core flow on PostgreSQL (127.0.0.1:5432, database ``test``; a fresh
schema per test, dropped afterwards)."""

from __future__ import annotations

import pytest

from cityfocus.serve.store.engine import open_store
from tests.serve.conftest import Served, make_tokens, prepare, serving
from tests.serve.flow import core_flow

pytestmark = pytest.mark.postgres


def test_core_flow_on_postgres(pg_url: str) -> None:
    store = open_store(db=pg_url)
    try:
        assert store.dialect == "postgresql" and store.ready() == (True, "ok")
        admin = prepare(store)
        with serving(store) as url:
            served = Served(url, store, None, make_tokens(store, admin))
            core_flow(served, "postgres-core")
            with served.client(served.tokens["read"]) as client:
                assert client.post("/cities/synthetic/observations",
                                   json={"rows": []}).status_code == 403
            with served.client(served.tokens["revoked"]) as client:
                assert client.get("/cities").status_code == 401
            with served.client() as client:
                assert client.get("/readyz").json()["status"] == "ready"
    finally:
        store.close()

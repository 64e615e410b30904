"""Who may do what: every route x every kind of token, exactly the intended status."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from typing import Any

import pytest
from sqlalchemy import select

from cityfocus.serve.logs import ACCESS, JsonFormatter
from cityfocus.serve.store.tables import Token
from tests.serve.conftest import Served

DECIDE = {"budget": 2, "units": True, "horizon": 2}
ROWS = {"rows": [{"zone": "z05", "feature": "incidents", "time": "2024-01-03T04:00:00",
                  "value": 1.0}]}

# route -> the scope it needs ("open": none; "admin*": an admin token for every city)
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/healthz", None, "open"),
    ("GET", "/readyz", None, "open"),
    ("GET", "/cities", None, "read"),
    ("GET", "/cities/synthetic", None, "read"),
    ("GET", "/cities/synthetic/decisions", None, "read"),
    ("GET", "/cities/synthetic/decisions/{decision}", None, "read"),
    ("POST", "/cities/synthetic/whatif", DECIDE, "read"),
    ("POST", "/cities/synthetic/observations", ROWS, "write"),
    ("POST", "/cities/synthetic/decisions", DECIDE, "write"),
    ("GET", "/tokens", None, "admin*"),
    ("POST", "/tokens", {"scope": "read", "name": "made in the matrix"}, "admin*"),
    ("DELETE", "/tokens/{victim}", None, "admin*"),
]
SUCCESS = {("POST", "/cities/synthetic/decisions"): 201, ("POST", "/tokens"): 201}
LEVEL = {"read": 0, "write": 1, "admin": 2}
# kind -> (scope, limited to cities); None: not a live token
KINDS: dict[str, tuple[str, list[str] | None] | None] = {
    "none": None, "malformed": None, "wrong": None, "revoked": None,
    "read": ("read", None), "write": ("write", None), "admin": ("admin", None),
    "other_city": ("admin", ["other"]), "this_city": ("write", ["synthetic"]),
}


def expected(kind: str, method: str, path: str, need: str) -> int:
    ok = SUCCESS.get((method, path), 200)
    if need == "open":
        return ok
    token = KINDS[kind]
    if token is None:
        return 401
    scope, cities = token
    if LEVEL[scope] < LEVEL[need.rstrip("*")]:
        return 403
    if cities is not None and (need.endswith("*") or
                               ("/cities/" in path and "synthetic" not in cities)):
        return 403
    return ok


@pytest.fixture(scope="module")
def ids(served: Served) -> dict[str, int]:
    with served.client(served.tokens["admin"]) as client:
        decision = client.post("/cities/synthetic/decisions", json=DECIDE).json()["id"]
        victim = client.post("/tokens", json={"scope": "read", "name": "victim"}).json()["id"]
    return {"decision": decision, "victim": victim}


@pytest.mark.parametrize("kind", list(KINDS))
def test_access_matrix(served: Served, ids: dict[str, int], kind: str) -> None:
    secret = None if kind == "none" else served.tokens[kind]
    got, want = {}, {}
    with served.client(secret) as client:
        for method, path, body, need in ROUTES:
            url = path.format(**ids)
            answer = client.request(method, url, json=body)
            got[f"{method} {path}"] = answer.status_code
            want[f"{method} {path}"] = expected(kind, method, path, need)
            if answer.status_code == 401:
                assert answer.headers["www-authenticate"] == "Bearer"
    assert got == want


def test_a_city_limited_token_lists_only_its_cities(served: Served) -> None:
    with served.client(served.tokens["other_city"]) as client:
        assert [c["name"] for c in client.get("/cities").json()] == ["other"]
        assert client.get("/cities/other").status_code == 200
    with served.client(served.tokens["admin"]) as client:
        assert {"other", "synthetic"} <= {c["name"] for c in client.get("/cities").json()}


def test_tokens_are_stored_hashed_and_never_listed(served: Served) -> None:
    with served.client(served.tokens["admin"]) as client:
        made = client.post("/tokens", json={"scope": "write", "cities": ["other"]}).json()
        listed = client.get("/tokens").text
        bad = client.post("/tokens", json={"scope": "read", "cities": ["atlantis"]})
    secret = made["secret"]
    assert secret.startswith(f"cf_{made['id']}_") and secret not in listed
    assert bad.status_code == 422 and "atlantis" in bad.text
    raw = secret.split("_", 2)[2]
    with served.store.session() as session:
        stored = session.get(Token, made["id"])
        assert stored is not None and stored.cities == ["other"]
        assert stored.secret_sha256 == hashlib.sha256(raw.encode()).hexdigest()
        for token in session.scalars(select(Token)):
            assert all(raw not in str(value) for value in vars(token).values())


def test_the_access_log_is_json_without_tokens(served: Served) -> None:
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(JsonFormatter().format(record))

    keep = Keep()
    ACCESS.addHandler(keep)
    try:
        for kind in ("read", "wrong", "revoked"):
            with served.client(served.tokens[kind]) as client:
                client.get("/cities/synthetic?token=" + served.tokens[kind])
        # the server writes a request's line after its answer is sent: wait for the last one
        deadline = time.monotonic() + 5
        while len(lines) < 3 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        ACCESS.removeHandler(keep)
    entries = [json.loads(line) for line in lines]
    assert [e["status"] for e in entries] == [200, 401, 401]
    assert entries[0]["path"] == "/cities/synthetic" and entries[0]["token_id"] > 0
    for kind in ("read", "wrong", "revoked"):
        assert all(served.tokens[kind].split("_", 2)[2] not in line for line in lines)

"""The access matrix of tests/serve/test_access.py, extended to the learning loop's routes
(models, jobs, outcomes, performance, retrain policy): rows only, the same expectations."""

from __future__ import annotations

from typing import Any

import pytest

from tests.serve.conftest import Served
from tests.serve.learning import learning
from tests.serve.test_access import KINDS, expected

__all__ = ["learning"]  # the fixture, imported for pytest

DECIDE = {"budget": 2, "units": True, "horizon": 2}
ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/cities/synthetic/models", None, "read"),
    ("POST", "/cities/synthetic/models", {"forecaster": "historical_average"}, "admin"),
    ("POST", "/cities/synthetic/models/{version}/activate", None, "admin"),
    ("GET", "/cities/synthetic/jobs", None, "read"),
    ("GET", "/cities/synthetic/jobs/{job}", None, "read"),
    ("POST", "/cities/synthetic/jobs", {"forecaster": "historical_average"}, "write"),
    ("GET", "/cities/synthetic/performance", None, "read"),
    ("GET", "/cities/synthetic/decisions/{decided}/outcome", None, "read"),
    ("POST", "/cities/synthetic/decisions/{decision}/outcome", "realized", "write"),
    ("GET", "/cities/synthetic/retrain-policy", None, "read"),
    ("PUT", "/cities/synthetic/retrain-policy", {"every": 1000}, "admin"),
]
SUCCESS = {("POST", "/cities/synthetic/models"): 201, ("POST", "/cities/synthetic/jobs"): 202,
           ("POST", "/cities/synthetic/decisions/{decision}/outcome"): 201}


@pytest.fixture(scope="module")
def ids(learning: Served) -> dict[str, Any]:
    with learning.client(learning.tokens["admin"]) as client:
        version = client.post("/cities/synthetic/models",
                              json={"forecaster": "historical_average"}).json()["version"]
        job = client.post("/cities/synthetic/jobs",
                          json={"forecaster": "historical_average"}).json()["id"]
        decided = client.post("/cities/synthetic/decisions", json=DECIDE).json()
        zones = {z["zone"]: 0.0 for z in decided["zones"]}
        client.post(f"/cities/synthetic/decisions/{decided['id']}/outcome",
                    json={"realized": zones})
        client.put("/cities/synthetic/retrain-policy", json={"every": 1000})
    return {"version": version, "job": job, "decided": decided["id"], "zones": zones}


@pytest.mark.parametrize("kind", list(KINDS))
def test_access_matrix_of_the_learning_loop(learning: Served, ids: dict[str, Any],
                                            kind: str) -> None:
    secret = None if kind == "none" else learning.tokens[kind]
    got, want = {}, {}
    with learning.client(secret) as client:
        for method, path, body, need in ROUTES:
            if body == "realized":  # each outcome needs a decision of its own
                with learning.client(learning.tokens["admin"]) as admin:
                    decision = admin.post("/cities/synthetic/decisions", json=DECIDE).json()
                url = path.format(decision=decision["id"])
                body = {"realized": ids["zones"]}
            else:
                url = path.format(**ids)
            answer = client.request(method, url, json=body)
            got[f"{method} {path}"] = answer.status_code
            ok = SUCCESS.get((method, path), 200)
            want[f"{method} {path}"] = expected(kind, method, "/cities/synthetic", need) \
                if ok == 200 else _with(ok, expected(kind, method, "/cities/synthetic", need))
    assert got == want


def _with(ok: int, status: int) -> int:
    return ok if status == 200 else status

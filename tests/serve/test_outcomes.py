"""Outcomes: regret against the exact oracle on the realized demand, hit rate and PAI
(checked by hand), rolling performance per model version, and the retrain policy (every K
outcomes, and on drift)."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.allocate.task import DecisionTask
from cityfocus.serve.outcomes.metrics import outcome_figures
from tests.serve.conftest import Served
from tests.serve.learning import learning

__all__ = ["learning"]  # the fixture, imported for pytest

DECIDE = {"budget": 2, "units": True, "horizon": 6, "family": "linear"}


def _decide(client, city: str = "other") -> dict:  # type: ignore[no-untyped-def]
    made = client.post(f"/cities/{city}/decisions", json=DECIDE)
    assert made.status_code == 201, made.text
    return made.json()


def test_pai_by_hand() -> None:
    # 3 of 4 incidents fell in the 2 attended zones of 4: (3/4) / (2/4) = 1.5
    task = DecisionTask("coverage", 2, True, params={"alpha": 1.0})

    def pai(w: np.ndarray, realized: np.ndarray) -> float | None:
        return outcome_figures(task, w, realized)["pai"]

    assert pai(np.array([1.0, 0, 0, 1]), np.array([3.0, 1, 0, 0])) == pytest.approx(1.5)
    assert pai(np.array([0.0, 0, 0, 0]), np.array([3.0, 1, 0, 0])) is None
    assert pai(np.array([1.0, 0, 0, 0]), np.zeros(4)) is None


def test_outcomes_give_regret_hit_rate_and_pai(learning: Served) -> None:
    with learning.client(learning.tokens["write"]) as client:
        decision = _decide(client)
        zones = [z["zone"] for z in decision["zones"]]
        w = np.array([z["w"] for z in decision["zones"]])
        # the forecast came true: the decision is the oracle's, regret 0
        exact = {z["zone"]: z["demand"] for z in decision["zones"]}
        url = f"/cities/other/decisions/{decision['id']}/outcome"
        first = client.post(url, json={"realized": exact})
        assert first.status_code == 201, first.text
        assert first.json()["regret"] == pytest.approx(0, abs=1e-9)
        assert first.json()["normalized_regret"] == pytest.approx(0, abs=1e-9)
        assert client.post(url, json={"realized": exact}).status_code == 409
        assert client.get(url).json()["id"] == first.json()["id"]

        other = _decide(client)
        missed = zones[int(np.argmin(w))]  # demand where nothing was sent
        realized = {z: (5.0 if z == missed else 0.0) for z in zones}
        realized[zones[int(np.argmax(w))]] = 1.0
        answer = client.post(f"/cities/other/decisions/{other['id']}/outcome",
                             json={"realized": realized})
        assert answer.status_code == 201, answer.text
        got = answer.json()
        assert got["regret"] > 0 and got["oracle_objective"] > got["realized_objective"]
        attended = w > 0
        y = np.array([realized[z] for z in zones])
        hit = y[attended].sum() / y.sum()
        assert got["hit_rate"] == pytest.approx(hit)
        assert got["pai"] == pytest.approx(hit / (attended.sum() / len(zones)))

        for bad in ({"realized": {**realized, "z99": 1.0}},
                    {"realized": {zones[0]: 1.0}},
                    {"realized": {**realized, zones[0]: -1.0}}):
            third = _decide(client)
            refused = client.post(f"/cities/other/decisions/{third['id']}/outcome", json=bad)
            assert refused.status_code == 422, refused.text
        assert client.post("/cities/other/decisions/999999/outcome",
                           json={"realized": realized}).status_code == 404

        window = client.get("/cities/other/performance", params={"window": 2}).json()
    overall = window["overall"]
    assert overall["outcomes"] == 2
    assert overall["normalized_regret"] == pytest.approx(
        got["regret"] / (abs(got["oracle_objective"]) + abs(first.json()["oracle_objective"])))
    assert overall["mean_regret"] == pytest.approx(got["regret"] / 2)
    assert {v["model_version"] for v in window["versions"]} == {None}


def test_the_retrain_policy_enqueues_every_k_and_on_drift(learning: Served) -> None:
    with learning.client(learning.tokens["admin"]) as client:
        assert client.get("/cities/synthetic/retrain-policy").status_code == 404
        policy = client.put("/cities/synthetic/retrain-policy",
                            json={"every": 2, "forecaster": "historical_average"})
        assert policy.status_code == 200, policy.text
        triggered = []
        for _ in range(4):
            decision = _decide(client, "synthetic")
            exact = {z["zone"]: z["demand"] for z in decision["zones"]}
            answer = client.post(f"/cities/synthetic/decisions/{decision['id']}/outcome",
                                 json={"realized": exact}).json()
            triggered.append(answer["retrain_job"])
        assert triggered[0] is None and triggered[2] is None
        assert triggered[1] is not None and triggered[3] is not None
        job = client.get(f"/cities/synthetic/jobs/{triggered[1]}").json()
        assert job["kind"] == "retrain" and job["status"] == "queued"
        assert "every 2" in job["log"]

        # drift: regret above the threshold over a window of 2 outcomes
        client.put("/cities/synthetic/retrain-policy", json={"drift": 0.05, "window": 2})
        seen = []
        for good in (True, True, False):
            decision = _decide(client, "synthetic")
            demand = {z["zone"]: z["demand"] for z in decision["zones"]}
            if not good:  # everything happened where nothing was sent
                quiet = min(decision["zones"], key=lambda z: z["w"])["zone"]
                demand = {z: (50.0 if z == quiet else 0.0) for z in demand}
            answer = client.post(f"/cities/synthetic/decisions/{decision['id']}/outcome",
                                 json={"realized": demand}).json()
            seen.append(answer["retrain_job"])
        # two good outcomes: no drift; a bad one lifts the window's regret over 0.05
        assert seen[:2] == [None, None] and seen[2] is not None
        job = client.get(f"/cities/synthetic/jobs/{seen[2]}").json()
        assert "drift" in job["log"] and job["params"]["forecaster"] == "historical_average"
        assert client.get("/cities/synthetic/retrain-policy").json()["outcomes_at_last"] > 0

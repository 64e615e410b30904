"""The core flow, run on SQLite (test_flow.py) and PostgreSQL (test_postgres.py)."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import func, select

from cityfocus.serve.store.tables import City, Observation
from tests.serve.conftest import Served


def observation_count(served: Served, city: str = "synthetic") -> int:
    with served.store.session() as session:
        city_id = session.scalar(select(City.id).where(City.name == city))
        return int(session.scalar(select(func.count()).select_from(Observation)
                                  .where(Observation.city_id == city_id)) or 0)


def stored_value(served: Served, zone: int, feature: int, time: dt.datetime) -> float | None:
    with served.store.session() as session:
        return session.scalar(select(Observation.value).where(
            Observation.zone == zone, Observation.feature == feature, Observation.time == time))


def core_flow(served: Served, key: str) -> None:
    """Cities listed; a batch ingested twice (no duplicates, value replaced); a decision
    stored with its input hash; a retry with the same Idempotency-Key returns it; a what-if
    is not stored."""
    with served.client(served.tokens["admin"]) as client:
        cities = client.get("/cities").json()
        assert "synthetic" in [c["name"] for c in cities]
        city = client.get("/cities/synthetic").json()
        assert city["frequency"] == "1 h" and len(city["zones"]) == 24
        assert city["target"] == "incidents" and city["adjacency"]

        # a step after the data, its own per key, so the other tests' keys are not touched
        time = dt.datetime(2024, 3, 1, 9) + dt.timedelta(days=sum(key.encode()) % 30)
        rows = [{"zone": "z03", "feature": "incidents", "time": time.isoformat(), "value": 2.0,
                 "observed_by": "attention"},
                {"zone": "z04", "feature": "traffic", "time": time.isoformat(), "value": 7.5}]
        before = observation_count(served)
        first = client.post("/cities/synthetic/observations", json={"rows": rows})
        assert first.status_code == 200, first.text
        assert first.json()["accepted"] == 2
        assert observation_count(served) == before + 2
        rows[0]["value"] = 5.0  # a correction: re-sent, it replaces
        again = client.post("/cities/synthetic/observations", json={"rows": rows})
        assert again.status_code == 200
        assert again.json()["data_version"] > first.json()["data_version"]
        assert observation_count(served) == before + 2
        assert stored_value(served, 3, 2, time) == 5.0

        request = {"budget": 10, "units": True, "params": {"alpha": 0.5}, "horizon": 6}
        made = client.post("/cities/synthetic/decisions", json=request,
                           headers={"Idempotency-Key": key})
        assert made.status_code == 201, made.text
        decision = made.json()
        assert decision["stored"] and len(decision["inputs_sha256"]) == 64
        assert sum(z["w"] for z in decision["zones"]) == 10
        assert all(z["why"] for z in decision["zones"])
        assert decision["shadow_price"] > 0
        retry = client.post("/cities/synthetic/decisions", json=request,
                            headers={"Idempotency-Key": key})
        assert retry.status_code == 200
        assert retry.json() == decision
        fetched = client.get(f"/cities/synthetic/decisions/{decision['id']}")
        assert fetched.json()["inputs_sha256"] == decision["inputs_sha256"]

        listed = client.get("/cities/synthetic/decisions", params={"limit": 500}).json()
        whatif = client.post("/cities/synthetic/whatif", json=request)
        assert whatif.status_code == 200
        assert whatif.json()["stored"] is False
        # the same inputs: the same hash and allocation, and nothing new stored
        assert whatif.json()["inputs_sha256"] == decision["inputs_sha256"]
        assert [z["w"] for z in whatif.json()["zones"]] == [z["w"] for z in decision["zones"]]
        assert client.get("/cities/synthetic/decisions",
                          params={"limit": 500}).json() == listed

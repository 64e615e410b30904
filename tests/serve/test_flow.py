"""End to end on SQLite through real uvicorn: ingest, decisions, what-if, errors."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import time

from cityfocus.serve.decisions.service import sha256_json
from tests.serve.conftest import Served
from tests.serve.flow import core_flow, observation_count, stored_value

REQUEST = {"budget": 8, "units": True, "params": {"alpha": 0.5}, "horizon": 3}


def test_core_flow_on_sqlite(served: Served) -> None:
    core_flow(served, "sqlite-core")


def test_first_start_made_the_store_the_city_and_an_admin_token(served: Served) -> None:
    assert served.data_dir is not None
    names = sorted(p.name for p in served.data_dir.iterdir())
    assert {".cityfocus-serve", "cityfocus.db", "admin-token"} <= set(names)
    assert (served.data_dir / "admin-token").stat().st_mode & 0o777 == 0o600
    assert observation_count(served) > 90_000  # the synthetic city's observed values
    with served.client() as client:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert client.get("/readyz").json()["status"] == "ready"


def test_late_and_out_of_order_rows_are_accepted(served: Served) -> None:
    times = [dt.datetime(2023, 12, 30, 5), dt.datetime(2024, 1, 20, 7),
             dt.datetime(2023, 11, 2, 0)]  # before the first stored step, inside, earlier
    rows = [{"zone": "z10", "feature": "incidents", "time": t.isoformat(), "value": 11.0 + i}
            for i, t in enumerate(times)]
    rows.append({"zone": "z11", "feature": "incidents", "time": "2023-11-02T01:00:00+01:00",
                 "value": 99.0})  # an offset is converted to UTC: 00:00
    with served.client(served.tokens["write"]) as client:
        answer = client.post("/cities/synthetic/observations", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json()["first_time"] == "2023-11-02T00:00:00"
    for i, t in enumerate(times):
        assert stored_value(served, 10, 2, t) == 11.0 + i
    assert stored_value(served, 11, 2, dt.datetime(2023, 11, 2, 0)) == 99.0


def test_a_bad_row_rejects_the_batch_naming_row_and_field(served: Served) -> None:
    good = {"zone": "z01", "feature": "traffic", "time": "2024-04-01T00:00:00", "value": 1}
    cases = [
        ({"zone": "nowhere"}, "zone"),
        ({"feature": "noise"}, "feature"),
        ({"time": "2024-04-01T00:30:00"}, "time"),  # off the hourly clock
        ({"time": "yesterday"}, "time"),
        ({"value": "NaN"}, "value"),
        ({"observed_by": "guess"}, "observed_by"),
    ]
    before = observation_count(served)
    with served.client(served.tokens["write"]) as client:
        version = client.post("/cities/synthetic/whatif", json=REQUEST)  # warm, unchanged
        for change, field in cases:
            rows = [dict(good), dict(good, zone="z02"), {**good, **change}, dict(good, zone="z03")]
            answer = client.post("/cities/synthetic/observations", json={"rows": rows})
            assert answer.status_code == 422, (change, answer.text)
            detail = answer.json()["detail"]
            assert detail[0]["loc"] == ["body", "rows", 2, field], detail
        assert client.post("/cities/synthetic/whatif", json=REQUEST).json()["forecast"] == \
            version.json()["forecast"]
    assert observation_count(served) == before
    assert stored_value(served, 1, 0, dt.datetime(2024, 4, 1)) is None


def test_a_full_batch_of_100k_rows_is_one_request(served: Served) -> None:
    start = dt.datetime(2023, 10, 1)  # late data: ~87 days before the stored ones
    zones = [f"z{i:02d}" for i in range(24)]
    rows = [{"zone": zones[i % 24], "feature": ("traffic", "pm25")[i // 24 % 2],
             "time": (start + dt.timedelta(hours=i // 48)).isoformat(), "value": float(i % 7)}
            for i in range(100_000)]
    before = observation_count(served)
    began = time.perf_counter()
    with served.client(served.tokens["write"]) as client:
        answer = client.post("/cities/synthetic/observations", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    assert observation_count(served) == before + 100_000
    assert time.perf_counter() - began < 20


def test_decision_hash_covers_request_forecaster_and_data(served: Served) -> None:
    with served.client(served.tokens["write"]) as client:
        made = client.post("/cities/synthetic/decisions", json=REQUEST).json()
    inputs = {"request": made["request"], "forecaster": made["forecast"]["forecaster"],
              "data": made["forecast"]["data_sha256"]}
    assert made["inputs_sha256"] == sha256_json(inputs)
    canonical = json.dumps(inputs, sort_keys=True, separators=(",", ":"))
    assert made["inputs_sha256"] == hashlib.sha256(canonical.encode()).hexdigest()
    assert made["request"]["family"] == "coverage" and made["request"]["horizon"] == 3


def test_idempotency_key_reused_with_another_request_conflicts(served: Served) -> None:
    headers = {"Idempotency-Key": "conflict-key"}
    with served.client(served.tokens["write"]) as client:
        first = client.post("/cities/synthetic/decisions", json=REQUEST, headers=headers)
        assert first.status_code == 201
        other = client.post("/cities/synthetic/decisions", json=dict(REQUEST, budget=9),
                            headers=headers)
        assert other.status_code == 409
        assert str(first.json()["id"]) in other.json()["detail"]
        # a key is per city: another city may use it
        elsewhere = client.post("/cities/other/decisions", json=REQUEST, headers=headers)
        assert elsewhere.status_code == 201, elsewhere.text
        assert elsewhere.json()["id"] != first.json()["id"]


def test_decisions_page_newest_first(served: Served) -> None:
    with served.client(served.tokens["write"]) as client:
        ids = [client.post("/cities/other/decisions", json=dict(REQUEST, budget=b)).json()["id"]
               for b in (3, 4, 5)]
        page = client.get("/cities/other/decisions", params={"limit": 2}).json()
        assert [d["id"] for d in page["items"]] == ids[::-1][:2]
        rest = client.get("/cities/other/decisions",
                          params={"limit": 2, "before": page["next_before"]}).json()
        assert rest["items"][0]["id"] == ids[0]
        assert client.get("/cities/other/decisions/999999").status_code == 404
        assert client.get(f"/cities/synthetic/decisions/{ids[0]}").status_code == 404


def test_bad_decision_requests_are_422_with_the_reason(served: Served) -> None:
    with served.client(served.tokens["write"]) as client:
        for body, needle in (
            (dict(REQUEST, family="luck"), "unknown utility family"),
            (dict(REQUEST, params={"beta": 1}), "unknown parameter"),
            (dict(REQUEST, bounds={"z99": {"lower": 1}}), "unknown zone"),
            (dict(REQUEST, bounds={"z00": {"lower": 9}, "z01": {"lower": 9}}), "budget"),
            (dict(REQUEST, budget=-1), "greater than 0"),
        ):
            answer = client.post("/cities/synthetic/whatif", json=body)
            assert answer.status_code == 422, (body, answer.text)
            assert needle in json.dumps(answer.json()), answer.text
        assert client.post("/cities/nowhere/whatif", json=REQUEST).status_code == 404


def test_whatif_is_fast_on_the_cached_forecast(served: Served) -> None:
    with served.client(served.tokens["read"]) as client:
        client.post("/cities/synthetic/whatif", json=REQUEST)  # fills the cache
        began = time.perf_counter()
        for budget in range(1, 21):
            answer = client.post("/cities/synthetic/whatif", json=dict(REQUEST, budget=budget))
            assert sum(z["w"] for z in answer.json()["zones"]) == budget
        assert (time.perf_counter() - began) / 20 < 0.1

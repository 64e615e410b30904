"""The routes the dashboard reads: who the token is (``/me``), the objective curve, one zone in
detail, and the outcome history — their answers checked against the store and the solver, and
their access matrix."""

from __future__ import annotations

import base64
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from cityfocus.serve.zones.service import UsualRange
from tests.serve.conftest import Served
from tests.serve.test_access import KINDS, expected

TASK = {"family": "coverage", "units": True, "params": {"alpha": 0.5}, "horizon": 24}


def test_me_names_the_token_and_its_scope(served: Served) -> None:
    for kind, scope in [("read", "read"), ("write", "write"), ("admin", "admin"),
                        ("this_city", "write")]:
        with served.client(served.tokens[kind]) as client:
            me = client.get("/me").json()
        assert me["scope"] == scope
        assert "secret" not in me and served.tokens[kind] not in str(me)
    with served.client(served.tokens["this_city"]) as client:
        assert client.get("/me").json()["cities"] == ["synthetic"]


def test_the_curve_agrees_with_what_ifs_and_is_concave(served: Served) -> None:
    budgets = [1, 2, 4, 7, 10, 15, 24]
    with served.client(served.tokens["read"]) as client:
        curve = client.post("/cities/synthetic/whatif/curve",
                            json={**TASK, "budgets": budgets})
        assert curve.status_code == 200, curve.text
        points = curve.json()["points"]
        assert [p["budget"] for p in points] == budgets
        for p in (points[0], points[4]):
            one = client.post("/cities/synthetic/whatif",
                              json={**TASK, "budget": p["budget"]}).json()
            assert p["objective"] == pytest.approx(one["objective"], rel=1e-12)
            assert p["shadow_price"] == pytest.approx(one["shadow_price"], rel=1e-12)
        bad = client.post("/cities/synthetic/whatif/curve", json={**TASK, "budgets": [3, -1]})
        assert bad.status_code == 422 and bad.json()["detail"][0]["loc"][:3] == [
            "body", "budgets", 1]
        none = client.post("/cities/synthetic/whatif/curve", json={**TASK, "budgets": []})
        assert none.status_code == 422
    objective = [p["objective"] for p in points]
    price = [p["shadow_price"] for p in points]
    assert all(b > a for a, b in zip(objective, objective[1:], strict=False))
    assert all(b <= a + 1e-12 for a, b in zip(price, price[1:], strict=False))


def test_zone_detail_matches_the_store_and_the_decision(served: Served) -> None:
    with served.client(served.tokens["read"]) as client:
        detail = client.get("/cities/synthetic/zones/z03", params={"horizon": 24,
                                                                   "history": 48}).json()
        whatif = client.post("/cities/synthetic/whatif", json={**TASK, "budget": 10}).json()
        city = client.get("/cities/synthetic").json()
    with served.store.session() as session:
        from cityfocus.serve.cities.service import city_data, get_city

        data = city_data(session, get_city(session, "synthetic"))
    i = list(data.zones["id"]).index("z03")
    # the history is the last 48 stored steps of the target, unobserved as null
    assert len(detail["history"]["times"]) == 48
    assert detail["history"]["times"][-1] == city["last_time"]
    stored = data.target_values[-48:, i]
    observed = data.target_mask[-48:, i]
    for got, want, ok in zip(detail["history"]["values"], stored, observed, strict=True):
        assert (got is None) if not ok else got == pytest.approx(float(want))
    # the forecast is the one the allocation used: its sum (clipped) is the zone's demand
    zone = next(z for z in whatif["zones"] if z["zone"] == "z03")
    forecast = detail["forecast"]
    assert len(forecast["mean"]) == 24
    assert sum(max(v, 0.0) for v in forecast["mean"]) == pytest.approx(zone["demand"])
    assert forecast["demand"] == pytest.approx(zone["demand"])
    for low, mean, high in zip(forecast["low"], forecast["mean"], forecast["high"],
                               strict=True):
        assert low is not None and high is not None and low <= high
        assert low - 1e-9 <= mean <= high + 1e-9  # the slot mean lies inside its own range
    # the historical average drew on this zone alone, on its past steps at the same slot
    drivers = detail["drivers"]
    assert drivers["method"] == "historical average"
    assert drivers["zones"] == [{"zone": "z03", "name": "Zone 3", "share": 1.0}]
    assert math.isclose(sum(s["share"] for s in drivers["steps"]), 1.0)
    first = forecast["times"][0][11:]  # the hour of the first forecast step
    assert all(s["time"][11:] == first for s in drivers["steps"])
    assert {n["zone"] for n in detail["neighbours"]} <= {z["id"] for z in city["zones"]}


def test_zone_detail_lists_past_forecasts_against_outcomes(served: Served) -> None:
    with served.client(served.tokens["write"]) as client:
        decision = client.post("/cities/synthetic/decisions",
                               json={**TASK, "budget": 5}).json()
        realized = {z["zone"]: float(k % 4) for k, z in enumerate(decision["zones"])}
        client.post(f"/cities/synthetic/decisions/{decision['id']}/outcome",
                    json={"realized": realized})
        past = client.get("/cities/synthetic/zones/z07?horizon=24").json()["past"]
    mine = next(z for z in decision["zones"] if z["zone"] == "z07")
    last = past[-1]
    assert last["decision"] == decision["id"]
    assert last["forecast"] == pytest.approx(mine["demand"])
    assert last["given"] == mine["w"] and last["realized"] == realized["z07"]
    assert [p["decision"] for p in past] == sorted(p["decision"] for p in past)


def test_zone_detail_refuses_unknown_zones_and_bad_queries(served: Served) -> None:
    with served.client(served.tokens["read"]) as client:
        assert client.get("/cities/synthetic/zones/nowhere").status_code == 404
        assert client.get("/cities/atlantis/zones/z03").status_code == 404
        assert client.get("/cities/synthetic/zones/z03?history=0").status_code == 422
        assert client.get("/cities/synthetic/zones/z03?horizon=-2").status_code == 422


def test_usual_range_is_the_spread_of_the_same_slot() -> None:
    from cityfocus.data.synthetic import synthetic_city

    data = synthetic_city(n_zones=4, days=21).data
    usual = UsualRange(data, 1)
    t = data.timestamps[-1]
    low, mean, high = usual.at(data.timestamps[-1:])
    same = [k for k, s in enumerate(data.timestamps)
            if s.hour == t.hour and s.day_of_week == t.day_of_week and data.target_mask[k, 1]]
    values = data.target_values[same, 1]
    assert mean[0] == pytest.approx(float(values.mean()))
    assert (low[0], high[0]) == pytest.approx(tuple(np.percentile(values, [5, 95])))


def test_outcomes_are_listed_newest_first(served: Served) -> None:
    with served.client(served.tokens["write"]) as client:
        made = []
        for budget in (3, 4):
            decision = client.post("/cities/synthetic/decisions",
                                   json={**TASK, "budget": budget}).json()
            realized = {z["zone"]: float(k % 3) for k, z in enumerate(decision["zones"])}
            outcome = client.post(f"/cities/synthetic/decisions/{decision['id']}/outcome",
                                  json={"realized": realized})
            assert outcome.status_code == 201, outcome.text
            made.append(outcome.json())
        listed = client.get("/cities/synthetic/outcomes", params={"limit": 2}).json()
        assert client.get("/cities/synthetic/outcomes?limit=0").status_code == 422
    assert [o["decision_id"] for o in listed] == [made[1]["decision_id"],
                                                  made[0]["decision_id"]]
    for got, want in zip(listed, reversed(made), strict=True):
        assert got["regret"] == pytest.approx(want["regret"])
        assert got["pai"] == want["pai"] and "realized" not in got


ROUTES: list[tuple[str, str, Any, str]] = [
    ("GET", "/me", None, "read"),
    ("POST", "/cities/synthetic/whatif/curve", {"budgets": [2], "units": True, "horizon": 2},
     "read"),
    ("GET", "/cities/synthetic/zones/z03?horizon=2", None, "read"),
    ("GET", "/cities/synthetic/outcomes", None, "read"),
]


@pytest.mark.parametrize("kind", list(KINDS))
def test_access_matrix_of_the_dashboard_routes(served: Served, kind: str) -> None:
    secret = None if kind == "none" else served.tokens[kind]
    got, want = {}, {}
    with served.client(secret) as client:
        for method, path, body, need in ROUTES:
            got[path] = client.request(method, path, json=body).status_code
            want[path] = (200 if path == "/me" and KINDS[kind] is not None
                          else expected(kind, method, path, need))
    assert got == want


def test_the_page_and_its_files_need_no_token_and_keep_to_this_server(served: Served) -> None:
    with served.client() as client:
        page = client.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        policy = page.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "connect-src 'self'" in policy
        for name in ("dashboard.js", "svg.js", "dashboard.css"):
            asset = client.get(f"/dashboard/{name}")
            assert asset.status_code == 200 and asset.headers["content-security-policy"]
        assert client.get("/dashboard/../app.py").status_code == 404
        schema = client.get("/openapi.json", headers={
            "Authorization": f"Bearer {served.tokens['read']}"}).json()
        assert "/" not in schema["paths"] and "/zones/{zone}" not in schema["paths"]
    static = Path(__file__).parents[2] / "src/cityfocus/serve/dashboard/static"
    for file in static.iterdir():  # nothing fetched from another host
        text = file.read_text()
        assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
        assert "https://" not in text and "//cdn" not in text


def test_zone_detail_traces_an_attention_model(served: Served, tmp_path: Path) -> None:
    """With an st_transformer version active, the drivers are its attention rollout."""
    from cityfocus.data.synthetic import synthetic_city
    from cityfocus.learn.registry import make_forecaster

    data = synthetic_city(n_zones=4, days=3).data
    model = make_forecaster("st_transformer", 12, 6, epochs=1, progress=False, device="cpu",
                            seed=0)
    model.fit(data)
    blob = model.save(tmp_path / "model.pt").read_bytes()
    with served.client(served.tokens["admin"]) as client:
        added = client.post("/cities/other/models", json={
            "forecaster": "st_transformer", "activate": True,
            "checkpoint_base64": base64.b64encode(blob).decode()})
        assert added.status_code == 201, added.text
        detail = client.get("/cities/other/zones/z01", params={"horizon": 6}).json()
    drivers = detail["drivers"]
    assert drivers["method"] == "attention rollout"
    assert math.isclose(sum(z["share"] for z in drivers["zones"]), 1.0, rel_tol=1e-6)
    assert len(drivers["steps"]) == 12 and drivers["steps"][-1]["time"] == detail[
        "history"]["times"][-1]
    assert math.isclose(sum(s["share"] for s in drivers["steps"]), 1.0, rel_tol=1e-6)
    assert detail["forecast"]["forecaster"] == "st_transformer"

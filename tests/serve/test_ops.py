"""Operations: ``/metrics`` (who may read it, what it counts, the collector hook), logs that
never hold a token's secret, and SIGTERM during an ingest (the batch completes or is not
acknowledged; never half-applied)."""

from __future__ import annotations

import datetime as dt
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from cityfocus.serve.metrics import Metrics
from cityfocus.serve.store.engine import open_store
from cityfocus.serve.store.tables import Observation
from tests.serve.conftest import Served

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


def scrape(served: Served) -> Samples:
    with served.client(served.tokens["read"]) as client:
        answer = client.get("/metrics")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/plain")
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(answer.text) for s in family.samples}


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def test_metrics_needs_a_read_token_for_every_city(served: Served) -> None:
    want = {"none": 401, "wrong": 401, "revoked": 401, "read": 200, "write": 200,
            "admin": 200, "this_city": 403, "other_city": 403}
    got = {}
    for kind in want:
        with served.client(None if kind == "none" else served.tokens[kind]) as client:
            got[kind] = client.get("/metrics").status_code
    assert got == want


def test_metrics_count_requests_rows_decisions_and_whatifs(served: Served) -> None:
    before = scrape(served)
    time = dt.datetime(2024, 4, 2, 5)  # a step no other test writes
    rows = [{"zone": z, "feature": "incidents", "time": time.isoformat(), "value": 1.0}
            for z in ("z01", "z02", "z03")]
    request = {"budget": 3, "units": True, "horizon": 2}
    with served.client(served.tokens["admin"]) as client:
        unknown_zone = [{**rows[0], "zone": "z09"}]  # "other" has 4 zones
        assert client.post("/cities/other/observations",
                           json={"rows": unknown_zone}).status_code == 422
        assert client.post("/cities/synthetic/observations",
                           json={"rows": rows}).status_code == 200
        headers = {"Idempotency-Key": "metrics-test"}
        assert client.post("/cities/synthetic/decisions", json=request,
                           headers=headers).status_code == 201
        assert client.post("/cities/synthetic/decisions", json=request,
                           headers=headers).status_code == 200
        assert client.post("/cities/synthetic/whatif", json=request).status_code == 200
        assert client.get("/no/such/route").status_code == 404
    after = scrape(served)

    def delta(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("cityfocus_ingested_rows_total", city="synthetic") == 3
    assert delta("cityfocus_ingested_rows_total", city="other") == 0  # rejected: nothing
    assert delta("cityfocus_decisions_total", city="synthetic", outcome="created") == 1
    assert delta("cityfocus_decisions_total", city="synthetic", outcome="replayed") == 1
    assert delta("cityfocus_whatifs_total", city="synthetic") == 1
    latency = "cityfocus_http_request_duration_seconds_count"
    route = "/cities/{city}/observations"
    assert delta(latency, method="POST", route=route, status="200") == 1
    assert delta(latency, method="POST", route=route, status="422") == 1
    assert delta(latency, method="POST", route="/cities/{city}/decisions", status="201") == 1
    assert delta(latency, method="GET", route="unmatched", status="404") == 1
    assert not any("synthetic" in dict(labels).get("route", "") for _, labels in after)


def test_metrics_report_the_stores_jobs_by_city_and_status(served: Served) -> None:
    """``cityfocus_jobs`` is read from the store at each scrape (no worker runs here, so a
    queued job stays queued)."""
    before = scrape(served)
    with served.client(served.tokens["admin"]) as client:
        answer = client.post("/cities/other/jobs", json={"forecaster": "historical_average"})
        assert answer.status_code == 202, answer.text
    after = scrape(served)
    assert (value(after, "cityfocus_jobs", city="other", status="queued")
            == value(before, "cityfocus_jobs", city="other", status="queued") + 1)
    for status in ("running", "done", "failed"):
        assert ("cityfocus_jobs", frozenset({("city", "other"), ("status", status)})) in after


def test_a_collector_reports_at_every_scrape() -> None:
    """The hook for gauges read when scraped (job states): ``Metrics.add_collector``."""
    states = {"queued": 2, "running": 1}

    class Jobs:
        def collect(self) -> Iterator[GaugeMetricFamily]:
            gauge = GaugeMetricFamily("cityfocus_jobs", "jobs by state", labels=["state"])
            for state, count in states.items():
                gauge.add_metric([state], count)
            yield gauge

    metrics = Metrics()
    metrics.add_collector(Jobs())
    assert 'cityfocus_jobs{state="queued"} 2.0' in generate_latest(metrics.registry).decode()
    states["queued"] = 0
    assert 'cityfocus_jobs{state="queued"} 0.0' in generate_latest(metrics.registry).decode()


def start_serve(data_dir: Path) -> tuple[subprocess.Popen[str], str, list[str]]:
    """``cityfocus serve`` on a free port, without job workers (none of its users runs a job;
    a worker would load torch beside it); (process, its URL, the stderr lines so far, still
    being appended to by a reader thread)."""
    proc = subprocess.Popen([sys.executable, "-m", "cityfocus", "serve", "--port", "0",
                             "--workers", "0", "--data-dir", str(data_dir)],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines: list[str] = []
    for line in proc.stdout:
        lines.append(line)
        if "cityfocus serve on http://" in line:
            break
    else:
        raise AssertionError("".join(lines))
    url = lines[-1].split(" on ")[1].split()[0]
    stream = proc.stdout
    threading.Thread(target=lambda: lines.extend(stream), daemon=True).start()
    while "Application startup complete" not in "".join(lines):
        assert proc.poll() is None, "".join(lines)
        threading.Event().wait(0.05)
    return proc, url, lines


def stop(proc: subprocess.Popen[str]) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(10)


def test_the_service_logs_no_secret(tmp_path: Path) -> None:
    """Everything the real process prints (uvicorn's lines, the JSON access log) holds no
    secret of a token used, refused, made or revoked."""
    proc, url, lines = start_serve(tmp_path / "data")
    try:
        admin = (tmp_path / "data" / "admin-token").read_text().strip()
        auth = {"Authorization": f"Bearer {admin}"}
        made = httpx.post(f"{url}/tokens", json={"scope": "read"}, headers=auth).json()
        read = {"Authorization": f"Bearer {made['secret']}"}
        assert httpx.get(f"{url}/cities/synthetic", headers=read).status_code == 200
        assert httpx.get(f"{url}/metrics", headers=read).status_code == 200
        assert httpx.delete(f"{url}/tokens/{made['id']}", headers=auth).status_code == 200
        assert httpx.get(f"{url}/cities", headers=read).status_code == 401
        wrong = f"cf_1_{'y' * 43}"
        assert httpx.get(f"{url}/cities", headers={"Authorization": f"Bearer {wrong}"}
                         ).status_code == 401
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)
    finally:
        stop(proc)
    text = "".join(lines)
    assert '"path": "/metrics"' in text and '"status": 401' in text  # the access log ran
    for secret in (admin, made["secret"], wrong):
        assert secret.split("_", 2)[2] not in text


def test_sigterm_during_an_ingest_completes_it_or_does_not_acknowledge_it(
        tmp_path: Path) -> None:
    """A 50 000-row batch in flight when SIGTERM arrives: uvicorn lets it finish (its rows all
    stored, 200) or the client gets no 2xx (and then none of its rows are stored)."""
    data_dir = tmp_path / "data"
    proc, url, lines = start_serve(data_dir)
    marker = 0.123  # every value of the batch ends in this fraction
    start = dt.datetime(2030, 1, 1)
    zones = [f"z{i:02d}" for i in range(24)]
    rows = [{"zone": zones[i % 24], "feature": "traffic",
             "time": (start + dt.timedelta(hours=i // 24)).isoformat(), "value": i + marker}
            for i in range(50_000)]
    answer: list[httpx.Response | Exception] = []
    admin = (data_dir / "admin-token").read_text().strip()

    def send() -> None:
        try:
            answer.append(httpx.post(f"{url}/cities/synthetic/observations", json={"rows": rows},
                                     headers={"Authorization": f"Bearer {admin}"}, timeout=60))
        except httpx.HTTPError as err:
            answer.append(err)

    sender = threading.Thread(target=send)
    try:
        sender.start()
        threading.Event().wait(0.4)  # the client encodes and sends; the service reads, checks
        assert not answer, "the batch was answered before SIGTERM: make it larger"
        proc.send_signal(signal.SIGTERM)
        sender.join(60)
        assert proc.wait(30) in (0, -signal.SIGTERM)
    finally:
        stop(proc)
    store = open_store(data_dir)
    try:
        with store.session() as session:
            values = list(session.scalars(select(Observation.value)
                                          .where(Observation.time >= start)))
            stored = len(values)
    finally:
        store.close()
    acknowledged = bool(answer) and isinstance(answer[0], httpx.Response) \
        and answer[0].status_code == 200
    assert stored in (0, len(rows)), f"half-applied: {stored} of {len(rows)} rows stored"
    if acknowledged:
        assert stored == len(rows)
        assert all(abs(v - round(v) - marker) < 1e-9 for v in values), "foreign values"



@pytest.mark.slow
def test_durability_under_sigkill_two_cycles_on_sqlite() -> None:
    """benchmarks/service_durability.py, small: 2 SIGKILL cycles on SQLite."""
    import importlib.util

    path = Path(__file__).parents[2] / "benchmarks" / "service_durability.py"
    spec = importlib.util.spec_from_file_location("service_durability", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    result = module.run(["sqlite"], cycles=2, rows=500, seed=1)
    run = result["runs"][0]
    assert run["verdict"] == "pass", run["final_check"]
    assert run["batches_acked"] > 0

"""Prometheus metrics of the service at ``GET /metrics`` (a ``read`` token for every city):
request latency by route template and status, rows ingested, decisions made and what-ifs
answered, per city. Each app has its own registry (so tests can run several in a process);
with several worker processes each answers for itself.

Gauges read at scrape time plug in through ``add_collector``: pass a prometheus
``Collector`` whose ``collect()`` yields metric families; it is asked on every scrape, so it
reports the store's state then, not a count kept in memory. ``JobStates`` (jobs per city and
status) is one.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from starlette.types import Scope

from cityfocus.serve.auth import require
from cityfocus.serve.contract import GUARDED
from cityfocus.serve.observe import ObserveRequests
from cityfocus.serve.store.engine import Store
from cityfocus.serve.store.tables import City, Job

# request latency buckets in seconds: what-ifs answer in about a millisecond, decisions and
# 100 000-row batches in up to seconds
BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
UNMATCHED = "unmatched"  # the route label of a path no route matches (keeps labels bounded)

# (method, route template) of the routes whose successes are counted, and the counter's name
_DECISIONS = ("POST", "/cities/{city}/decisions")
_WHATIF = ("POST", "/cities/{city}/whatif")
_INGEST = ("POST", "/cities/{city}/observations")
INGESTED_ROWS_STATE = "ingested_rows"
"""``request.state`` key the ingest route sets to the rows it wrote (read after the answer)."""


@dataclass
class Metrics:
    """The app's registry and its instruments."""

    registry: CollectorRegistry = field(default_factory=lambda: CollectorRegistry())

    def __post_init__(self) -> None:
        self.latency = Histogram(
            "cityfocus_http_request_duration_seconds",
            "HTTP request latency by method, route template and status.",
            ["method", "route", "status"], buckets=BUCKETS, registry=self.registry)
        self.ingested_rows = Counter(
            "cityfocus_ingested_rows", "Observation rows written by ingest batches.",
            ["city"], registry=self.registry)
        self.decisions = Counter(
            "cityfocus_decisions", "Decisions answered: created (201) or replayed for a "
            "retried Idempotency-Key (200).", ["city", "outcome"], registry=self.registry)
        self.whatifs = Counter("cityfocus_whatifs", "What-ifs answered (nothing stored).",
                               ["city"], registry=self.registry)

    def add_collector(self, collector: Collector) -> None:
        """Report ``collector``'s metrics at every scrape (the hook for job-state gauges)."""
        self.registry.register(collector)

    def observe(self, scope: Scope, status: int, seconds: float) -> None:
        """Record one answered request (``scope`` after routing: its route and path params)."""
        route = scope.get("route")
        template = getattr(route, "path_format", None) or UNMATCHED
        method = str(scope.get("method", ""))
        self.latency.labels(method, template, str(status)).observe(seconds)
        if not 200 <= status < 300:
            return  # only successes carry a city that exists (failures would flood labels)
        city = str((scope.get("path_params") or {}).get("city", ""))
        key = (method, template)
        if key == _DECISIONS:
            self.decisions.labels(city, "created" if status == 201 else "replayed").inc()
        elif key == _WHATIF:
            self.whatifs.labels(city).inc()
        elif key == _INGEST:
            rows = (scope.get("state") or {}).get(INGESTED_ROWS_STATE)
            if isinstance(rows, int):
                self.ingested_rows.labels(city).inc(rows)


router = APIRouter(tags=["operations"], responses=GUARDED)


@router.get("/metrics", dependencies=[Depends(require("read", all_cities=True))],
            response_class=Response,
            responses={200: {"content": {CONTENT_TYPE_LATEST: {"schema": {"type": "string"}}},
                             "description": "Prometheus text exposition format"}})
def get_metrics(request: Request) -> Response:
    """Prometheus metrics (a read token for every city: the labels name cities)."""
    metrics: Metrics = request.app.state.metrics
    return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)


JOB_STATES = ("queued", "running", "done", "failed")


class JobStates:
    """``cityfocus_jobs{city, status}``: the store's jobs per city and status, counted at
    every scrape (every status of every city with a job, 0 included, so a queue that
    empties reads 0 rather than vanishing)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def collect(self) -> Iterator[GaugeMetricFamily]:
        gauge = GaugeMetricFamily("cityfocus_jobs", "Jobs in the store by city and status "
                                  "(read at scrape time).", labels=["city", "status"])
        with self.store.session() as session:
            rows = session.execute(select(City.name, Job.status, func.count())
                                   .join(City, City.id == Job.city_id)
                                   .group_by(City.name, Job.status)).all()
        counts: dict[str, dict[str, int]] = {}
        for city, status, count in rows:
            counts.setdefault(city, dict.fromkeys(JOB_STATES, 0))[status] = int(count)
        for city in sorted(counts):
            for status, count in counts[city].items():
                gauge.add_metric([city, status], count)
        yield gauge


def install_metrics(app: FastAPI) -> Metrics:
    """Give ``app`` its registry, the timing middleware, the job-state gauges (when the app
    has a store) and ``GET /metrics``."""
    metrics = Metrics()
    app.state.metrics = metrics
    store = getattr(app.state, "store", None)
    if store is not None:
        metrics.add_collector(JobStates(store))
    app.add_middleware(ObserveRequests, observe=metrics.observe)
    app.include_router(router)
    return metrics

"""Load on a real ``cityfocus serve``: ingest throughput, stored decisions under concurrency,
what-if re-solves per second; on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/service_load.py --json benchmarks/results/service_load.json

For each database: a fresh store (the synthetic city preloaded), one ``cityfocus serve``
process (uvicorn, one worker) on loopback, an async httpx client in this process.

- ingest: ``--batches`` batches of 10 000 new rows each, one after another; rows/s over the
  wall time. The floor it is compared with, measured in the same run on the same database:
  the store's own bulk upsert of equal batches in this process, without HTTP, JSON or checks.
- decisions: ``--clients`` concurrent clients each storing ``--decisions`` decisions
  (``POST /cities/{city}/decisions``, a distinct budget each); latency p50/p90/p99, errors.
  The first decision after the ingest (it refits the forecast) is timed apart as "cold".
- what-ifs: the same clients asking ``--whatifs`` what-ifs each; answers/s over the wall
  time, and the same clients' ``GET /healthz`` rate as the floor of the HTTP stack itself.

Targets (the issue): ingest >= 50 000 rows/s; decision p99 < 100 ms at 32 clients; what-ifs
>= 1 000/s. Writes JSON and the ``service_load`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from cityfocus.outputs import atomic_file
from cityfocus_bench.markdown import write_section
from cityfocus_bench.serving import (
    Service,
    StoreSpec,
    admin_token,
    database_version,
    free_port,
    fresh_store,
    machine,
)

COMMAND = ".venv/bin/python benchmarks/service_load.py --json benchmarks/results/service_load.json"
BATCH = 10_000
TARGETS = {"ingest_rows_per_s": 50_000, "decision_p99_ms": 100.0, "whatifs_per_s": 1_000}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def batch_rows(zones: list[str], feature: str, start: dt.datetime, step: dt.timedelta,
               index: int) -> list[dict[str, Any]]:
    """Batch ``index``: 10 000 new (zone, time) keys after ``start``."""
    first = index * BATCH
    return [{"zone": zones[i % len(zones)], "feature": feature,
             "time": (start + step * (i // len(zones))).isoformat(), "value": float(i % 97)}
            for i in range(first, first + BATCH)]


async def ingest(client: httpx.AsyncClient, city: dict[str, Any], batches: int,
                 start: dt.datetime, step: dt.timedelta) -> dict[str, Any]:
    zones = [z["id"] for z in city["zones"]]
    bodies = [json.dumps({"rows": batch_rows(zones, city["target"], start, step, b)})
              for b in range(batches)]  # encoded before the clock starts
    seconds = []
    began = time.perf_counter()
    for body in bodies:
        t0 = time.perf_counter()
        answer = await client.post(f"/cities/{city['name']}/observations", content=body,
                                   headers={"Content-Type": "application/json"})
        answer.raise_for_status()
        seconds.append(time.perf_counter() - t0)
    wall = time.perf_counter() - began
    return {"batches": batches, "rows": batches * BATCH, "seconds": wall,
            "rows_per_s": batches * BATCH / wall,
            "batch_ms": {"p50": percentile(seconds, 50) * 1000,
                         "max": max(seconds) * 1000}}


def raw_floor(spec: StoreSpec, city_name: str, batches: int, start: dt.datetime,
              step_seconds: int) -> dict[str, Any]:
    """The store's bulk upsert of equal batches, in this process (no HTTP, JSON, checks)."""
    from sqlalchemy import select

    from cityfocus.serve.observations.service import bulk_upsert
    from cityfocus.serve.store.engine import open_store
    from cityfocus.serve.store.tables import City, Zone

    store = open_store(spec.data_dir, spec.url)
    try:
        with store.session() as session:
            city = session.scalar(select(City).where(City.name == city_name))
            assert city is not None
            n_zones = len(list(session.scalars(select(Zone).where(Zone.city_id == city.id))))
            feature = list(city.features).index(city.target)
            now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
            step = dt.timedelta(seconds=step_seconds)
            rows = [[{"city_id": city.id, "zone": i % n_zones, "feature": feature,
                      "time": start + step * (i // n_zones), "value": float(i % 97),
                      "observed_by": "full", "received_at": now}
                     for i in range(b * BATCH, (b + 1) * BATCH)] for b in range(batches)]
            began = time.perf_counter()
            for batch in rows:
                bulk_upsert(session, batch)
                session.commit()
            wall = time.perf_counter() - began
    finally:
        store.close()
    return {"rows": batches * BATCH, "seconds": wall, "rows_per_s": batches * BATCH / wall}


def decision_floor(spec: StoreSpec, city_name: str, repeats: int) -> dict[str, Any]:
    """Median ms of one decision's and one what-if's work in this process on a cached
    forecast (solve + explanation; no HTTP, no store write): what a single worker must spend
    per request, so 32 queued requests wait about 32 times this."""
    from cityfocus.serve.cities.service import get_city
    from cityfocus.serve.decisions.forecast import ForecastCache
    from cityfocus.serve.decisions.schemas import DecisionRequest
    from cityfocus.serve.decisions.service import decision_body, normalized, solve_on
    from cityfocus.serve.store.engine import open_store

    store = open_store(spec.data_dir, spec.url)
    try:
        with store.session() as session:
            city = get_city(session, city_name)
            out: dict[str, Any] = {"repeats": repeats}
            for name, units, explain in (("decision_ms", False, True),
                                         ("whatif_ms", True, False)):
                body = normalized(DecisionRequest(budget=10, units=units), city)
                cached = ForecastCache().get(session, city_name, body["horizon"])
                seconds = []
                for _ in range(repeats):
                    t0 = time.perf_counter()
                    decision_body(cached, body, solve_on(cached, body), stored=explain,
                                  explain=explain)
                    seconds.append(time.perf_counter() - t0)
                out[name] = statistics.median(seconds) * 1000
    finally:
        store.close()
    return out


async def concurrent(client: httpx.AsyncClient, clients: int, each: int,
                     request: Any) -> dict[str, Any]:
    """``clients`` tasks each awaiting ``request(client, task, i)`` ``each`` times."""
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def worker(task: int) -> None:
        for i in range(each):
            t0 = time.perf_counter()
            try:
                answer = await request(client, task, i)
                ok = answer.status_code < 400
                key = str(answer.status_code)
            except httpx.HTTPError as err:
                ok, key = False, type(err).__name__
            latencies.append(time.perf_counter() - t0)
            if not ok:
                errors[key] = errors.get(key, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(*(worker(t) for t in range(clients)))
    wall = time.perf_counter() - began
    ms = [s * 1000 for s in latencies]
    return {"clients": clients, "requests": len(ms), "seconds": wall,
            "per_s": len(ms) / wall, "errors": errors,
            "ms": {"p50": percentile(ms, 50), "p90": percentile(ms, 90),
                   "p99": percentile(ms, 99), "max": max(ms), "mean": statistics.fmean(ms)}}


async def run_load(service: Service, token: str, city_name: str, args: argparse.Namespace
                   ) -> dict[str, Any]:
    limits = httpx.Limits(max_connections=args.clients, max_keepalive_connections=args.clients)
    async with httpx.AsyncClient(base_url=service.url, limits=limits, timeout=120,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        city = (await client.get(f"/cities/{city_name}")).raise_for_status().json()
        step = dt.timedelta(seconds=_seconds(city["frequency"]))
        start = dt.datetime.fromisoformat(city["last_time"]) + step
        whatif = {"budget": 10, "units": True}
        (await client.post(f"/cities/{city_name}/whatif", json=whatif)).raise_for_status()
        result: dict[str, Any] = {"ingest": await ingest(client, city, args.batches, start,
                                                         step)}
        floor_start = start + step * (args.batches * BATCH // len(city["zones"]) + 1)
        result["ingest_floor"] = raw_floor(service.spec, city_name, args.batches, floor_start,
                                           int(step.total_seconds()))
        t0 = time.perf_counter()
        (await client.post(f"/cities/{city_name}/decisions", json=whatif)).raise_for_status()
        result["decision_cold_ms"] = (time.perf_counter() - t0) * 1000

        async def decide(c: httpx.AsyncClient, task: int, i: int) -> httpx.Response:
            body = {"budget": 5 + task + i / 1000, "units": False}
            return await c.post(f"/cities/{city_name}/decisions", json=body)

        async def ask(c: httpx.AsyncClient, task: int, i: int) -> httpx.Response:
            return await c.post(f"/cities/{city_name}/whatif",
                                json={"budget": 5 + (task + i) % 20, "units": True})

        async def health(c: httpx.AsyncClient, task: int, i: int) -> httpx.Response:
            return await c.get("/healthz")

        result["work_floor"] = decision_floor(service.spec, city_name, 20)
        result["decisions"] = await concurrent(client, args.clients, args.decisions, decide)
        result["whatifs"] = await concurrent(client, args.clients, args.whatifs, ask)
        result["healthz"] = await concurrent(client, args.clients, args.whatifs, health)
    return result


def http_stack() -> str:
    """The HTTP parser and event loop uvicorn picks here ("auto": httptools and uvloop when
    installed, else h11 and asyncio)."""
    from importlib.util import find_spec

    parser = "httptools" if find_spec("httptools") else "h11"
    loop = "uvloop" if find_spec("uvloop") else "asyncio"
    return f"{parser} + {loop}"


def _seconds(frequency: str) -> float:
    import pandas as pd

    return float(pd.Timedelta(frequency.replace(" ", "")).total_seconds())


def run_database(db: str, args: argparse.Namespace, logs: Path) -> dict[str, Any]:
    with fresh_store(db) as spec:
        token = admin_token(spec)
        service = Service(spec, free_port(), logs / f"serve-{db}.log")
        service.start()
        try:
            result = asyncio.run(run_load(service, token, args.city, args))
        finally:
            service.stop()
        result.update(db=db, database=database_version(spec), uvicorn_workers=1,
                      http=http_stack())
    ing, dec, wif = result["ingest"], result["decisions"], result["whatifs"]
    result["ingest"]["ratio_to_floor"] = ing["rows_per_s"] / result["ingest_floor"]["rows_per_s"]
    result["whatifs"]["ratio_to_healthz"] = wif["per_s"] / result["healthz"]["per_s"]
    result["met"] = {"ingest": ing["rows_per_s"] >= TARGETS["ingest_rows_per_s"],
                     "decisions": dec["ms"]["p99"] < TARGETS["decision_p99_ms"]
                     and not dec["errors"],
                     "whatifs": wif["per_s"] >= TARGETS["whatifs_per_s"] and not wif["errors"]}
    return result


def section(result: dict[str, Any]) -> str:
    env = result["machine"]
    lines = ["## Service load (`cityfocus serve`)", "",
             f"Command: `{result['command']}`  ",
             f"Run {result['date']}; {env['cpu_count']} CPUs, load average "
             f"{', '.join(f'{x:.2f}' for x in env['load_average'])} at the start; "
             f"city `{result['city']}`; one uvicorn worker process "
             f"({result['runs'][0]['http']}); the async httpx client "
             "runs on the same machine (it shares the CPUs).", "",
             "| database | ingest rows/s (10k-row batches) | store floor rows/s | decisions "
             f"p50 / p90 / p99 ms ({result['clients']} clients) | errors | cold decision ms "
             "| decision work ms | what-ifs/s | what-if work ms | /healthz/s |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for run in result["runs"]:
        d = run["decisions"]["ms"]
        errors = sum(run["decisions"]["errors"].values()) + sum(run["whatifs"]["errors"].values())
        lines.append(
            f"| {run['database']} | {run['ingest']['rows_per_s']:,.0f} | "
            f"{run['ingest_floor']['rows_per_s']:,.0f} | {d['p50']:.1f} / {d['p90']:.1f} / "
            f"{d['p99']:.1f} | {errors} | {run['decision_cold_ms']:.0f} | "
            f"{run['work_floor']['decision_ms']:.1f} | {run['whatifs']['per_s']:,.0f} | "
            f"{run['work_floor']['whatif_ms']:.2f} | {run['healthz']['per_s']:,.0f} |")
    lines += ["", "Targets: ingest >= 50,000 rows/s, decision p99 < 100 ms at 32 clients, "
              "what-ifs >= 1,000/s. Met:", ""]
    for run in result["runs"]:
        met = ", ".join(f"{k} {'yes' if v else '**no**'}" for k, v in run["met"].items())
        lines.append(f"- {run['database']}: {met}")
    for note in result["notes"]:
        lines += ["", note]
    return "\n".join(lines) + "\n"


NOTES = [
    "Store floor: the store's own bulk `INSERT … ON CONFLICT DO UPDATE` of equal 10k-row "
    "batches from this process (no HTTP, JSON parsing or row checks), same database, same run. "
    "/healthz/s: the same clients on the cheapest route, the HTTP stack's own ceiling here. "
    "Work ms: the median in-process cost of one decision (solve + explanation, continuous "
    "shares) and one what-if (solve + short reasons, whole units) on a cached forecast, no "
    "HTTP: one worker process serves requests one at a time under the GIL, so 32 queued "
    "decisions wait about 32 × that.",
    "Decisions are on the synthetic city with the historical-average forecaster: Los-loop with "
    "the ST-Transformer needs the city in the store and an uploaded model version (not run "
    "yet); then run `--city los_loop`.",
    "Why decisions miss p99 < 100 ms: the solve and its per-zone reasons take well under a "
    "millisecond ('decision work ms'), so the waiting is in the rest of a stored decision's "
    "request path (HTTP, the idempotency and input-hash bookkeeping, the committed write; "
    "SQLite runs with synchronous=FULL) with 32 clients queued on one process. That path is "
    "not profiled yet (`py-spy record -p <serve pid> -d 10` while the decision clients run); "
    "several API processes on one database are the other lever.",
    "Why what-ifs miss 1,000/s: their work is under half a millisecond ('what-if work ms'); "
    "the ceiling is the HTTP stack with client and service sharing this machine's CPUs — the "
    "same clients get only the '/healthz/s' rate from the cheapest route.",
    "Ingest on PostgreSQL runs near its store floor (psycopg `executemany` of the upsert); "
    "COPY into a staging table would raise the floor (not done).",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--city", default="synthetic")
    parser.add_argument("--batches", type=int, default=10, help="10k-row ingest batches")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--decisions", type=int, default=10, help="per client")
    parser.add_argument("--whatifs", type=int, default=60, help="per client")
    args = parser.parse_args()
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    result: dict[str, Any] = {
        "command": COMMAND, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "city": args.city, "clients": args.clients,
        "targets": TARGETS, "notes": NOTES, "runs": []}
    with tempfile.TemporaryDirectory(prefix="cityfocus-load-") as tmp:
        for db in databases:
            result["runs"].append(run_database(db, args, Path(tmp)))
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_file(args.json).write(json.dumps(result, indent=2) + "\n")
    write_section(args.results, "service_load", section(result))


if __name__ == "__main__":
    main()

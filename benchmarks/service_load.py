"""Load on a real ``cityfocus serve``: ingest throughput, stored decisions under concurrency,
what-if re-solves per second; on SQLite and PostgreSQL, with one or several API processes.

    .venv/bin/python benchmarks/service_load.py --json benchmarks/results/service_load.json

For each database and each ``--api-processes`` count: a fresh store (the synthetic city
preloaded; ``--city los_loop`` adds that dataset, and ``--forecaster st_transformer`` trains
one for ``--epochs`` in this process, uploads it through the API and activates it), one
``cityfocus serve`` on loopback, and the clients in this process.

- ingest: ``--batches`` batches of 10 000 new rows each, one after another (httpx); rows/s
  over the wall time. Floor, same database, same run: the store's own bulk upsert of equal
  batches in this process, without HTTP, JSON or checks.
- warm-up: one what-if on each client connection (each API process forecasts the new data
  once); the slowest is reported as the cold request.
- decisions: ``--clients`` concurrent clients, one keep-alive connection each, each storing
  ``--decisions`` decisions (``POST /cities/{city}/decisions``, a distinct budget each);
  latency p50/p90/p99, errors.
- what-ifs: the same connections asking ``--whatifs`` what-ifs each; answers/s; and their
  ``GET /healthz`` rate, the floor of the HTTP stack with these clients on this machine.

The concurrent phases use a minimal HTTP/1.1 client (asyncio streams, keep-alive,
Content-Length bodies): httpx's own CPU per request is several times the service's for the
cheap routes, and client and service share the CPUs. Each phase records the CPU seconds the
service's processes and this process spent per request (/proc and ``process_time``).

Targets (the issue): ingest >= 50 000 rows/s; decision p99 < 100 ms at 32 clients with no
error; what-ifs >= 1 000/s. Writes JSON and the ``service_load`` section of
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import datetime as dt
import json
import os
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
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

COMMAND = ".venv/bin/python benchmarks/service_load.py --json {json}"
BATCH = 10_000
TARGETS = {"ingest_rows_per_s": 50_000, "decision_p99_ms": 100.0, "whatifs_per_s": 1_000}


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


class Connection:
    """One keep-alive HTTP/1.1 connection: a request written whole, the answer read by its
    Content-Length (all the service's JSON answers have one)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                 token: str) -> None:
        self.reader, self.writer = reader, writer
        self.head = f"Host: bench\r\nAuthorization: Bearer {token}\r\n"

    @classmethod
    async def open(cls, url: str, token: str) -> Connection:
        host, port = url.split("//")[1].split(":")
        reader, writer = await asyncio.open_connection(host, int(port))
        return cls(reader, writer, token)

    async def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        self.writer.write(
            f"{method} {path} HTTP/1.1\r\n{self.head}Content-Type: application/json\r\n"
            f"Content-Length: {len(payload)}\r\n\r\n".encode() + payload)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


def service_cpu(pids: list[int]) -> float:
    """CPU seconds (user + system) the processes ``pids`` have used so far."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])
    return ticks / os.sysconf("SC_CLK_TCK")


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


Ask = Callable[[Connection, int, int], Awaitable[tuple[int, bytes]]]


async def concurrent(connections: list[Connection], each: int, ask: Ask,
                     pids: list[int]) -> dict[str, Any]:
    """Each connection's task awaiting ``ask(connection, task, i)`` ``each`` times."""
    latencies: list[float] = []
    errors: dict[str, int] = {}

    async def worker(task: int) -> None:
        for i in range(each):
            t0 = time.perf_counter()
            try:
                status, _ = await ask(connections[task], task, i)
                key = str(status)
            except (OSError, asyncio.IncompleteReadError) as err:
                status, key = 599, type(err).__name__
            latencies.append(time.perf_counter() - t0)
            if status >= 400:
                errors[key] = errors.get(key, 0) + 1

    cpu, mine = service_cpu(pids), time.process_time()
    began = time.perf_counter()
    await asyncio.gather(*(worker(t) for t in range(len(connections))))
    wall = time.perf_counter() - began
    n = len(latencies)
    ms = [s * 1000 for s in latencies]
    return {"clients": len(connections), "requests": n, "seconds": wall, "per_s": n / wall,
            "errors": errors,
            "service_cpu_ms": (service_cpu(pids) - cpu) / n * 1000,
            "client_cpu_ms": (time.process_time() - mine) / n * 1000,
            "ms": {"p50": percentile(ms, 50), "p90": percentile(ms, 90),
                   "p99": percentile(ms, 99), "max": max(ms), "mean": statistics.fmean(ms)}}


async def run_load(service: Service, token: str, city_name: str, args: argparse.Namespace
                   ) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=service.url, timeout=300,
                                 headers={"Authorization": f"Bearer {token}"}) as client:
        city = (await client.get(f"/cities/{city_name}")).raise_for_status().json()
        step = dt.timedelta(seconds=_seconds(city["frequency"]))
        start = dt.datetime.fromisoformat(city["last_time"]) + step
        result: dict[str, Any] = {"zones": len(city["zones"]),
                                  "ingest": await ingest(client, city, args.batches, start,
                                                         step)}
    floor_start = start + step * (args.batches * BATCH // len(city["zones"]) + 1)
    result["ingest_floor"] = raw_floor(service.spec, city_name, args.batches, floor_start,
                                       int(step.total_seconds()))
    # before the connections open: uvicorn closes a connection idle for 5 s
    result["work_floor"] = decision_floor(service.spec, city_name, 20)
    pids = service.pids()
    connections = [await Connection.open(service.url, token) for _ in range(args.clients)]
    try:
        whatif_path = f"/cities/{city_name}/whatif"

        async def warm(c: Connection, task: int, i: int) -> tuple[int, bytes]:
            return await c.request("POST", whatif_path, {"budget": 10, "units": True})

        async def decide(c: Connection, task: int, i: int) -> tuple[int, bytes]:
            return await c.request("POST", f"/cities/{city_name}/decisions",
                                   {"budget": 5 + task + i / 1000, "units": False})

        async def ask(c: Connection, task: int, i: int) -> tuple[int, bytes]:
            return await c.request("POST", whatif_path,
                                   {"budget": 5 + (task + i) % 20, "units": True})

        async def health(c: Connection, task: int, i: int) -> tuple[int, bytes]:
            return await c.request("GET", "/healthz")

        result["warmup"] = await concurrent(connections, 1, warm, pids)
        result["decisions"] = await concurrent(connections, args.decisions, decide, pids)
        result["whatifs"] = await concurrent(connections, args.whatifs, ask, pids)
        result["healthz"] = await concurrent(connections, args.whatifs, health, pids)
    finally:
        for connection in connections:
            connection.close()
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


def prepare_city(spec: StoreSpec, city: str) -> None:
    """Add the built-in dataset ``city`` to the store (the synthetic city is preloaded)."""
    if city == "synthetic":
        return
    from cityfocus.data.readers import load_dataset
    from cityfocus.serve.cities.service import add_city, card_summary
    from cityfocus.serve.store.engine import open_store

    store = open_store(spec.data_dir, spec.url)
    try:
        with store.session() as session:
            add_city(session, load_dataset(city), name=city, card=card_summary(city))
    finally:
        store.close()


def trained_checkpoint(city: str, forecaster: str, epochs: int, steps: int
                       ) -> tuple[bytes, float]:
    """A ``forecaster`` checkpoint trained on the last ``steps`` steps of ``city`` for
    ``epochs`` (lookback 12, horizon 12), the way a worker's job trains it; and the seconds
    that took. (Its accuracy is not the point here: the load is the same for any weights.)"""
    from cityfocus.cli.serve_compute import train
    from cityfocus.data.readers import load_dataset

    data = load_dataset(city)
    began = time.perf_counter()
    trained = train(data.slice_time(max(0, data.shape[0] - steps), data.shape[0]), forecaster,
                    {"lookback": 12, "horizon": 12, "epochs": epochs}, lambda *_: None)
    return trained.checkpoint, time.perf_counter() - began


def run_database(db: str, processes: int, args: argparse.Namespace, logs: Path,
                 checkpoint: bytes | None) -> dict[str, Any]:
    with fresh_store(db) as spec:
        token = admin_token(spec)
        prepare_city(spec, args.city)
        service = Service(spec, free_port(), logs / f"serve-{db}-{processes}.log",
                          args=["--api-processes", str(processes)])
        service.start()
        try:
            if checkpoint is not None:
                answer = httpx.post(
                    f"{service.url}/cities/{args.city}/models", timeout=120,
                    headers={"Authorization": f"Bearer {token}"},
                    json={"forecaster": args.forecaster, "activate": True,
                          "checkpoint_base64": base64.b64encode(checkpoint).decode()})
                answer.raise_for_status()
            result = asyncio.run(run_load(service, token, args.city, args))
        finally:
            service.stop()
        result.update(db=db, database=database_version(spec), api_processes=processes,
                      forecaster=args.forecaster, http=http_stack())
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
    runs = result["runs"]
    model = result["forecaster"] + (f" ({result['epochs']} epoch(s) on the last "
                                    f"{result['train_steps']} steps, trained in "
                                    f"{result['train_seconds']:.0f} s here)"
                                    if result.get("train_seconds") is not None else "")
    default = (result["city"], result["forecaster"]) == ("synthetic", "historical_average")
    title = ("## Service load (`cityfocus serve`)" if default else
             f"### Service load on `{result['city']}` with {result['forecaster']}")
    lines = [title, "",
             f"Command: `{result['command']}`  ",
             f"Run {result['date']} at commit {env['commit']}; {env['cpu_count']} CPUs, load "
             f"average {', '.join(f'{x:.2f}' for x in env['load_average'])} at the start and "
             f"{', '.join(f'{x:.2f}' for x in result['load_average_end'])} at the end (other "
             "work shares the machine); city `" + result["city"] + f"` ({runs[0]['zones']} "
             f"zones), forecaster {model}; uvicorn ({runs[0]['http']}); the clients run in one "
             "process on the same machine.", "",
             "| database | API processes | ingest rows/s (10k-row batches) | store floor rows/s "
             f"| decisions p50 / p90 / p99 ms ({result['clients']} clients) | errors "
             "| cold request ms | decision work ms | service CPU ms per decision "
             "| what-ifs/s | what-if work ms | /healthz/s | service / client CPU ms per "
             "what-if |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: "
             "| ---: |"]
    for run in runs:
        d = run["decisions"]["ms"]
        errors = sum(run["decisions"]["errors"].values()) + sum(run["whatifs"]["errors"].values())
        lines.append(
            f"| {run['database']} | {run['api_processes']} | {run['ingest']['rows_per_s']:,.0f} "
            f"| {run['ingest_floor']['rows_per_s']:,.0f} | {d['p50']:.1f} / {d['p90']:.1f} / "
            f"{d['p99']:.1f} | {errors} | {run['warmup']['ms']['max']:.0f} | "
            f"{run['work_floor']['decision_ms']:.1f} | "
            f"{run['decisions']['service_cpu_ms']:.1f} | {run['whatifs']['per_s']:,.0f} | "
            f"{run['work_floor']['whatif_ms']:.2f} | {run['healthz']['per_s']:,.0f} | "
            f"{run['whatifs']['service_cpu_ms']:.2f} / {run['whatifs']['client_cpu_ms']:.2f} |")
    lines += ["", "Targets: ingest >= 50,000 rows/s, decision p99 < 100 ms at 32 clients with "
              "no error, what-ifs >= 1,000/s. Met:", ""]
    for run in runs:
        met = ", ".join(f"{k} {'yes' if v else '**no**'}" for k, v in run["met"].items())
        lines.append(f"- {run['database']}, {run['api_processes']} API process(es): {met}")
    lines += ["", "CPU alone (from the service CPU per decision above): one round of "
              f"{result['clients']} decisions needs {result['clients']} × that CPU time; spread "
              "over the API processes and the machine's CPUs, if both were free, it takes at "
              "least: " + "; ".join(
                  f"{run['database']} × {run['api_processes']}: "
                  f"{cpu_bound_ms(run, result['clients'], env['cpu_count']):.0f} ms"
                  for run in runs) + ". The last request of a round waits about that long, "
              "so p99 < 100 ms needs it well under 100 ms and CPUs the service does not share."]
    for note in result["notes"]:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def cpu_bound_ms(run: dict[str, Any], clients: int, cpus: int) -> float:
    """The service CPU one round of ``clients`` decisions takes, over the CPUs it can use."""
    return clients * run["decisions"]["service_cpu_ms"] / min(run["api_processes"], cpus)


NOTES = [
    "Store floor: the store's own bulk upsert of equal 10k-row batches from this process (no "
    "HTTP, JSON parsing or row checks), same database, same run; on PostgreSQL it COPYs the "
    "batch into a staging table and upserts from it. Cold request: the slowest of one what-if "
    "per connection right after the ingest (every API process forecasts the new data once, "
    "the others wait for it). Work ms: the median in-process cost of one decision (solve + "
    "explanation, continuous shares) and one what-if (solve + short reasons, whole units) on "
    "a cached forecast, no HTTP. Service CPU ms: CPU seconds of the API processes during the "
    "phase over its requests; client CPU ms: this process's (the load generator's own cost). "
    "/healthz/s: the same connections on the cheapest route, the HTTP stack's ceiling here.",
    "What the service CPU per request is: the API processes are CPU-bound under this load, "
    "so requests/s is about (CPUs the service gets) / (service CPU per request). A decision's "
    "in-process work ('decision work ms') is a part of its service CPU; the rest is the "
    "request path (HTTP parsing, FastAPI's dependencies and validation, the worker-thread "
    "hand-off, the light city read, the group commit, the answer's serialization, the access "
    "log line and metrics). On a 2-CPU machine shared with the clients and other work, a "
    "second API process adds CPU only when a CPU is free.",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--api-processes", default="1,2",
                        help="comma-separated API process counts to run each database with")
    parser.add_argument("--city", default="synthetic")
    parser.add_argument("--forecaster", default="historical_average",
                        help="historical_average (the default, no version), or a neural one "
                        "trained here and activated (st_transformer, lstm, seed_mlp)")
    parser.add_argument("--epochs", type=int, default=1, help="for a neural --forecaster")
    parser.add_argument("--train-steps", type=int, default=288,
                        help="a neural --forecaster trains on the city's last this many steps")
    parser.add_argument("--batches", type=int, default=10, help="10k-row ingest batches")
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--decisions", type=int, default=10, help="per client")
    parser.add_argument("--whatifs", type=int, default=60, help="per client")
    args = parser.parse_args()
    databases = ["sqlite", "postgresql"] if args.db == "both" else [args.db]
    counts = [int(n) for n in args.api_processes.split(",")]
    command = COMMAND.format(json=args.json) + "".join(
        f" --{name.replace('_', '-')} {getattr(args, name)}"
        for name, default in (("db", "both"), ("api_processes", "1,2"), ("city", "synthetic"),
                              ("forecaster", "historical_average"), ("epochs", 1),
                              ("train_steps", 288))
        if getattr(args, name) != default)
    result: dict[str, Any] = {
        "command": command, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "city": args.city, "forecaster": args.forecaster,
        "clients": args.clients, "targets": TARGETS, "notes": NOTES, "runs": []}
    checkpoint = None
    if args.forecaster != "historical_average":
        checkpoint, result["train_seconds"] = trained_checkpoint(
            args.city, args.forecaster, args.epochs, args.train_steps)
        result["epochs"], result["train_steps"] = args.epochs, args.train_steps
    with tempfile.TemporaryDirectory(prefix="cityfocus-load-") as tmp:
        for db in databases:
            for processes in counts:
                result["runs"].append(run_database(db, processes, args, Path(tmp),
                                                   checkpoint))
    result["load_average_end"] = list(os.getloadavg())
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_file(args.json).write(json.dumps(result, indent=2) + "\n")
    default = (args.city, args.forecaster) == ("synthetic", "historical_average")
    write_section(args.results, "service_load" if default else f"service_load_{args.city}",
                  section(result))


if __name__ == "__main__":
    main()

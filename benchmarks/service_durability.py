"""Durability of ``cityfocus serve`` under SIGKILL: every write acknowledged with a 2xx
survives, and no ingest batch is half-applied; on SQLite and PostgreSQL.

    .venv/bin/python benchmarks/service_durability.py \
        --json benchmarks/results/service_durability.json

For each database: a fresh store, then ``--cycles`` times: start a real ``cityfocus serve``,
check the store against every answer the client got so far, stream ingest batches (each
marks its rows: every value is the batch's number, at times no other batch writes) and
stored decisions (each with its own Idempotency-Key, on a small second city) from two
client threads, and SIGKILL the
process after a random 0.3-1.5 s (seeded). The check, after each restart and at the end:

- every batch answered 2xx is stored whole (all its keys, all with its number);
- every batch not answered (in flight at the kill) is stored whole or not at all;
- every decision answered 2xx is stored under its key.

Writes JSON (counts per cycle, the verdict) and the ``service_durability`` section of
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import tempfile
import threading
import time
from dataclasses import dataclass, field
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

COMMAND = (".venv/bin/python benchmarks/service_durability.py "
           "--json benchmarks/results/service_durability.json")
CITY = "synthetic"  # ingest goes here
DECIDE_CITY = "small"  # decisions here: no ingest, so its cached forecast stays valid
START = dt.datetime(2031, 1, 1)  # after the preloaded data: batches add new keys


@dataclass
class Ledger:
    """What the client sent and what it was told."""

    rows: int
    zones: list[str]
    batches_acked: set[int] = field(default_factory=set)
    batches_unanswered: set[int] = field(default_factory=set)
    decisions_acked: set[str] = field(default_factory=set)
    decisions_unanswered: set[str] = field(default_factory=set)
    refused: dict[str, int] = field(default_factory=dict)  # status -> count (never expected)
    next_batch: int = 0
    next_decision: int = 0

    def batch(self, number: int) -> list[dict[str, Any]]:
        first = number * self.rows
        return [{"zone": self.zones[i % len(self.zones)], "feature": "traffic",
                 "time": (START + dt.timedelta(hours=i // len(self.zones))).isoformat(),
                 "value": float(number)} for i in range(first, first + self.rows)]


def write_until_killed(url: str, token: str, ledger: Ledger, stop: threading.Event,
                       db: str) -> None:
    """Two client threads: ingest batches and stored decisions, until ``stop``."""
    headers = {"Authorization": f"Bearer {token}"}

    def ingest() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            while not stop.is_set():
                number = ledger.next_batch
                ledger.next_batch += 1
                try:
                    answer = client.post(f"/cities/{CITY}/observations",
                                         json={"rows": ledger.batch(number)})
                except httpx.HTTPError:
                    ledger.batches_unanswered.add(number)
                    return
                if answer.status_code // 100 == 2:
                    ledger.batches_acked.add(number)
                else:  # a refusal is not an acknowledgement; counted, and fails the verdict
                    status = str(answer.status_code)
                    ledger.refused[status] = ledger.refused.get(status, 0) + 1

    def decide() -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=30) as client:
            while not stop.is_set():
                key = f"durability-{db}-{ledger.next_decision}"
                ledger.next_decision += 1
                try:
                    answer = client.post(f"/cities/{DECIDE_CITY}/decisions",
                                         json={"budget": 10, "units": True, "horizon": 2},
                                         headers={"Idempotency-Key": key})
                except httpx.HTTPError:
                    ledger.decisions_unanswered.add(key)
                    return
                if answer.status_code // 100 == 2:
                    ledger.decisions_acked.add(key)
                else:
                    status = str(answer.status_code)
                    ledger.refused[status] = ledger.refused.get(status, 0) + 1

    threads = [threading.Thread(target=ingest), threading.Thread(target=decide)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def add_small_city(spec: StoreSpec) -> None:
    """A 4-zone city for the decisions (through the library, as the tests add one)."""
    from cityfocus.data.synthetic import synthetic_city
    from cityfocus.serve.cities.service import add_city
    from cityfocus.serve.store.engine import open_store

    store = open_store(spec.data_dir, spec.url)
    try:
        with store.session() as session:
            add_city(session, synthetic_city(n_zones=4, days=3).data, name=DECIDE_CITY)
    finally:
        store.close()


def check_store(spec: StoreSpec, ledger: Ledger) -> dict[str, Any]:
    """The store against the ledger: lost acknowledged writes, half-applied batches."""
    from sqlalchemy import func, select

    from cityfocus.serve.store.engine import open_store
    from cityfocus.serve.store.tables import Decision, Observation

    store = open_store(spec.data_dir, spec.url, migrate=False)
    try:
        with store.session() as session:
            counts = dict(session.execute(
                select(Observation.value, func.count()).where(Observation.time >= START)
                .group_by(Observation.value)).all())
            keys = set(session.scalars(select(Decision.idempotency_key)
                                       .where(Decision.idempotency_key.is_not(None))))
    finally:
        store.close()
    stored = {int(v): int(n) for v, n in counts.items()}
    lost = sorted(b for b in ledger.batches_acked if stored.get(b, 0) != ledger.rows)
    half = sorted(b for b, n in stored.items() if n not in (0, ledger.rows))
    stray = sorted(b for b in stored if b not in ledger.batches_acked
                   and b not in ledger.batches_unanswered)
    lost_decisions = sorted(ledger.decisions_acked - keys)
    return {"batches_stored": len(stored), "lost_batches": lost, "half_applied": half,
            "stray_batches": stray, "decisions_stored": len(keys),
            "lost_decisions": lost_decisions,
            "unanswered_batches_stored": sorted(b for b in ledger.batches_unanswered
                                                if stored.get(b) == ledger.rows),
            "ok": not (lost or half or stray or lost_decisions)}


def run_database(db: str, cycles: int, rows: int, seed: int, logs: Path) -> dict[str, Any]:
    rng = random.Random(seed)
    with fresh_store(db) as spec:
        token = admin_token(spec)
        add_small_city(spec)
        zones = [f"z{i:02d}" for i in range(24)]
        ledger = Ledger(rows=rows, zones=zones)
        service = Service(spec, free_port(), logs / f"serve-{db}.log")
        per_cycle = []
        for cycle in range(cycles):
            restart_s = service.start()
            check = check_store(spec, ledger)
            before = (len(ledger.batches_acked), len(ledger.decisions_acked))
            stop = threading.Event()
            writer = threading.Thread(target=write_until_killed,
                                      args=(service.url, token, ledger, stop, db))
            writer.start()
            delay = rng.uniform(0.3, 1.5)
            time.sleep(delay)
            service.kill()
            stop.set()
            writer.join(60)
            per_cycle.append({
                "cycle": cycle, "restart_s": round(restart_s, 2), "kill_after_s": round(delay, 2),
                "check_before_writes": check,
                "batches_acked": len(ledger.batches_acked) - before[0],
                "decisions_acked": len(ledger.decisions_acked) - before[1]})
        service.start()
        final = check_store(spec, ledger)
        service.stop()
        version = database_version(spec)
    ok = (final["ok"] and all(c["check_before_writes"]["ok"] for c in per_cycle)
          and not ledger.refused)
    return {"db": db, "database": version, "cycles": cycles, "rows_per_batch": rows,
            "batches_sent": ledger.next_batch, "batches_acked": len(ledger.batches_acked),
            "batches_unanswered": len(ledger.batches_unanswered),
            "unanswered_batches_stored": len(final["unanswered_batches_stored"]),
            "decisions_sent": ledger.next_decision,
            "decisions_acked": len(ledger.decisions_acked),
            "decisions_unanswered": len(ledger.decisions_unanswered),
            "refused": ledger.refused,
            "final_check": final, "per_cycle": per_cycle, "verdict": "pass" if ok else "FAIL"}


def section(result: dict[str, Any]) -> str:
    env = result["machine"]
    lines = ["## Service durability under SIGKILL (`cityfocus serve`)", "",
             f"Command: `{result['command']}`  ",
             f"Run {result['date']}; {env['cpu_count']} CPUs, load average "
             f"{', '.join(f'{x:.2f}' for x in env['load_average'])} at the start; seed "
             f"{result['seed']}. Each cycle: start `cityfocus serve`, check the store, stream "
             f"ingest batches of {result['rows_per_batch']} rows (values = the batch's number) "
             "and stored decisions (one Idempotency-Key each, on a small second city whose "
             "forecast stays cached) from two client threads, SIGKILL "
             "after 0.3-1.5 s. Checked after every restart and at the end.", "",
             "| database | cycles | batches acked / sent | unanswered (stored whole) | "
             "decisions acked / sent | lost acked writes | half-applied batches | verdict |",
             "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    for run in result["runs"]:
        final = run["final_check"]
        lost = len(final["lost_batches"]) + len(final["lost_decisions"])
        lines.append(
            f"| {run['database']} | {run['cycles']} | {run['batches_acked']} / "
            f"{run['batches_sent']} | {run['batches_unanswered']} "
            f"({run['unanswered_batches_stored']}) | {run['decisions_acked']} / "
            f"{run['decisions_sent']} | {lost} | {len(final['half_applied'])} | "
            f"**{run['verdict']}** |")
    lines += ["", "SQLite runs in WAL mode with `synchronous=FULL`; PostgreSQL with its "
              "defaults (`fsync=on`, `synchronous_commit=on`). A SIGKILL loses the process, not "
              "the machine: power loss is not simulated."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--cycles", type=int, default=20)
    parser.add_argument("--rows", type=int, default=2000, help="rows per ingest batch")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    result = run(["sqlite", "postgresql"] if args.db == "both" else [args.db], args.cycles,
                 args.rows, args.seed)
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_file(args.json).write(json.dumps(result, indent=2) + "\n")
    write_section(args.results, "service_durability", section(result))
    if any(r["verdict"] != "pass" for r in result["runs"]):
        raise SystemExit(1)


def run(databases: list[str], cycles: int, rows: int, seed: int) -> dict[str, Any]:
    """The whole benchmark (also called by tests/serve/test_ops.py's durability check)."""
    result: dict[str, Any] = {
        "command": COMMAND, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "seed": seed, "rows_per_batch": rows, "runs": []}
    with tempfile.TemporaryDirectory(prefix="cityfocus-durability-") as tmp:
        for db in databases:
            result["runs"].append(run_database(db, cycles, rows, seed, Path(tmp)))
    return result


if __name__ == "__main__":
    main()

"""CPU per request of the service's request path, without HTTP or a network: the ASGI app of
``cityfocus serve`` called directly in one process on a fresh SQLite store (the synthetic
city), one request at a time; at one or more commits, side by side.

    .venv/bin/python benchmarks/service_request_path.py --at 84e61e4 --at HEAD \
        --json benchmarks/results/service_request_path.json

Each ``--at`` commit is checked out in a temporary git worktree and measured in a child
process importing that tree's ``src`` (same interpreter and packages). CPU is the process's
(``time.process_time``: the event loop and the worker threads together); the figure is the
median over ``--rounds`` rounds of the mean over ``--requests`` requests. Routes: ``GET
/healthz`` (no token), ``GET /cities/synthetic`` (read token), ``POST
/cities/synthetic/whatif`` (whole units), ``POST /cities/synthetic/decisions`` (continuous
shares, stored; a distinct budget each). The access log is on, as in the service. Writes JSON
and the ``service_request_path`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

COMMAND = (".venv/bin/python benchmarks/service_request_path.py --at 84e61e4 --at HEAD "
           "--json benchmarks/results/service_request_path.json")
ROUTES = ("healthz", "city", "whatif", "decision")


def measure(requests: int, rounds: int) -> dict[str, Any]:
    """In this process (the tree on ``sys.path``): CPU ms per request for each route."""
    import logging

    from cityfocus.serve.app import create_app
    from cityfocus.serve.bootstrap import bootstrap
    from cityfocus.serve.store.engine import open_store
    from cityfocus.serve.tokens.service import create_token

    with tempfile.TemporaryDirectory() as folder:
        store = open_store(Path(folder) / "data")
        bootstrap(store)
        with store.session() as session:
            token = create_token(session, "admin", name="bench")[1].encode()
        app = create_app(store)
        sink = open(os.devnull, "w")
        for handler in logging.getLogger("cityfocus.serve.access").handlers:
            handler.setStream(sink)  # type: ignore[attr-defined]
        counter = [0]

        async def call(route: str) -> int:
            counter[0] += 1
            method, path, body = {
                "healthz": ("GET", "/healthz", b""),
                "city": ("GET", "/cities/synthetic", b""),
                "whatif": ("POST", "/cities/synthetic/whatif", b'{"budget":10,"units":true}'),
                "decision": ("POST", "/cities/synthetic/decisions",
                             json.dumps({"budget": 5 + counter[0] / 1000}).encode()),
            }[route]
            scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                     "method": method, "scheme": "http", "path": path,
                     "raw_path": path.encode(), "query_string": b"", "root_path": "",
                     "headers": [(b"host", b"bench"), (b"authorization", b"Bearer " + token),
                                 (b"content-type", b"application/json")],
                     "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 8000), "state": {}}
            sent: list[dict[str, Any]] = []

            async def receive() -> dict[str, Any]:
                return {"type": "http.request", "body": body, "more_body": False}

            async def send(message: dict[str, Any]) -> None:
                sent.append(message)

            await app(scope, receive, send)
            return int(sent[0]["status"])

        async def run() -> dict[str, Any]:
            for route in ROUTES:  # warm: the forecast, the compiled statements
                assert await call(route) < 300, route
            out: dict[str, Any] = {}
            for route in ROUTES:
                means = []
                for _ in range(rounds):
                    began = time.process_time()
                    for _ in range(requests):
                        assert await call(route) < 300, route
                    means.append((time.process_time() - began) / requests * 1000)
                out[route] = statistics.median(means)
            return out

        try:
            return asyncio.run(run())
        finally:
            store.close()
            sink.close()


def at_commit(commit: str, args: argparse.Namespace) -> dict[str, Any]:
    """Measure ``commit`` in a child process importing its tree (a temporary worktree)."""
    full = subprocess.run(["git", "rev-parse", commit], capture_output=True, text=True,
                          check=True).stdout.strip()
    with tempfile.TemporaryDirectory(prefix="cityfocus-path-") as folder:
        tree = Path(folder) / "tree"
        subprocess.run(["git", "worktree", "add", "--detach", str(tree), full],
                       capture_output=True, check=True)
        try:
            env = dict(os.environ, PYTHONPATH=str(tree / "src"))
            done = subprocess.run(
                [sys.executable, __file__, "--child", "--requests", str(args.requests),
                 "--rounds", str(args.rounds)], env=env, capture_output=True, text=True,
                check=True)
        finally:
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)],
                           capture_output=True, check=True)
    return {"commit": full, "asked": commit, "cpu_ms": json.loads(done.stdout)}


def section(result: dict[str, Any]) -> str:
    env = result["machine"]
    runs = result["runs"]
    lines = ["### Service request path: CPU per request (no HTTP)", "",
             f"Command: `{result['command']}`  ",
             f"Run {result['date']}; {env['cpu_count']} CPUs, load average "
             f"{', '.join(f'{x:.2f}' for x in env['load_average'])} at the start (other work "
             f"shares the machine); median of {result['rounds']} rounds of "
             f"{result['requests']} requests, one at a time, through the ASGI app on a fresh "
             "SQLite store (synthetic city).", "",
             "| route | " + " | ".join(f"CPU ms at {r['commit'][:7]}" for r in runs) + " |",
             "| --- | " + " | ".join("---:" for _ in runs) + " |"]
    labels = {"healthz": "`GET /healthz`", "city": "`GET /cities/synthetic`",
              "whatif": "`POST …/whatif`", "decision": "`POST …/decisions` (stored)"}
    for route in ROUTES:
        lines.append(f"| {labels[route]} | " + " | ".join(
            f"{r['cpu_ms'][route]:.2f}" for r in runs) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--at", action="append", help="a commit to measure (repeatable)")
    parser.add_argument("--json", type=Path)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.requests, args.rounds)))
        return
    from cityfocus.outputs import atomic_file
    from cityfocus_bench.markdown import write_section
    from cityfocus_bench.serving import machine

    result: dict[str, Any] = {
        "command": COMMAND, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "requests": args.requests, "rounds": args.rounds,
        "runs": [at_commit(commit, args) for commit in args.at or ["HEAD"]]}
    print(json.dumps(result, indent=2))
    if args.json is not None:
        atomic_file(args.json).write(json.dumps(result, indent=2) + "\n")
        write_section(args.results, "service_request_path", section(result))


if __name__ == "__main__":
    main()

"""The dashboard's what-if round trip in a real browser: moving the budget slider until the
page shows the new allocation, against a real ``cityfocus serve``.

    .venv/bin/python benchmarks/dashboard.py --json benchmarks/results/dashboard.json

A fresh SQLite store (the embedded synthetic city), one ``cityfocus serve`` process, headless
Debian Chromium driven by Playwright. The page signs in, loads, then the slider is moved
``--moves`` times by the keyboard (up and down across its range), each move waiting until the
page shows the allocation of the new budget. The page itself times each move, from the input
event to the end of drawing the answer (map, table, totals, curve marker). Measured in the same
run, from the same page: a bare ``fetch('/healthz')`` round trip (the floor of any request) and
a bare ``fetch`` of the what-if without drawing. Target: p95 of the move < 150 ms.

Writes JSON and the ``dashboard`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from cityfocus.outputs import atomic_file
from cityfocus_bench.markdown import write_section
from cityfocus_bench.serving import Service, admin_token, free_port, fresh_store, machine

COMMAND = ".venv/bin/python benchmarks/dashboard.py --json benchmarks/results/dashboard.json"
TARGET_P95_MS = 150.0
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"

TIMED_FETCH = """async ([path, body, n]) => {
  const token = window.cityfocus.token;
  const out = [];
  for (let k = 0; k < n; k += 1) {
    const t0 = performance.now();
    const init = body === null ? {headers: {Authorization: 'Bearer ' + token}} :
      {method: 'POST', headers: {Authorization: 'Bearer ' + token,
       'Content-Type': 'application/json'}, body: JSON.stringify(body)};
    const r = await fetch(path, init);
    await r.json();
    out.push(performance.now() - t0);
  }
  return out;
}"""


def stats(ms: list[float]) -> dict[str, float]:
    a = np.asarray(ms, dtype=float)
    return {"n": len(ms), "p50": float(np.percentile(a, 50)), "p90": float(np.percentile(a, 90)),
            "p95": float(np.percentile(a, 95)), "p99": float(np.percentile(a, 99)),
            "max": float(a.max())}


def wait(page: Any, condition: str, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not page.evaluate(f"() => Boolean({condition})"):
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out waiting for {condition}")
        time.sleep(0.005)


def measure(url: str, token: str, moves: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
        version = browser.version
        page = browser.new_page(viewport={"width": 1280, "height": 800})
        page.goto(url + "/")
        page.fill("#token", token)
        page.click("#sign-in-form button[type=submit]")
        wait(page, "window.cityfocus && window.cityfocus.ready")
        wait(page, "document.querySelectorAll('#curve path.curve').length === 1")
        low, high = (float(page.get_attribute("#budget-slider", k) or 0) for k in ("min", "max"))
        budget = float(page.input_value("#budget-number"))
        task = page.evaluate("() => ({...window.cityfocus.task, "
                             "horizon: window.cityfocus.horizon})")
        floor = page.evaluate(TIMED_FETCH, ["/healthz", None, moves])
        bare = page.evaluate(TIMED_FETCH, ["/cities/synthetic/whatif", {**task, "budget": budget},
                                           moves])
        page.evaluate("() => { window.cityfocus.timings.length = 0; }")
        page.focus("#budget-slider")
        key = "ArrowRight"
        for _ in range(moves):
            if budget >= high:
                key = "ArrowLeft"
            elif budget <= low:
                key = "ArrowRight"
            page.keyboard.press(key)
            budget = float(page.input_value("#budget-number"))
            wait(page, f"Number(document.querySelector('#allocated').dataset.budget) === {budget}"
                       f" && window.cityfocus.timings.length > 0 && !window.cityfocus.inflight")
        timings = page.evaluate("() => window.cityfocus.timings")
        total = float(page.get_attribute("#allocated", "data-total") or "nan")
        browser.close()
    return {"chromium": version, "moves": moves, "move_ms": stats(timings),
            "healthz_fetch_ms": stats(floor), "whatif_fetch_ms": stats(bare),
            "last_total_equals_budget": bool(abs(total - budget) < 1e-9),
            "budget_range": [low, high]}


def run(moves: int) -> dict[str, Any]:
    result: dict[str, Any] = {
        "command": COMMAND, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": machine(), "city": "synthetic", "database": "sqlite"}
    with fresh_store("sqlite") as spec, tempfile.TemporaryDirectory() as tmp:
        token = admin_token(spec)
        service = Service(spec, free_port(), Path(tmp) / "serve.log")
        service.start()
        try:
            result.update(measure(service.url, token, moves))
        finally:
            service.stop()
    result["machine"]["load_average_after"] = list(os.getloadavg())
    p95 = result["move_ms"]["p95"]
    result["target_p95_ms"] = TARGET_P95_MS
    result["met"] = bool(p95 < TARGET_P95_MS)
    result["p95_over_healthz_p95"] = p95 / result["healthz_fetch_ms"]["p95"]
    return result


def section(r: dict[str, Any]) -> str:
    def row(name: str, s: dict[str, float]) -> str:
        return (f"| {name} | {s['n']} | {s['p50']:.1f} | {s['p90']:.1f} | {s['p95']:.1f} | "
                f"{s['p99']:.1f} | {s['max']:.1f} |")

    m = r["machine"]
    verdict = "met" if r["met"] else "missed"
    return "\n".join([
        "### Dashboard: the budget slider's round trip in a real browser", "",
        f"Command: `{r['command']}`", "",
        f"Run {r['date']} at commit {m['commit']}; headless Chromium {r['chromium']} "
        f"(Playwright), one `cityfocus serve` process on SQLite, the synthetic city (24 zones, "
        f"whole units); load average {m['load_average'][0]:.2f} before, "
        f"{m['load_average_after'][0]:.2f} after, {m['cpu_count']} CPUs.", "",
        "A move: one keyboard step of the slider, timed by the page from the input event to the "
        "end of drawing the new allocation (what-if request, map, table, totals, curve "
        "marker). Floors from the same page in the same run: a bare `fetch('/healthz')` and a "
        "bare what-if `fetch` without drawing.", "",
        "| measured (ms) | n | p50 | p90 | p95 | p99 | max |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
        row("slider move, input to drawn", r["move_ms"]),
        row("what-if fetch, no drawing", r["whatif_fetch_ms"]),
        row("`/healthz` fetch (floor)", r["healthz_fetch_ms"]), "",
        f"Target p95 < {r['target_p95_ms']:.0f} ms: **{verdict}** "
        f"(p95 {r['move_ms']['p95']:.1f} ms, {r['p95_over_healthz_p95']:.1f}× the `/healthz` "
        f"p95). The allocated total equalled the budget after the last move: "
        f"{'yes' if r['last_total_equals_budget'] else 'NO'}.",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument("--moves", type=int, default=200)
    args = parser.parse_args()
    if not Path(CHROMIUM).exists():
        raise SystemExit("error: chromium is not installed (apt-get install -y chromium)")
    result = run(args.moves)
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_file(args.json).write(json.dumps(result, indent=2) + "\n")
    write_section(args.results, "dashboard", section(result))


if __name__ == "__main__":
    main()

"""Traffic-signal benchmark: every controller on every scenario over seeds, in Eclipse SUMO.

    .venv/bin/python benchmarks/signals.py --json benchmarks/results/signals.json

Scenarios: the generated grids ``gen3x3`` and ``gen4x4`` (seeded morning-peak demand) and the
RESCO networks ``grid4x4``, ``arterial4x4``, ``cologne1``, ``cologne3``, ``ingolstadt1``
(routes shipped in sumo-rl; the seed drives SUMO's randomness). Controllers: ``fixed``,
``webster``, ``actuated``, ``max_pressure``, ``cityfocus``; every controller of a scenario and
seed runs on identical demand. Mean ± std over seeds 1..N; issue 8's targets are judged from
the numbers. ``--duration`` or fewer ``--seeds`` make a reduced run, labelled as such.
Writes JSON and replaces the ``signals`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from cityfocus.openmp import prefer_passive_wait

prefer_passive_wait()  # before anything loads torch's OpenMP (see cityfocus.openmp)

from cityfocus.outputs import atomic_file
from cityfocus.signals.report import DEFINITIONS, build_result, summary_table
from cityfocus.signals.runner import CONTROLLERS, run_many
from cityfocus_bench.markdown import write_section

SCENARIOS = ("gen3x3", "gen4x4", "grid4x4", "arterial4x4", "cologne1", "cologne3", "ingolstadt1")
FULL = {"seeds": 5, "duration": None}


def targets(result: dict[str, Any]) -> list[str]:
    """Issue 8's targets, judged from the summary (mean delay per scenario)."""
    delay: dict[str, dict[str, float]] = {}
    for row in result["summary"]:
        delay.setdefault(row["scenario"], {})[row["controller"]] = row["delay"]["mean"]
    lines, beats_actuated, all_three = [], 0, 0
    for scenario, by in delay.items():
        if "cityfocus" not in by:
            continue
        ours = by["cityfocus"]
        verdict = [f"{c} {'won' if ours < by[c] else 'LOST'} ({by[c]:.1f} s)"
                   for c in ("fixed", "webster", "max_pressure", "actuated") if c in by]
        if all(ours < by[c] for c in ("fixed", "webster", "max_pressure") if c in by):
            all_three += 1
        beats_actuated += int("actuated" in by and ours < by["actuated"])
        lines.append(f"- {scenario}: cityfocus {ours:.1f} s vs " + ", ".join(verdict))
    n = sum(1 for by in delay.values() if "cityfocus" in by)
    wall = result["manifest"]["wall_seconds"]
    lines += [
        "",
        f"Target 1 (lower mean delay than fixed, webster and max_pressure on every scenario): "
        f"{'met' if all_three == n else 'NOT met'} ({all_three} of {n} scenarios).",
        f"Target 1b (lower than actuated on at least 4): "
        f"{'met' if beats_actuated >= 4 else 'NOT met'} ({beats_actuated} of {n}).",
        f"Target 2 (whole benchmark under 30 min on 2 cores): "
        f"{'met' if wall < 1800 else 'NOT met'} ({wall / 60:.1f} min wall"
        f"{'' if result['manifest']['full'] else ', reduced run'}).",
    ]
    return lines


def section(result: dict[str, Any]) -> str:
    m = result["manifest"]
    period = "each scenario's own hour" if m["duration"] is None else f"{m['duration']:g} s"
    lines = ["### Traffic signals in Eclipse SUMO", ""]
    if not m["full"]:
        lines += [f"**Reduced run ({m['note']}): not the full benchmark.**", ""]
    lines += [
        f"Command: `{m['command']}`",
        "",
        f"SUMO {m['sumo']} (libsumo), sumo-rl {m['sumo_rl']} (RESCO files only); seeds "
        f"{', '.join(map(str, result['summary'][0]['seeds']))}; simulated "
        f"{period}; "
        f"cityfocus forecaster: historical average over {m['history_days']} earlier days "
        f"(fixed programme, seeds {', '.join(map(str, m['history_seeds']))}). "
        f"Mean ± std (sample) over seeds. Run {m['created']}, {m['wall_seconds'] / 60:.1f} min "
        f"wall with {m['workers']} processes.",
        "",
        *summary_table(result),
        "",
        "Metrics: " + "; ".join(f"{k}: {v}" for k, v in DEFINITIONS.items()) + ".",
        "",
        "Against issue 8's targets (mean delay):",
        "",
        *targets(result),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the JSON report here")
    parser.add_argument("--seeds", type=int, default=FULL["seeds"])
    parser.add_argument("--duration", type=float, default=None,
                        help="simulated seconds per run (default: each scenario's hour)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--controllers", default=",".join(CONTROLLERS))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--history-days", type=int, default=3)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    parser.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)
    scenarios = args.scenarios.split(",")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="cityfocus-signals-bench-") as tmp:
        runs = run_many(scenarios, args.controllers.split(","), list(range(1, args.seeds + 1)),
                        tmp, args.duration, args.history_days, args.workers)
    full = (args.seeds >= FULL["seeds"] and args.duration is None
            and set(scenarios) >= set(SCENARIOS)
            and args.controllers.split(",") == list(CONTROLLERS))
    note = "" if full else (f"{args.seeds} seeds, "
                            f"{'1 h' if args.duration is None else f'{args.duration:g} s'}, "
                            f"{len(scenarios)} scenarios")
    command = shlex.join([".venv/bin/python", "benchmarks/signals.py", *sys.argv[1:]])
    result = build_result(runs, command=command, duration=args.duration,
                          history_days=args.history_days, note=note)
    result["manifest"] |= {"wall_seconds": time.perf_counter() - started, "full": full,
                           "workers": args.workers}
    text = section(result)
    print(text)
    if args.json:
        atomic_file(args.json).write(json.dumps(result, indent=1))
    if not args.no_results:
        write_section(args.results, "signals", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

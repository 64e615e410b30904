"""Latency of predicting one new 207-zone Los-loop window from a saved ST-Transformer.

    .venv/bin/python benchmarks/forecast_latency.py --json benchmarks/results/forecast_latency.json

Builds the ST-Transformer with the forecast benchmark's Los-loop hyperparameters, fits it
for one epoch (latency does not depend on how well it is trained), saves it, reloads it with
``load_forecaster`` as a user would, and times ``predict(data, at)`` (one window of 12 steps
x 207 zones, horizon 3) over many calls; the persistence baseline's ``predict`` is timed in
the same run as the reference. Writes JSON and the ``forecast_latency`` section of
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from cityfocus.openmp import prefer_passive_wait

prefer_passive_wait()  # before anything loads torch's OpenMP (see cityfocus.openmp)

import torch

from cityfocus.data.readers import load_dataset
from cityfocus.models.registry import load_forecaster, make_forecaster
from cityfocus.outputs import atomic_file
from cityfocus_bench.markdown import write_section
from cityfocus_bench.protocols import forecast_protocol

COMMAND = (".venv/bin/python benchmarks/forecast_latency.py "
           "--json benchmarks/results/forecast_latency.json")


def time_calls(call, repeats: int) -> list[float]:
    call()  # warm-up
    seconds = []
    for _ in range(repeats):
        started = time.perf_counter()
        call()
        seconds.append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=100)
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    args = parser.parse_args()

    data = load_dataset("los_loop")
    protocol = forecast_protocol("los_loop")
    split = protocol.split(data)
    params = {**protocol.models["st_transformer"], "epochs": 1, "progress": False}
    model = make_forecaster("st_transformer", 12, 3, **params).fit(split.train, split.val)
    with tempfile.TemporaryDirectory() as tmp:
        path = model.save(Path(tmp) / "st_transformer.pt")
        loaded = load_forecaster(path)
    at = split.test_start + 100
    ours = time_calls(lambda: loaded.predict(data, at=at), args.repeats)
    persistence = make_forecaster("persistence", 12, 3).fit(split.train)
    reference = time_calls(lambda: persistence.predict(data, at=at), args.repeats)
    median_ms = statistics.median(ours) * 1000
    result = {
        "median_predict_ms": median_ms,
        "p90_predict_ms": sorted(ours)[int(0.9 * len(ours))] * 1000,
        "persistence_median_ms": statistics.median(reference) * 1000,
        "ratio_to_persistence": statistics.median(ours) / statistics.median(reference),
        "target_ms": 20.0,
        "met": median_ms < 20.0,
        "repeats": args.repeats,
        "zones": data.shape[1],
        "params": params,
        "torch_threads": torch.get_num_threads(),
        "platform": platform.platform(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "command": COMMAND,
    }
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_file(args.json).write(json.dumps(result, indent=2) + "\n")
    body = "\n".join([
        "### Forecast latency: one new Los-loop window from a saved ST-Transformer",
        "",
        f"Command: `{COMMAND}`  ",
        f"Run {result['date']}, torch threads {result['torch_threads']}.",
        "",
        "| what | median ms | p90 ms |",
        "| --- | ---: | ---: |",
        f"| st_transformer `predict` (12 x 207 in, 3 out, loaded checkpoint) | "
        f"{median_ms:.2f} | {result['p90_predict_ms']:.2f} |",
        f"| persistence `predict` (same run, reference) | "
        f"{result['persistence_median_ms']:.2f} | — |",
        "",
        f"Target < 20 ms: **{'met' if result['met'] else 'NOT met'}** "
        f"(ratio to persistence ×{result['ratio_to_persistence']:.1f}).",
    ])
    write_section(args.results, "forecast_latency", body)


if __name__ == "__main__":
    main()

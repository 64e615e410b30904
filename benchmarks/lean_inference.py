"""Lean inference on Los-loop: the ST-Transformer run by PyTorch, by onnxruntime (float32
export) and by onnxruntime with int8 weights: latency per 207-zone window and 15-min RMSE.

    .venv/bin/python benchmarks/lean_inference.py --json benchmarks/results/lean_inference.json

Fits the ST-Transformer with the forecast benchmark's Los-loop hyperparameters (horizon 3,
the 15-min row; epochs bounded by ``--epochs`` and early stopping, never by wall time), saves
the checkpoint, exports it twice with ``cityfocus.models.lean.export_onnx`` (float32, int8),
and in one run:

- scores all three on the benchmark's test windows with the forecast benchmark's metric
  (``forecast_metrics``, RMSE over the three steps, as in the Los-loop table of RESULTS.md);
- times ``predict(data, at)`` (one new window, 12 steps x 207 zones in, 3 out) for each,
  the three interleaved within every repeat so machine load hits them alike; medians and
  ratios to PyTorch, with the given thread count for both engines.

Writes JSON and the ``lean_inference`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cityfocus.openmp import prefer_passive_wait

prefer_passive_wait()  # before anything loads torch's OpenMP (see cityfocus.openmp)

import numpy as np
import torch

from cityfocus.data.readers import load_dataset
from cityfocus.data.windows import Windows
from cityfocus.evaluate.metrics import forecast_metrics
from cityfocus.models.lean import export_onnx, load_onnx
from cityfocus.models.registry import load_forecaster, make_forecaster
from cityfocus.outputs import atomic_file
from cityfocus_bench.markdown import write_section
from cityfocus_bench.protocols import forecast_protocol, scored_windows

COMMAND = (".venv/bin/python benchmarks/lean_inference.py "
           "--json benchmarks/results/lean_inference.json")
HORIZON = 3  # the 15-min row of the Los-loop table (5-min steps)
ENGINES = ("pytorch", "onnx_float32", "onnx_int8")


def commit() -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=False)
    dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True, check=False).stdout.strip()
    return done.stdout.strip() + (" (with uncommitted changes)" if dirty else "")


def interleaved(calls: dict[str, Callable[[], object]], repeats: int) -> dict[str, list[float]]:
    """Seconds per call of each entry, the entries called in turn within every repeat (the
    order rotating), after one warm-up call each."""
    for call in calls.values():
        call()
    names = list(calls)
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for r in range(repeats):
        for name in names[r % len(names):] + names[:r % len(names)]:
            started = time.perf_counter()
            calls[name]()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, required=True)
    parser.add_argument("--epochs", type=int, default=None,
                        help="Epoch bound of the fit (default: the Los-loop card's).")
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1,
                        help="Threads of both engines (PyTorch intra-op, onnxruntime intra-op).")
    parser.add_argument("--results", type=Path, default=Path("benchmarks/RESULTS.md"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    measured = commit()
    load = os.getloadavg()

    data = load_dataset("los_loop")
    protocol = forecast_protocol("los_loop")
    split = protocol.split(data)
    params: dict[str, Any] = {k: v for k, v in protocol.models["st_transformer"].items()
                              if k != "max_minutes"}  # bounded by epochs, not wall time
    if args.epochs is not None:
        params["epochs"] = args.epochs
    model = make_forecaster("st_transformer", protocol.lookback, HORIZON, **params,
                            progress=True, device="cpu", seed=0)
    model.fit(split.train, split.val)
    trained = model.train_result_
    windows = scored_windows(protocol, split, HORIZON)
    truth = windows.batch()
    with tempfile.TemporaryDirectory() as folder:
        checkpoint = model.save(Path(folder) / "st_transformer.pt")
        started = time.perf_counter()
        full = export_onnx(load_forecaster(checkpoint, device="cpu"), Path(folder) / "f.onnx")
        export_seconds = time.perf_counter() - started
        small = export_onnx(load_forecaster(checkpoint, device="cpu"), Path(folder) / "q.onnx",
                            int8=True)
        sizes = {"pytorch": checkpoint.stat().st_size, "onnx_float32": full.stat().st_size,
                 "onnx_int8": small.stat().st_size}
        models = {"pytorch": load_forecaster(checkpoint, device="cpu"),
                  "onnx_float32": load_onnx(full, threads=args.threads),
                  "onnx_int8": load_onnx(small, threads=args.threads)}
    forecasts = {name: m.predict_windows(windows) for name, m in models.items()}
    rmse = {name: forecast_metrics(truth.y, y_hat, truth.y_mask, metrics=("rmse", "mae"))["all"]
            for name, y_hat in forecasts.items()}
    val_windows = Windows(split.data, protocol.lookback, HORIZON,
                          target_start=split.bounds("val")[0], target_stop=split.bounds("val")[1])
    val_truth = val_windows.batch()
    val_rmse = {name: forecast_metrics(val_truth.y, m.predict_windows(val_windows),
                                       val_truth.y_mask, metrics=("rmse",))["all"]["rmse"]
                for name, m in models.items()}
    gap = {name: float(np.max(np.abs(forecasts[name] - forecasts["pytorch"])))
           for name in ENGINES[1:]}
    at = split.test_start + 100
    seconds = interleaved({name: (lambda m=m: m.predict(data, at=at))
                           for name, m in models.items()}, args.repeats)
    median_ms = {name: statistics.median(s) * 1000 for name, s in seconds.items()}
    base = rmse["pytorch"]["rmse"]
    result = {
        "commit": measured, "command": COMMAND, "epochs_bound": params["epochs"],
        "epochs_run": len(trained.history), "best_epoch": trained.best_epoch,
        "stop_reason": trained.stopped, "fit_seconds": trained.seconds, "params": params,
        "threads": args.threads, "repeats": args.repeats, "zones": data.shape[1],
        "test_windows": len(windows), "export_seconds_float32": export_seconds,
        "rmse_15min": {name: r["rmse"] for name, r in rmse.items()},
        "mae_15min": {name: r["mae"] for name, r in rmse.items()},
        "rmse_change": {name: rmse[name]["rmse"] / base - 1 for name in ENGINES[1:]},
        "validation_rmse": val_rmse,
        "validation_rmse_change": {name: val_rmse[name] / val_rmse["pytorch"] - 1
                                   for name in ENGINES[1:]},
        "max_abs_forecast_gap": gap,
        "median_predict_ms": median_ms,
        "p90_predict_ms": {name: sorted(s)[int(0.9 * len(s))] * 1000
                           for name, s in seconds.items()},
        "speed_vs_pytorch": {name: median_ms["pytorch"] / median_ms[name] for name in ENGINES},
        "file_bytes": sizes,
        "targets": {"float32_within_1e-4": gap["onnx_float32"] <= 1e-4,
                    "int8_rmse_rise_at_most_1pct": rmse["onnx_int8"]["rmse"] <= 1.01 * base},
        "load_before": list(load), "load_after": list(os.getloadavg()),
        "platform": platform.platform(), "processor": platform.processor(),
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
    }
    print(json.dumps(result, indent=2))
    args.json.parent.mkdir(parents=True, exist_ok=True)
    atomic_file(args.json).write(json.dumps(result, indent=2) + "\n")
    write_section(args.results, "lean_inference", markdown(result))


def markdown(r: dict[str, Any]) -> str:
    rows = []
    for name in ENGINES:
        change, val_change, gap = "—", "—", "—"
        if name != "pytorch":
            change = f"{100 * r['rmse_change'][name]:+.2f} %"
            val_change = f"{100 * r['validation_rmse_change'][name]:+.2f} %"
            gap = f"{r['max_abs_forecast_gap'][name]:.2g}"
        rows.append(f"| {name} | {r['median_predict_ms'][name]:.2f} | "
                    f"{r['p90_predict_ms'][name]:.2f} | ×{r['speed_vs_pytorch'][name]:.2f} | "
                    f"{r['rmse_15min'][name]:.4f} | {change} | {val_change} | {gap} | "
                    f"{r['file_bytes'][name] / 1e6:.2f} |")
    verdict = r["targets"]
    return "\n".join([
        "### Lean inference: Los-loop ST-Transformer on PyTorch and onnxruntime",
        "",
        f"Command: `{r['command']}`  ",
        f"Run {r['date']} at commit {r['commit']}; {r['threads']} thread(s) for both engines; "
        f"load {r['load_before'][0]:.1f} before, {r['load_after'][0]:.1f} after. Fit: "
        f"{r['epochs_run']} of at most {r['epochs_bound']} epochs ({r['stop_reason']}), best "
        f"epoch {r['best_epoch']}. Latency: `predict(data, at)` of one new window "
        f"(12 steps x {r['zones']} zones in, 3 out), median of {r['repeats']} interleaved "
        f"repeats. RMSE: the 15-min row's definition (all {r['test_windows']} test windows, "
        "3 steps), as in the Los-loop forecast table.",
        "",
        "| engine | median ms | p90 ms | speed vs PyTorch | 15-min RMSE | RMSE change "
        "| validation RMSE change | max abs gap | file MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *rows,
        "",
        f"float32 export within 1e-4 of PyTorch: **{said(verdict['float32_within_1e-4'])}**; "
        f"int8 raises RMSE by at most 1 %: **{said(verdict['int8_rmse_rise_at_most_1pct'])}**.",
    ])


def said(met: bool) -> str:
    return "met" if met else "NOT met"


if __name__ == "__main__":
    main()

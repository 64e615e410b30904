"""Run controllers on scenarios: one simulation per process, scenarios x seeds in a pool.

Every controller of a scenario and seed sees the same demand (the same route file and SUMO
seed). The ``cityfocus`` controller first needs arrival counts of earlier simulated days;
those are recorded under the fixed programme on seeds that no evaluation run uses.
"""

from __future__ import annotations

import math
import multiprocessing
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from cityfocus.errors import CityfocusError
from cityfocus.signals.allocation_control import ArrivalHistory, CityfocusController
from cityfocus.signals.controllers import Actuated, Controller, FixedTime, MaxPressure
from cityfocus.signals.env import SignalEnv
from cityfocus.signals.metrics import METRICS, trip_metrics
from cityfocus.signals.plans import Webster
from cityfocus.signals.scenarios import folder_name, prepare

CONTROLLERS = ("fixed", "webster", "actuated", "max_pressure", "cityfocus")
# Seeds of the "earlier days" the cityfocus forecaster learns from (never evaluation seeds).
HISTORY_SEED_BASE = 100_000


def make_controller(name: str, history: ArrivalHistory | None = None) -> Controller:
    """The controller called ``name`` (``cityfocus`` needs the arrival history)."""
    simple = {"fixed": FixedTime, "webster": Webster, "actuated": Actuated,
              "max_pressure": MaxPressure}
    if name in simple:
        return simple[name]()
    if name == "cityfocus":
        if history is None:
            raise ValueError("the cityfocus controller needs an arrival history")
        return CityfocusController(history)
    raise CityfocusError(f"unknown controller {name!r}; choose one of "
                         f"{', '.join(CONTROLLERS)} or all")


def simulate(scenario_name: str, controller: str, seed: int, workdir: str | Path,
             duration: float | None = None,
             history: ArrivalHistory | None = None) -> dict[str, Any]:
    """One run: metrics, arrival counts per bin and lane, and wall time."""
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    scenario = prepare(scenario_name, seed, workdir / "scenario", duration)
    ctrl = make_controller(controller, history)
    run_dir = Path(tempfile.mkdtemp(prefix=f"{controller}-{seed}-", dir=workdir))
    env = SignalEnv(scenario, run_dir / "tripinfo.xml", **ctrl.env_options(scenario, run_dir))
    try:
        env.reset()
        ctrl.reset(env)
        done = False
        while not done:
            _, _, done, _, _ = env.step(ctrl.act(env))
    finally:
        env.close()
    metrics = trip_metrics(run_dir / "tripinfo.xml", backlog=env.backlog,
                           teleports=env.teleports, max_queue=env.max_queue)
    return {"scenario": scenario_name, "controller": controller, "seed": seed,
            "metrics": metrics, "lanes": env.lanes, "arrivals": env.arrivals(),
            "begin": scenario.begin, "bin_seconds": env.bin_seconds,
            "wall_seconds": time.perf_counter() - started}


def _pool(workers: int) -> ProcessPoolExecutor:
    # A fresh process per run: libsumo keeps global state between simulations of one process,
    # and a run on cologne1 after other networks came out different from a run on its own.
    return ProcessPoolExecutor(max_workers=workers, max_tasks_per_child=1,
                               mp_context=multiprocessing.get_context("spawn"))


def _history(runs: list[dict[str, Any]]) -> ArrivalHistory:
    first = runs[0]
    return ArrivalHistory(first["lanes"], first["bin_seconds"], first["begin"],
                          [r["arrivals"] for r in runs])


def run_many(scenarios: list[str], controllers: list[str], seeds: list[int],
             workdir: str | Path, duration: float | None = None, history_days: int = 3,
             workers: int | None = None) -> list[dict[str, Any]]:
    """Every controller on every scenario and seed; ``workers`` processes (1 = in this one).

    Returns one record per run (scenario, controller, seed, metrics, wall seconds), in the
    order of the arguments.
    """
    for name in controllers:
        if name not in CONTROLLERS:
            make_controller(name)  # raises the user error
    workers = workers or min(os.cpu_count() or 1, 2)
    workdir = Path(workdir)
    histories: dict[str, ArrivalHistory] = {}
    jobs = [(s, c, seed) for s in scenarios for c in controllers for seed in seeds]
    # Networks and routes are built here, once, so that no two workers write the same file.
    extra = [HISTORY_SEED_BASE + k for k in range(history_days)]
    extra = extra if "cityfocus" in controllers else []
    for s in scenarios:
        for seed in [*seeds, *extra]:
            prepare(s, seed, workdir / folder_name(s) / "scenario", duration)
    if workers == 1:
        if "cityfocus" in controllers:
            for s in scenarios:
                histories[s] = _history([simulate(s, "fixed", HISTORY_SEED_BASE + k,
                                                  workdir / folder_name(s), duration)
                                         for k in range(history_days)])
        runs = [simulate(s, c, seed, workdir / folder_name(s), duration, histories.get(s))
                for s, c, seed in jobs]
    else:
        with _pool(workers) as pool:
            if "cityfocus" in controllers:
                pending = {s: [pool.submit(simulate, s, "fixed", HISTORY_SEED_BASE + k,
                                           workdir / folder_name(s), duration)
                               for k in range(history_days)]
                           for s in scenarios}
                histories = {s: _history([f.result() for f in fs]) for s, fs in pending.items()}
            futures = [pool.submit(simulate, s, c, seed, workdir / folder_name(s), duration,
                                   histories.get(s) if c == "cityfocus" else None)
                       for s, c, seed in jobs]
            runs = [f.result() for f in futures]
    for run in runs:
        del run["arrivals"], run["lanes"]
    return runs


def summarize(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mean and (sample) standard deviation over seeds, per scenario and controller."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for run in runs:
        groups.setdefault((run["scenario"], run["controller"]), []).append(run)
    rows = []
    for (scenario, controller), group in groups.items():
        row: dict[str, Any] = {"scenario": scenario, "controller": controller,
                               "seeds": [r["seed"] for r in group]}
        for metric in METRICS:
            values = np.array([r["metrics"][metric] for r in group], dtype=np.float64)
            std = float(values.std(ddof=1)) if len(values) > 1 else math.nan
            row[metric] = {"mean": float(values.mean()), "std": std}
        row["wall_seconds"] = float(sum(r["wall_seconds"] for r in group))
        rows.append(row)
    return rows

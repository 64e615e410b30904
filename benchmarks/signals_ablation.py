"""Ablations of the cityfocus signal controller (docs/signals.md, Limits), on tuning seeds.

Usage::

    .venv/bin/python benchmarks/signals_ablation.py SCENARIOS VARIANTS SEEDS [DURATION]

SCENARIOS: comma-separated names; VARIANTS: JSON ``{"label": ["controller", {kwargs}]}``
where cityfocus kwargs may include ``_noroute`` (queued vehicles without their next edge:
lane counts only), ``_noalloc`` (every green allotted the maximum: forecast unused) and
``_oldfallback`` (the earlier discharge rule); SEEDS: comma-separated; DURATION: simulated
seconds (``none``: the scenario's own). Prints mean delay ± std and per-seed delays. The
variants replace methods of the controller in the worker processes; the benchmark of
record is ``benchmarks/signals.py``.
"""
import json
import multiprocessing
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from cityfocus.signals import runner
from cityfocus.signals.env import SignalEnv
from cityfocus.signals.metrics import trip_metrics
from cityfocus.signals.scenarios import prepare


def run_one(scenario, ctrl_name, kwargs, seed, workdir, duration, history):
    from cityfocus.signals.allocation_control import CityfocusController
    if ctrl_name != "cityfocus":
        r = runner.simulate(scenario, ctrl_name, seed, workdir, duration)
        return r["metrics"]
    workdir = Path(workdir)
    scen = prepare(scenario, seed, workdir / "scenario", duration)
    kwargs = dict(kwargs)
    if kwargs.pop("_noroute", False):
        orig = SignalEnv.approach
        SignalEnv.approach = lambda self, lane: [("", eta) for _, eta in orig(self, lane)]
    if kwargs.pop("_oldfallback", False):
        from cityfocus.signals.light import Light
        def discharge(self, green, lane, vehicles, within=0.0):
            state, turns, n = self.states[self.greens[green]], self.turns.get(lane, {}), 0
            for edge, eta in vehicles:
                signals = turns.get(edge)
                if signals is not None and not any(state[i] in "Gg" for i in signals):
                    break
                if eta == np.inf or eta <= within:
                    n += 1
            return n
        Light.discharge = discharge
    if kwargs.pop("_noalloc", False):
        def plan(self, env, tls, light):
            return [self.max_green] * len(light.greens)
        CityfocusController.plan = plan
    ctrl = CityfocusController(history, **kwargs)
    run_dir = Path(tempfile.mkdtemp(prefix=f"cf-{seed}-", dir=workdir))
    env = SignalEnv(scen, run_dir / "tripinfo.xml", **ctrl.env_options(scen, run_dir))
    try:
        env.reset()
        ctrl.reset(env)
        done = False
        while not done:
            _, _, done, _, _ = env.step(ctrl.act(env))
    finally:
        env.close()
    return trip_metrics(run_dir / "tripinfo.xml", env.max_queue)


def main():
    scenarios = sys.argv[1].split(",")
    variants = json.loads(sys.argv[2])  # {"label": ["controller", {kwargs}]}
    seeds = [int(s) for s in sys.argv[3].split(",")]
    duration = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "none" else None
    wd = Path(tempfile.mkdtemp(prefix="sigexp-"))
    t0 = time.time()
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(2, max_tasks_per_child=1, mp_context=ctx) as pool:
        hist = {}
        needs = any(v[0] == "cityfocus" for v in variants.values())
        for s in scenarios:
            for seed in [*seeds, 100000, 100001, 100002]:
                prepare(s, seed, wd / s / "scenario", duration)
        if needs:
            pend = {s: [pool.submit(runner.simulate, s, "fixed", 100000 + k, wd / s, duration)
                        for k in range(3)] for s in scenarios}
            hist = {s: runner._history([f.result() for f in fs]) for s, fs in pend.items()}
        futs = {(s, lab, seed): pool.submit(run_one, s, v[0], v[1], seed, wd / s, duration,
                                            hist.get(s))
                for s in scenarios for lab, v in variants.items() for seed in seeds}
        res = {k: f.result() for k, f in futs.items()}
    for s in scenarios:
        for lab in variants:
            d = np.array([res[(s, lab, seed)]["delay"] for seed in seeds])
            v = np.array([res[(s, lab, seed)]["vehicles"] for seed in seeds])
            spread = d.std(ddof=1) if len(d) > 1 else 0.0
            print(f"{s:12s} {lab:20s} delay {d.mean():7.2f} ± {spread:5.2f}  "
                  f"per-seed {' '.join(f'{x:.1f}' for x in d)}  veh {v.mean():.0f}")
    print(f"wall {time.time()-t0:.0f}s")

if __name__ == "__main__":
    main()

"""Ablations of the cityfocus signal controller (docs/signals.md, Limits), on tuning seeds.

Usage::

    .venv/bin/python benchmarks/signals_ablation.py SCENARIOS VARIANTS SEEDS [DURATION]

SCENARIOS: comma-separated names; VARIANTS: JSON ``{"label": ["controller", {flags}]}``
where the cityfocus flags are ``_noroute`` (queued vehicles without their next edge: lane
counts only), ``_noalloc`` (every green allotted the maximum: forecast unused) and
``_noguard`` (no max-red guard and no spillback awareness: no full downstream lanes, no
entry backlog, no spill risk or spillback bounds), ``_set`` (``{"name": value}``: the
controller's constructor settings replaced, e.g. ``{"stretch": 2.0}``), and the
max_pressure flag ``_movement`` (the incoming term counts, per lane, the halting vehicles
the green lets go by their next edge, ``Light.discharge``: the information the cityfocus
controller reads, instead of the lane's halting count); SEEDS:
comma-separated; DURATION: simulated seconds (``none``: the scenario's own). Prints mean
RESCO delay ± std, per-seed RESCO delays and vehicles that never entered. A variant
replaces methods of the controller inside its worker process (a fresh one per run) and then
runs ``runner.simulate``; the benchmark of record is ``benchmarks/signals.py``.
"""
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from cityfocus.openmp import prefer_passive_wait

prefer_passive_wait()  # before anything loads torch's OpenMP (see cityfocus.openmp)

from cityfocus.signals import runner
from cityfocus.signals.scenarios import folder_name, prepare

FLAGS = {"cityfocus": ("_noroute", "_noalloc", "_noguard", "_set"),
         "max_pressure": ("_movement",)}
HISTORY_DAYS = 3


def run_variant(scenario, controller, flags, seed, workdir, duration, history):
    """One run of ``controller`` with the ablation ``flags`` applied in this process."""
    from cityfocus.signals.allocation_control import CityfocusController
    from cityfocus.signals.controllers import MaxPressure
    from cityfocus.signals.env import SignalEnv

    if flags.get("_noroute"):
        approach = SignalEnv.approach
        SignalEnv.approach = lambda self, lane: [("", eta) for _, eta in approach(self, lane)]
    if flags.get("_noalloc"):
        def plan(self, env, tls, light):
            return [self.max_green] * len(light.greens)
        CityfocusController.plan = plan
    if flags.get("_noguard"):
        SignalEnv.full_lanes = lambda self: set()
        SignalEnv.backlog_on = lambda self, edge: 0
        CityfocusController.spill_risk = lambda self, env, light, waiting: [0.0] * len(waiting)
        CityfocusController.spill_bounds = lambda self, env, light: (None, None)
        init = CityfocusController.__init__

        def unguarded(self, *args, **kwargs):
            init(self, *args, **kwargs)
            self.max_red = float("inf")
        CityfocusController.__init__ = unguarded
    if flags.get("_set"):
        settings, init_set = flags["_set"], CityfocusController.__init__

        def with_settings(self, *args, **kwargs):
            init_set(self, *args, **(kwargs | settings))
        CityfocusController.__init__ = with_settings
    if flags.get("_movement"):
        def pressure(self, env, tls, green):
            light, links = env.lights[tls], self._links[tls][green]
            queued = sum(light.discharge(green, lane, env.approach(lane))
                         for lane in dict.fromkeys(i for i, _ in links))
            return queued - sum(env.lane_halting(o) for _, o in links)
        MaxPressure.pressure = pressure
    return runner.simulate(scenario, controller, seed, workdir, duration,
                           history if controller == "cityfocus" else None)["metrics"]


def main():
    scenarios = sys.argv[1].split(",")
    variants = json.loads(sys.argv[2])  # {"label": ["controller", {flags}]}
    for label, (controller, flags) in variants.items():
        known = FLAGS.get(controller, ())
        if set(flags) - set(known):
            sys.exit(f"variant {label!r}: flags {sorted(flags)} do not apply to {controller}; "
                     f"known: {FLAGS}")
    seeds = [int(s) for s in sys.argv[3].split(",")]
    duration = float(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[4] != "none" else None
    wd = Path(tempfile.mkdtemp(prefix="sigexp-"))
    t0 = time.time()
    history_seeds = [runner.HISTORY_SEED_BASE + k for k in range(HISTORY_DAYS)]
    for s in scenarios:
        for seed in [*seeds, *history_seeds]:
            prepare(s, seed, wd / folder_name(s) / "scenario", duration)
    with runner._pool(2) as pool:
        pending = {s: [pool.submit(runner.simulate, s, "fixed", k, wd / folder_name(s), duration)
                       for k in history_seeds] for s in scenarios}
        hist = {s: runner._history([f.result() for f in fs]) for s, fs in pending.items()}
        futs = {(s, lab, seed): pool.submit(run_variant, s, v[0], v[1], seed, wd / folder_name(s),
                                            duration,
                                            hist[s])
                for s in scenarios for lab, v in variants.items() for seed in seeds}
        res = {k: f.result() for k, f in futs.items()}
    for s in scenarios:
        for lab in variants:
            d = np.array([res[(s, lab, seed)]["resco_delay"] for seed in seeds])
            out = np.array([res[(s, lab, seed)]["never_entered"] for seed in seeds])
            wait = np.array([res[(s, lab, seed)]["max_wait"] for seed in seeds])
            spread = d.std(ddof=1) if len(d) > 1 else 0.0
            print(f"{s:12s} {lab:20s} RESCO delay {d.mean():7.2f} ± {spread:5.2f}  "
                  f"per-seed {' '.join(f'{x:.1f}' for x in d)}  never entered "
                  f"{out.mean():.1f}  max wait {wait.mean():.0f}", flush=True)
    print(f"wall {time.time()-t0:.0f}s")


if __name__ == "__main__":
    main()

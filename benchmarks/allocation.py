"""Allocation engine benchmark: exactness against cvxpy + Clarabel, and speed.

    .venv/bin/python benchmarks/allocation.py --json benchmarks/allocation.json

Exactness: ``--instances`` random problems per family (``reference.random_problem``, N drawn
from 2..300) solved by cityfocus and by cvxpy/Clarabel (tolerances 1e-12). The gap is
``(F_cvxpy - F_ours) / max(|F_cvxpy|, |F_ours|)`` on the gain scale (positive: cvxpy better).
Clarabel's point can break a bound or the budget by ~1e-9 and so look better than any
feasible point; the gap after projecting it onto the feasible set is reported beside it.

Speed, on one core (thread pools pinned to 1), same process: N = 10,000 zones vs cvxpy
(end to end ``problem.solve`` and Clarabel's own solve time), N = 1,000,000 zones, and a
batch of 1,024 problems x 1,000 zones (numpy and torch). Times are medians of repeats.

``--baseline REV`` (repeatable) loads the allocation package as it was at git revision REV
(under another name, beside the current one) and times it on the same problems in the same
run, each repeat alternating baseline and current code, so the ratio (median of the paired
ratios) holds even when other jobs load the machine. The commit measured and the load
average at start and end are recorded. Writes JSON and replaces its section of
``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import atexit  # noqa: E402
import importlib  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import shutil  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402
from collections.abc import Callable  # noqa: E402
from datetime import UTC, datetime  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

from cityfocus.allocate import FAMILIES, AllocationProblem, solve  # noqa: E402
from cityfocus.allocate.reference import (  # noqa: E402
    TIGHT,
    cvxpy_problem,
    family_params,
    project_feasible,
    random_problem,
)

RESULTS = Path(__file__).with_name("RESULTS.md")
START, END = "<!-- allocation:start -->", "<!-- allocation:end -->"


REPO = Path(__file__).resolve().parents[1]
PACKAGE = "src/cityfocus/allocate"


def git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout


def load_baseline(rev: str):
    """The allocation package at git revision ``rev``, imported as ``allocate_at_<rev>`` (its
    own imports of ``cityfocus.allocate`` renamed; the rest of cityfocus is today's)."""
    name = "allocate_at_" + git("rev-parse", "--short=10", rev).strip()
    root = Path(tempfile.mkdtemp(prefix="cityfocus-baseline-"))
    atexit.register(shutil.rmtree, root, ignore_errors=True)  # the copy lives for the run
    (root / name).mkdir()
    for path in git("ls-tree", "-r", "--name-only", rev, PACKAGE).split():
        text = git("show", f"{rev}:{path}").replace("cityfocus.allocate", name)
        (root / name / Path(path).name).write_text(text)
    sys.path.insert(0, str(root))
    return importlib.import_module(name)


def paired_times(engines: dict[str, Callable[[], object]], repeats: int) -> dict[str, dict]:
    """Each engine's median time over ``repeats`` rounds (one warm-up), the engines taking
    turns in every round; and for every engine but the first, the median over rounds of
    its time over the first's (``ratio_over_current``)."""
    for fn in engines.values():
        fn()
    times: dict[str, list[float]] = {name: [] for name in engines}
    for _ in range(repeats):
        for name, fn in engines.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    first = np.array(next(iter(times.values())))
    out = {}
    for name, ts in times.items():
        out[name] = {"t_s": float(np.median(ts))}
        if len(out) > 1:
            out[name]["ratio_over_current"] = float(np.median(np.array(ts) / first))
    return out


def exactness(family: str, instances: int, seed: int) -> dict:
    """Gaps to cvxpy/Clarabel over ``instances`` random problems of one family."""
    import cvxpy as cp

    rng = np.random.default_rng(seed)
    raw, projected, violation, inaccurate = [], [], [], 0
    for _ in range(instances):
        prob = random_problem(family, int(rng.integers(2, 301)), rng)
        ours = float(prob.gain(solve(prob).w))
        cvx, w = cvxpy_problem(prob)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cvx.solve(solver=cp.CLARABEL, **TIGHT)
        inaccurate += cvx.status != cp.OPTIMAL
        theirs = float(prob.gain(w.value))
        violation.append(
            max(
                abs(w.value.sum() - float(prob.budget)) / max(1.0, float(prob.budget)),
                float((prob.lower - w.value).max()),
                float((w.value - prob.upper).max()),
            )
        )
        fixed = float(prob.gain(project_feasible(prob, w.value)))
        scale = max(abs(theirs), abs(ours), 1e-300)
        raw.append((theirs - ours) / scale)
        projected.append((fixed - ours) / scale)
    raw_a, proj_a = np.array(raw), np.array(projected)
    return {
        "instances": instances,
        "max_rel_gap": float(proj_a.max()),
        "max_rel_gap_raw_cvxpy_point": float(raw_a.max()),
        "instances_raw_gap_over_1e-7": int((raw_a > 1e-7).sum()),
        "max_cvxpy_constraint_violation": float(max(violation)),
        "ours_better_by_max": float(-proj_a.min()),
        "worse_than_feasible_cvxpy_1e-9": int((proj_a > 1e-9).sum()),
        "cvxpy_inaccurate": int(inaccurate),
    }


def big_problem(family: str, n: int, rng: np.random.Generator, rows: int | None = None):
    """A large instance: gamma demand (many small, few large), budget n/4 (n/2 for delay)."""
    shape = (n,) if rows is None else (rows, n)
    demand = rng.gamma(0.7, 3.0, shape)
    params = family_params(family, demand, rng)
    upper = 1.0 if family == "delay" else np.inf
    budget = n / 2 if family == "delay" else n / 4  # delay: mean green share 0.5
    return AllocationProblem(demand, budget, family, upper=upper, **params)


def rebuild(module, prob):
    """``prob`` as the allocation package ``module`` (a baseline) builds it."""
    return module.AllocationProblem(
        prob.demand,
        prob.budget if prob.batched else float(prob.budget),
        prob.utility.name,
        lower=prob.lower,
        upper=prob.upper,
        weights=prob.weights,
        units=prob.units,
        **prob.utility.params(),
    )


def against_baselines(
    out: dict, key: str, current: Callable, make: Callable, baselines: dict, repeats: int
) -> None:
    """Time ``current()`` and, for every baseline package, ``make(package)()`` in turns;
    ``out[key]`` is the current median, ``out["baselines"][rev][key]`` the baseline's."""
    engines = {"current": current} | {rev: make(mod) for rev, mod in baselines.items()}
    timed = paired_times(engines, repeats)
    out[key] = timed["current"]["t_s"]
    for rev in baselines:
        out.setdefault("baselines", {}).setdefault(rev, {})[key] = timed[rev]


def speed_10k(family: str, repeats: int, baselines: dict) -> dict:
    """Ours vs cvxpy on one N = 10,000 problem (cvxpy: end to end and solver-only)."""
    import cvxpy as cp

    prob = big_problem(family, 10_000, np.random.default_rng(10))
    out: dict = {}

    def make(mod):
        return lambda p=rebuild(mod, prob): mod.solve(p)

    against_baselines(out, "t_ours_s", lambda: solve(prob), make, baselines, repeats * 10)
    cvx_times, solver_times = [], []
    for _ in range(repeats):
        cvx, w = cvxpy_problem(prob)  # built afresh: compile time is part of using cvxpy
        t0 = time.perf_counter()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cvx.solve(solver=cp.CLARABEL)
        cvx_times.append(time.perf_counter() - t0)
        solver_times.append(cvx.solver_stats.solve_time)
    gap = (float(prob.gain(w.value)) - float(prob.gain(solve(prob).w))) / abs(
        float(prob.gain(w.value))
    )
    cvx_t, solver_t = float(np.median(cvx_times)), float(np.median(solver_times))
    return out | {
        "t_cvxpy_s": cvx_t,
        "t_clarabel_solve_s": solver_t,
        "speedup": cvx_t / out["t_ours_s"],
        "speedup_vs_solver_only": solver_t / out["t_ours_s"],
        "rel_gap_default_tolerances": gap,
    }


def speed_large(family: str, repeats: int, baselines: dict) -> dict:
    """N = 1e6 (shares and, for the smooth families, 250,000 whole units) and the batch."""
    import torch

    from cityfocus.allocate.torch_layer import solve_torch

    torch.set_num_threads(1)
    rng = np.random.default_rng(11)
    out: dict = {}

    def make_solve(prob):
        return lambda mod: lambda p=rebuild(mod, prob): mod.solve(p)

    prob = big_problem(family, 1_000_000, rng)
    against_baselines(out, "t_1m_s", lambda: solve(prob), make_solve(prob), baselines, repeats)
    if family != "delay":
        units = AllocationProblem(prob.demand, 250_000, prob.utility, upper=prob.upper, units=True)
        against_baselines(
            out, "t_1m_units_s", lambda: solve(units), make_solve(units), baselines, repeats
        )
    batch = big_problem(family, 1_000, rng, rows=1_024)
    against_baselines(
        out, "t_batch_1024x1000_s", lambda: solve(batch), make_solve(batch), baselines, repeats
    )
    d = torch.as_tensor(batch.demand)
    budget, upper = float(batch.budget[0]), float(batch.upper.flat[0])

    def make_torch(mod):
        other = importlib.import_module(mod.__name__ + ".torch_layer").solve_torch
        util = mod.make_utility(family, **batch.utility.params())
        return lambda: other(d, budget, util, upper=upper, check=False)

    against_baselines(
        out,
        "t_batch_torch_1024x1000_s",
        lambda: solve_torch(d, budget, batch.utility, upper=upper, check=False),
        make_torch,
        baselines,
        repeats,
    )
    return out


def primitives(repeats: int) -> dict:
    """Median seconds of the array operations the solvers are made of, in this run: the
    floors of docs/allocation.md are counted in these units."""
    rng = np.random.default_rng(3)
    out = {}
    for label, shape in (("10k", (10_000,)), ("1m", (1_000_000,)), ("batch", (1_024, 1_000))):
        x, y = rng.random(shape), rng.random(shape)
        buf, mask = np.empty(shape), np.empty(shape, dtype=bool)

        def newton_pass(x=x, y=y, buf=buf, mask=mask):
            # one pass of the price search as the solvers write it (price_search.level_dense
            # for one row, _budget_sum for a batch): shares at a level, their sum and slope
            np.multiply(y, 0.5, out=buf)
            buf += x
            np.greater(buf, 0.7, out=mask)
            if y.ndim == 2:
                np.einsum("ij,ij->i", y, mask)
            else:  # as level_dense: einsum on long rows, @ on short ones
                _ = np.einsum("i,i->", y, mask) if y.size >= 1 << 16 else y @ mask
            np.maximum(buf, 0.7, out=buf)
            buf.sum(axis=-1)

        reps = repeats * (40 if label == "10k" else 1)
        for name, fn in (
            ("exp", lambda x=x: np.exp(x)),
            ("log", lambda x=x: np.log(x)),
            ("multiply", lambda x=x, y=y: x * y),
            ("newton_pass", newton_pass),
        ):
            out[f"{name}_{label}_s"] = paired_times({"current": fn}, reps)["current"]["t_s"]
    x = rng.random(1_000_000)
    out["argpartition_1m_s"] = paired_times(
        {"current": lambda: np.argpartition(x, 250_000)}, repeats
    )["current"]["t_s"]
    out["argsort_1000x1000_s"] = paired_times(
        {"current": lambda: np.argsort(x.reshape(1_000, 1_000), axis=1)}, repeats
    )["current"]["t_s"]
    tiny = big_problem("coverage", 10, rng)
    out["solve_10_zones_s"] = paired_times({"current": lambda: solve(tiny)}, repeats * 200)[
        "current"
    ]["t_s"]
    return out


def machine() -> dict:
    import clarabel
    import cvxpy
    import torch

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else platform.processor()
    )
    return {
        "cpu": cpu,
        "cores_available": len(os.sched_getaffinity(0)),
        "load_average_1m_at_start": os.getloadavg()[0],
        "python": platform.python_version(),
        "numpy": np.__version__,
        "torch": torch.__version__,
        "cvxpy": cvxpy.__version__,
        "clarabel": clarabel.__version__,
    }


SPEED_KEYS = (
    ("speed_10k", "t_ours_s"),
    ("speed_10k", "speedup"),
    ("large", "t_1m_s"),
    ("large", "t_1m_units_s"),
    ("large", "t_batch_1024x1000_s"),
    ("large", "t_batch_torch_1024x1000_s"),
)


def before_after(before: dict, families: dict) -> dict:
    """Per family and measure: the earlier run's figure, this run's, and their ratio."""
    out: dict = {"date": before.get("date"), "machine": before.get("machine"), "families": {}}
    for name, fam in families.items():
        old = before.get("families", {}).get(name)
        if not old:
            continue
        rows = {}
        for part, key in SPEED_KEYS:
            if key in old.get(part, {}) and key in fam[part]:
                was, now = old[part][key], fam[part][key]
                rows[key] = {"before": was, "after": now, "ratio_before_over_after": was / now}
        out["families"][name] = rows
    return out


def write_results(report: dict, command: str) -> None:
    """Replace (or append) this benchmark's section of ``RESULTS.md``."""
    fam = report["families"]
    lines = [
        START,
        "## Allocation engine (`cityfocus.allocate`)",
        "",
        f"Command: `{command}`  ",
        f"Run: {report['date']}, {report['machine']['cpu']}, one thread, load average "
        f"{report['machine']['load_average_1m_at_start']:.2f} at start, "
        f"{report['load_average_1m_at_end']:.2f} at end; numpy "
        f"{report['machine']['numpy']}, torch {report['machine']['torch']}, cvxpy "
        f"{report['machine']['cvxpy']}, Clarabel {report['machine']['clarabel']}.  ",
        f"Commit: {report['commit']}"
        + (" with uncommitted allocation changes" if report["uncommitted_changes"] else "")
        + f"; timings are medians of {report['repeats']} repeats (x10 at 10k zones).",
        "",
        f"Exactness: {report['instances_per_family']} random instances per family "
        "(`reference.random_problem`, N in 2..300, seed "
        f"{report['seed']}) vs cvxpy + Clarabel at 1e-12 tolerances. Gap = (F_cvxpy - F_ours)"
        " / max(|F|) on the gain scale, positive = cvxpy better. Clarabel's raw point may "
        "break a bound or the budget (column 'max cvxpy violation', relative), which can "
        "make it look better than any feasible point; the headline gap projects it onto the "
        "feasible set first (Euclidean projection), then compares.",
        "",
        "| family | max gap (feasible cvxpy point) | ours better by (max) | worse by >1e-9 "
        "| max gap (raw cvxpy point) | raw gaps >1e-7 | max cvxpy violation "
        "| Clarabel not 'optimal' |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, r in fam.items():
        e = r["exactness"]
        lines.append(
            f"| {name} | {e['max_rel_gap']:.1e} | {e['ours_better_by_max']:.1e} | "
            f"{e['worse_than_feasible_cvxpy_1e-9']} | {e['max_rel_gap_raw_cvxpy_point']:.1e} | "
            f"{e['instances_raw_gap_over_1e-7']} | {e['max_cvxpy_constraint_violation']:.1e} | "
            f"{e['cvxpy_inaccurate']} |"
        )
    lines += [
        "",
        "Speed (median seconds; N = 10k vs cvxpy end to end incl. compilation, and vs "
        "Clarabel's solve time alone; 1M zones: shares, and 250,000 whole units):",
        "",
        "| family | ours 10k | cvxpy 10k | speedup | vs Clarabel solve only | 1M shares "
        "| 1M units | batch 1024x1000 numpy | batch torch |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in fam.items():
        s, big = r["speed_10k"], r["large"]
        units = f"{big['t_1m_units_s']:.3f}" if "t_1m_units_s" in big else "-"
        lines.append(
            f"| {name} | {s['t_ours_s'] * 1e3:.2f} ms | {s['t_cvxpy_s']:.2f} s | "
            f"{s['speedup']:.0f}x | {s['speedup_vs_solver_only']:.0f}x | "
            f"{big['t_1m_s']:.3f} | {units} | {big['t_batch_1024x1000_s']:.3f} | "
            f"{big['t_batch_torch_1024x1000_s']:.3f} |"
        )
    if report["baselines"]:
        lines += [
            "",
            "Same run, against earlier versions of the package (`--baseline`; each repeat "
            "alternates them with the current code): baseline time / current time, median "
            "of the paired ratios (> 1: faster now), with the baseline's median time.",
            "",
            "| family | baseline | 10k | 1M shares | 1M units | batch numpy | batch torch |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, r in fam.items():
            for rev, about in report["baselines"].items():
                cells = []
                for part, key in SPEED_KEYS:
                    got = r[part].get("baselines", {}).get(rev, {}).get(key)
                    cells.append(
                        f"{got['ratio_over_current']:.2f}x ({got['t_s'] * 1e3:.2f} ms)"
                        if got
                        else "-"
                    )
                cells = [cells[0], *cells[2:]]  # the 10k speedup vs cvxpy has no baseline
                lines.append(f"| {name} | {rev} ({about[:10]}) | " + " | ".join(cells) + " |")
    if "before" in report:
        was = report["before"]["machine"] or {}
        lines += [
            "",
            f"Before / after (before: run of {report['before']['date']} on "
            f"{was.get('cpu', '?')}, load average {was.get('load_average_1m_at_start', 0):.2f}"
            ", same command; across runs and machines, so read the same-run table above for "
            "ratios; ratio = before / after, > 1 is faster now; 10k speedup is vs cvxpy):",
            "",
            "| family | 10k | 10k speedup vs cvxpy | 1M shares | 1M units | batch numpy "
            "| batch torch |",
            "|---|---|---|---|---|---|---|",
        ]
        for name, rows in report["before"]["families"].items():

            def cell(key: str, unit: str = "s", rows: dict = rows) -> str:
                if key not in rows:
                    return "-"
                r = rows[key]
                if unit == "x":
                    return f"{r['before']:.0f}x -> {r['after']:.0f}x"
                scale, label = (1e3, "ms")
                return f"{r['before'] * scale:.2f} -> {r['after'] * scale:.2f} {label}"

            lines.append(
                f"| {name} | {cell('t_ours_s')} | {cell('speedup', 'x')} | {cell('t_1m_s')} | "
                f"{cell('t_1m_units_s')} | {cell('t_batch_1024x1000_s')} | "
                f"{cell('t_batch_torch_1024x1000_s')} |"
            )
    prims = report.get("primitives", {})
    if prims:
        lines += [
            "",
            "Primitives in this run (median; the units of the floors in docs/allocation.md): "
            + ", ".join(
                f"{key[:-2].replace('_', ' ')} {value * 1e3:.3f} ms" for key, value in prims.items()
            )
            + ".",
        ]
    head = {k: v for k, v in report.items() if not isinstance(v, dict)}
    lines += ["", "Headline (worst family): `" + json.dumps(head) + "`", END]
    section = "\n".join(lines)
    text = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    if START in text and END in text:
        before, rest = text.split(START, 1)
        text = before + section + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    RESULTS.write_text(text)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write the JSON report here too")
    parser.add_argument("--instances", type=int, default=200, help="per family (default 200)")
    parser.add_argument("--repeats", type=int, default=5, help="timing repeats (default 5)")
    parser.add_argument(
        "--before", type=Path, help="an earlier run's JSON to compare speeds with (before/after)"
    )
    parser.add_argument(
        "--baseline",
        action="append",
        default=[],
        metavar="REV",
        help="a git revision whose allocation package is timed beside this one (repeatable)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--families", default=",".join(FAMILIES))
    parser.add_argument("--no-results", action="store_true", help="do not touch RESULTS.md")
    args = parser.parse_args(argv)
    load_at_start = os.getloadavg()[0]
    baselines = {
        git("rev-parse", "--short=10", rev).strip(): load_baseline(rev) for rev in args.baseline
    }
    families = {}
    for name in args.families.split(","):
        print(f"[{name}] exactness ...", file=sys.stderr, flush=True)
        families[name] = {"exactness": exactness(name, args.instances, args.seed)}
        print(f"[{name}] speed ...", file=sys.stderr, flush=True)
        families[name]["speed_10k"] = speed_10k(name, args.repeats, baselines)
        families[name]["large"] = speed_large(name, args.repeats, baselines)
    print("[primitives] ...", file=sys.stderr, flush=True)
    prims = primitives(args.repeats)
    report = {
        "speedup_vs_cvxpy_10k": min(f["speed_10k"]["speedup"] for f in families.values()),
        "speedup_vs_clarabel_solve_only_10k": min(
            f["speed_10k"]["speedup_vs_solver_only"] for f in families.values()
        ),
        "max_rel_gap": max(f["exactness"]["max_rel_gap"] for f in families.values()),
        "max_rel_gap_raw_cvxpy_point": max(
            f["exactness"]["max_rel_gap_raw_cvxpy_point"] for f in families.values()
        ),
        "t_1m_s": max(f["large"]["t_1m_s"] for f in families.values()),
        "t_1m_units_s": max(f["large"].get("t_1m_units_s", 0.0) for f in families.values()),
        "t_batch_1024x1000_s": max(f["large"]["t_batch_1024x1000_s"] for f in families.values()),
        "t_batch_torch_1024x1000_s": max(
            f["large"]["t_batch_torch_1024x1000_s"] for f in families.values()
        ),
        "commit": git("rev-parse", "--short=10", "HEAD").strip(),
        "uncommitted_changes": bool(
            git("status", "--porcelain", "--", PACKAGE, "benchmarks/allocation.py").strip()
        ),
        "baselines": {
            rev: git("log", "-1", "--format=%cd %s", "--date=short", rev).strip()[:100]
            for rev in baselines
        },
        "repeats": args.repeats,
        "primitives": prims,
        "instances_per_family": args.instances,
        "seed": args.seed,
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "machine": {**machine(), "load_average_1m_at_start": load_at_start},
        "threads": 1,
        "load_average_1m_at_end": os.getloadavg()[0],
        "families": families,
    }
    if args.before:
        report["before"] = before_after(json.loads(args.before.read_text()), families)
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")
    if not args.no_results:
        command = "python benchmarks/allocation.py " + " ".join(
            sys.argv[1:] if argv is None else argv
        )
        write_results(report, command.strip())
    return report


if __name__ == "__main__":
    main()

"""Does decide beat forecast, or does it only train longer? The equal-time control.

    .venv/bin/python benchmarks/decide_time_control.py \
        --json benchmarks/results/decide_time_control.json

A ``decide`` fit is the ``forecast`` fit (same seed, same time limit) followed by a regret
fine-tuning phase with the same time limit, so when the forecast fit stops on its time limit
while still improving, decide's lower regret may come from training time, not from the
regret. This script refits each model in ``forecast`` mode with ``--factor`` times the
decision benchmark's time limit (the cosine schedule is set by epochs, so its first epochs
are the plain forecast fit's) and compares the decide row recorded in the decision
benchmark's JSON against it, decision by decision, with the same paired bootstrap interval.
The models run side by side, one process and one torch thread each, as in the benchmark
runs. Writes JSON and the ``decide_time_control:DATASET`` section of ``benchmarks/RESULTS.md``.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
from datetime import UTC, datetime
from pathlib import Path

from cityfocus.openmp import prefer_passive_wait

prefer_passive_wait()  # before anything loads torch's OpenMP (see cityfocus.openmp)

from cityfocus.data.cards import built_in_cards, load_card
from cityfocus.evaluate.bootstrap import ratio_interval
from cityfocus.evaluate.manifest import git_commit
from cityfocus.learn.policies import forecast_demand
from cityfocus.outputs import atomic_file
from cityfocus_bench.decide import (
    MIX,
    _score,
    _scoring,
    decision_protocol,
)
from cityfocus_bench.forecast import DEFAULT_SEED, fit_model
from cityfocus_bench.markdown import markdown_table, write_section
from cityfocus_bench.protocols import load_benchmark_data


def refit(dataset: str, model: str, factor: float) -> dict:
    """Forecast-mode fit of ``model`` with ``factor`` times the benchmark's time limit."""
    import torch

    torch.set_num_threads(1)
    protocol = decision_protocol(dataset)
    data, rate = load_benchmark_data(protocol.forecast, False)
    split = protocol.forecast.split(data)
    scoring = _scoring(protocol, split, rate)
    params = dict(protocol.forecast.models[model])
    params["max_minutes"] *= factor
    params |= {"mode": "forecast", "task": protocol.task.to_config(), "mix": MIX}
    fitted, seconds = fit_model(model, protocol.forecast.lookback, protocol.horizon, split,
                                params, DEFAULT_SEED, False)
    demand = forecast_demand(fitted, scoring.windows)
    row = _score(model, "model", "forecast", protocol.task, scoring,
                 protocol.task.decide(demand), demand)
    result = fitted.train_result_
    return row | {"fit_seconds": seconds, "max_minutes": params["max_minutes"],
                  "epochs": len([h for h in result.history if h["epoch"] >= 1]),
                  "best_epoch": result.best_epoch, "stopped": result.stopped}


def compare(recorded: dict, longer: dict, block: int) -> dict:
    """Decide against the plain and the longer forecast fit, per model."""
    rows = {(r["name"], r["mode"]): r for r in recorded["targets"][0]["rows"]}
    model = longer["name"]
    decide, forecast = rows[model, "decide"], rows[model, "forecast"]
    out = {"model": model}
    for key, rival in (("forecast", forecast), ("forecast_longer", longer)):
        ratio = (decide["metrics"]["normalized_regret"]
                 / rival["metrics"]["normalized_regret"])
        out[key] = {"normalized_regret": rival["metrics"]["normalized_regret"],
                    "decide_ratio": ratio,
                    "interval": ratio_interval(decide["per_decision"]["regret"],
                                               rival["per_decision"]["regret"], block)}
    out["decide"] = {"normalized_regret": decide["metrics"]["normalized_regret"],
                     "epochs": f"{decide['pretrain']['epochs']} + {decide['epochs']}",
                     "fit_seconds": decide["fit_seconds"]}
    out["forecast"]["epochs"], out["forecast"]["fit_seconds"] = (forecast["epochs"],
                                                                 forecast["fit_seconds"])
    out["forecast_longer"] |= {"epochs": longer["epochs"], "fit_seconds": longer["fit_seconds"],
                               "stopped": longer["stopped"], "best_epoch": longer["best_epoch"]}
    return out


def markdown(result: dict) -> str:
    lines = [f"### Decide vs forecast at equal training time: {result['dataset']}", "",
             f"Command: `{result['command']}`", "",
             f"Decide rows from `{result['decide_json']}` (run at commit "
             f"{result['decide_commit']}); the forecast fits refitted with {result['factor']:g}× "
             f"the benchmark's time limit at commit {result['git_commit']}, "
             f"{result['created']}. Ratio = decide's normalized regret / the forecast row's, "
             "with the decision benchmark's paired block-bootstrap 95% interval.", ""]
    rows = []
    for c in result["comparisons"]:
        for key, label in (("forecast", "forecast (benchmark time)"),
                           ("forecast_longer", f"forecast ({result['factor']:g}× time)")):
            f = c[key]
            low, high = f["interval"] or (float("nan"), float("nan"))
            rows.append([c["model"], label, f"{f['epochs']}", f"{f['fit_seconds']:.0f}",
                         f"{f['normalized_regret']:.4f}", f"{c['decide']['normalized_regret']:.4f}",
                         f"×{f['decide_ratio']:.3f}", f"[{low:.3f}, {high:.3f}]"])
    lines += markdown_table(["model", "forecast row", "epochs", "fit s", "forecast",
                             "decide", "decide / forecast", "95% interval"], rows)
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    single = [name for name in built_in_cards()
              if (d := load_card(name).decision) is not None and not d.targets]
    parser.add_argument("--data", default="beijing_air_prsa", choices=single,
                        help="a decision benchmark with one scored target")
    parser.add_argument("--models", default="lstm,st_transformer")
    parser.add_argument("--factor", type=float, default=2.0)
    parser.add_argument("--decide-json", default=None,
                        help="decision benchmark JSON (default: "
                        "benchmarks/results/decide_DATA.json)")
    parser.add_argument("--json", required=True)
    parser.add_argument("--results", default="benchmarks/RESULTS.md")
    args = parser.parse_args()
    decide_json = args.decide_json or f"benchmarks/results/decide_{args.data}.json"
    recorded = json.loads(Path(decide_json).read_text())
    models = args.models.split(",")
    with multiprocessing.get_context("spawn").Pool(len(models)) as pool:
        refits = pool.starmap(refit, [(args.data, m, args.factor) for m in models])
    block = decision_protocol(args.data).spec.block
    command = " ".join([".venv/bin/python benchmarks/decide_time_control.py", "--json", args.json,
                        *([] if args.data == "beijing_air_prsa" else ["--data", args.data]),
                        *([] if args.factor == 2.0 else ["--factor", f"{args.factor:g}"])])
    result = {"dataset": args.data, "factor": args.factor, "command": command,
              "decide_json": decide_json,
              "decide_commit": recorded["environment"].get("git_commit"),
              "git_commit": git_commit(),
              "created": datetime.now(UTC).isoformat(timespec="seconds"),
              "comparisons": [compare(recorded, r, block) for r in refits],
              "refits": refits}
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    atomic_file(args.json).write(json.dumps(result, indent=1))
    text = markdown(result)
    write_section(args.results, f"decide_time_control:{args.data}", text)
    print(json.dumps(result["comparisons"], indent=1))
    print(text)


if __name__ == "__main__":
    main()

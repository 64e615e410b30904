"""``cityfocus benchmark robust``: forecasts with broken sensors and under attack.

On a dataset's forecast protocol (its split, lookback and first horizon): persistence (the
last observed reading), the historical average, and the st_transformer trained three ways —
standard, with random masking of its inputs (the rate chosen on validation among
``DROPOUT_RATES``), and with FGSM adversarial training (bound ``epsilon`` in the target's
units), all with the card's settings (``epochs`` may lower the epoch count for all three
alike). Bounded by epochs and early stopping (no wall-time cap), so a figure does not move
with machine load.

Faults (``cityfocus.data.faults``) are injected into the test part's inputs only, seeded;
every forecast is scored against the clean truth:

- missing readings at 10, 30 and 50 %; outages of 10 % of the sensors (2-12 h blocks; the
  dark sensors' RMSE is reported apart); stuck sensors (10 %); spikes (1 % of readings x5);
- stuck and spiking readings again after ``SensorCheck`` (fitted on the training part) has
  masked what it flags, with its precision, recall and F1 against the injected faults;
- PGD (``cityfocus.robust.attack``, 10 steps) within ``epsilon`` per reading against the
  forecast error, and, when the dataset's card has a decision task, against the decision
  (regret of the exact allocation).
"""

from __future__ import annotations

import os
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.faults import SensorCheck, detection_scores, inject
from cityfocus.data.split import Split
from cityfocus.data.windows import Windows
from cityfocus.evaluate.manifest import git_commit
from cityfocus_bench.protocols import forecast_protocol, load_benchmark_data

MISSING_RATES = (0.1, 0.3, 0.5)
DROPOUT_RATES = (0.2, 0.4)  # candidates, chosen on validation
FAULTS = (("outage", 0.1), ("stuck", 0.1), ("spike", 0.01))
SEED = 0


@dataclass(frozen=True)
class Step:
    """One unit of work, for progress reports."""

    what: str

    def describe(self) -> str:
        return self.what


def rmse(pred: np.ndarray, y: np.ndarray, mask: np.ndarray) -> float:
    return float(np.sqrt((((pred - y) ** 2) * mask).sum() / max(float(mask.sum()), 1.0)))


def _fit_record(model: Any, seconds: float) -> dict[str, Any]:
    result = getattr(model, "train_result_", None)
    if result is None:
        return {"fit_seconds": seconds}
    epochs = sum(1 for h in result.history if h.get("epoch", 0) > 0)
    return {"fit_seconds": seconds, "epochs": epochs, "best_epoch": result.best_epoch,
            "stopped": result.stopped}


def run_robust_benchmark(dataset: str, *, epsilon: float, quick: bool = False,
                         epochs: int | None = None, command: str | None = None,
                         progress: Callable[[Step], None] | None = None) -> dict[str, Any]:
    """Every figure of the module docstring for ``dataset``; a JSON-ready dict."""
    import torch

    from cityfocus.learn.registry import make_forecaster
    from cityfocus.models.baselines import HistoricalAverage, Persistence

    started = time.perf_counter()
    commit = git_commit()  # the code that runs, not what the tree holds when it ends
    report = progress or (lambda step: None)
    protocol = forecast_protocol(dataset)
    data, _ = load_benchmark_data(protocol, quick)
    split = protocol.split(data)
    lookback, horizon = protocol.lookback, protocol.horizons[0]
    params = {k: v for k, v in protocol.models.get("st_transformer", {}).items()
              if k != "max_minutes"}
    params.update({"progress": False, "device": "cpu", "seed": SEED})
    if epochs is not None:
        params["epochs"] = epochs
    if quick:
        params["epochs"] = min(int(params.get("epochs", 2)), 2)

    def fit(**options: Any) -> tuple[Any, dict[str, Any]]:
        began = time.perf_counter()
        model = make_forecaster("st_transformer", lookback, horizon, **params, **options)
        model.fit(split.train, split.val)
        return model, _fit_record(model, time.perf_counter() - began)

    models: dict[str, Any] = {}
    fits: dict[str, dict[str, Any]] = {}
    report(Step("fit persistence and historical average"))
    models["persistence"] = Persistence(horizon).fit(split.train, split.val)
    models["historical_average"] = HistoricalAverage(horizon).fit(split.train, split.val)
    report(Step("fit st_transformer"))
    models["st_transformer"], fits["st_transformer"] = fit()
    chosen_rate, dropout_scores = None, {}
    for rate in DROPOUT_RATES:
        report(Step(f"fit st_transformer with inputs masked at {rate:.0%}"))
        model, record = fit(input_dropout=rate)
        score = _validation_rmse(model, split, lookback, horizon, missing=0.3)
        dropout_scores[str(rate)] = {"validation_rmse_30pct_missing": score, **record}
        if chosen_rate is None or score < dropout_scores[str(chosen_rate)][
                "validation_rmse_30pct_missing"]:
            chosen_rate, models["st_transformer (masked inputs)"] = rate, model
            fits["st_transformer (masked inputs)"] = record
    report(Step(f"fit st_transformer with adversarial training (+-{epsilon:g})"))
    models["st_transformer (adversarial)"], fits["st_transformer (adversarial)"] = fit(
        adversarial=epsilon)

    test_windows = Windows(data, lookback, horizon, target_start=split.test_start)
    truth = test_windows.batch()

    def score_all(faulted: CityData, zones: np.ndarray | None = None) -> dict[str, float]:
        windows = Windows(faulted, lookback, horizon, target_start=split.test_start)
        out = {}
        for name, model in models.items():
            pred = np.asarray(model.predict_windows(windows), dtype=np.float64)
            y, m = truth.y, truth.y_mask
            if zones is not None:
                pred, y, m = pred[..., zones], y[..., zones], m[..., zones]
            out[name] = rmse(pred, y, m)
        return out

    report(Step("score clean and faulted test inputs"))
    k = data.target_index
    scores: dict[str, Any] = {"clean": score_all(data)}
    for rate in MISSING_RATES:
        faulted, _ = inject(data, "missing", rate, seed=SEED, start=split.test_start)
        scores[f"missing {rate:.0%}"] = score_all(faulted)
    check = fit_check(data, split)
    detection = {}
    for kind, rate in FAULTS:
        faulted, faults = inject(data, kind, rate, seed=SEED, start=split.test_start)
        label = f"{kind} {rate:.0%}"
        scores[label] = score_all(faulted)
        if kind == "outage":
            scores[f"{label}: dark sensors only"] = score_all(faulted, faults.dark_zones)
            continue
        flagged, detection[label] = _detect(check, faulted, faults, split.test_start)
        mask = faulted.mask.copy()
        mask[:, :, k] &= ~flagged
        scores[f"{label}, flagged readings masked"] = score_all(faulted.replace(mask=mask))

    report(Step(f"attack the st_transformers (PGD, +-{epsilon:g})"))
    attacks = _attacks(models, protocol.card, test_windows, truth, epsilon)
    return {
        "dataset": dataset, "quick": quick, "command": command,
        "params": params,
        "protocol": {"lookback": lookback, "horizon": horizon,
                     "split_rule": protocol.split_rule, "target": data.target,
                     "units": protocol.units, "epsilon": epsilon, "seed": SEED},
        "fits": fits, "input_dropout": {"chosen": chosen_rate, "candidates": dropout_scores},
        "rmse": scores, "detection": detection,
        "check": _check_record(check, _target_flags(check, data), split),
        "attacks": attacks,
        "environment": {"python": platform.python_version(), "torch": torch.__version__,
                        "threads": torch.get_num_threads(), "git_commit": commit,
                        "load_average": list(os.getloadavg()),
                        "created": datetime.now(UTC).isoformat(timespec="seconds")},
        "seconds": time.perf_counter() - started,
    }


def fit_check(data: CityData, split: Split) -> SensorCheck:
    """The service's sensor check with its defaults, fitted on the training part's target."""
    k = data.target_index
    return SensorCheck().fit(data.values[:split.val_start, :, k],
                             data.mask[:split.val_start, :, k])


def _detect(check: SensorCheck, faulted: CityData, faults: Any,
            start: int) -> tuple[np.ndarray, dict[str, float]]:
    """What ``check`` flags in ``faulted``'s target, and its scores on the steps from
    ``start`` on against the injected faults."""
    k = faulted.target_index
    found = check.flags(faulted.values[:, :, k], faulted.mask[:, :, k])
    flagged = found["stuck"] | found["spike"]
    part = slice(start, None)
    return flagged, detection_scores(flagged[part], faults.corrupted[part],
                                     faulted.mask[part, :, k])


def _target_flags(check: SensorCheck, data: CityData) -> dict[str, np.ndarray]:
    """What ``check`` flags in ``data``'s target (``{"stuck": [T, N], "spike": [T, N]}``)."""
    k = data.target_index
    return check.flags(data.values[:, :, k], data.mask[:, :, k])


def _check_record(check: SensorCheck, found: dict[str, np.ndarray],
                  split: Split) -> dict[str, Any]:
    """The check's settings and the share of the clean test readings it flags (``found``: its
    flags on the recorded data, no fault injected: readings the data's own sensors got
    wrong, or false alarms)."""
    k = split.data.target_index
    observed = split.data.mask[split.test_start:, :, k]
    return {"alpha": check.alpha, "min_run": check.min_run, "window": check.window,
            "z": check.z, "prior": check.prior, "fitted_on": [0, split.val_start],
            "clean_test_flagged": {
                kind: float(found[kind][split.test_start:][observed].mean())
                for kind in ("stuck", "spike")}}


def run_detection_benchmark(dataset: str, *, quick: bool = False, seeds: int = 5,
                            command: str | None = None) -> dict[str, Any]:
    """The sensor check alone (no model is trained): its scores against stuck sensors and
    spikes injected into the test part with seeds ``0 .. seeds - 1`` (seed 0 is the full
    benchmark's), and their mean."""
    started = time.perf_counter()
    commit = git_commit()
    protocol = forecast_protocol(dataset)
    data, _ = load_benchmark_data(protocol, quick)
    split = protocol.split(data)
    check = fit_check(data, split)
    k, start = data.target_index, split.test_start
    found = _target_flags(check, data)
    own = (found["stuck"] | found["spike"])[start:]  # flagged with no fault injected
    detection: dict[str, Any] = {}
    for kind, rate in FAULTS:
        if kind == "outage":
            continue
        runs, beyond = [], []
        for seed in range(seeds):
            faulted, faults = inject(data, kind, rate, seed=seed, start=start)
            flagged, scores = _detect(check, faulted, faults, start)
            runs.append(scores)
            beyond.append(detection_scores(flagged[start:][~own], faults.corrupted[start:][~own],
                                           faulted.mask[start:, :, k][~own]))
        detection[f"{kind} {rate:.0%}"] = {
            "seed 0": runs[0], "mean": _mean(runs), "seeds": runs,
            "mean, readings the check leaves alone without faults": _mean(beyond)}
    return {
        "dataset": dataset, "quick": quick, "command": command,
        "protocol": {"split_rule": protocol.split_rule, "target": data.target,
                     "units": protocol.units, "seeds": list(range(seeds))},
        "detection": detection, "check": _check_record(check, found, split),
        "environment": {"python": platform.python_version(), "git_commit": commit,
                        "created": datetime.now(UTC).isoformat(timespec="seconds")},
        "seconds": time.perf_counter() - started,
    }


def _mean(runs: list[dict[str, float]]) -> dict[str, float]:
    return {key: float(np.mean([r[key] for r in runs])) for key in runs[0]}


def detection_markdown(result: dict[str, Any]) -> str:
    c = result["check"]
    seeds = result["protocol"]["seeds"]
    lines = [f"### Robustness: sensor check on {result['dataset']}", "",
             f"Command: `{result['command']}`", "",
             f"The check with the service's defaults (alpha {c['alpha']:g}, min_run "
             f"{c['min_run']}, window {c['window']}, z {c['z']:g}, prior {c['prior']:g}; "
             f"chosen on the validation parts), fitted on the training part "
             f"(steps {c['fitted_on'][0]}-{c['fitted_on'][1]}), against faults injected into "
             f"the test part ({result['protocol']['split_rule']}) with seeds {seeds[0]}-"
             f"{seeds[-1]}. Run {result['environment']['created']} at commit "
             f"{result['environment']['git_commit']}, {result['seconds']:.0f} s. Without "
             f"injected faults it flags {100 * c['clean_test_flagged']['stuck']:.2f} % of the "
             f"clean test readings as stuck and {100 * c['clean_test_flagged']['spike']:.2f} % "
             f"as spikes.", "",
             "| faults | seeds | precision | recall | F1 | clean readings flagged |",
             "| --- | --- | ---: | ---: | ---: | ---: |"]
    for label, d in result["detection"].items():
        for which in ("seed 0", "mean"):
            s = d[which]
            lines.append(f"| {label} | {which} | {s['precision']:.3f} | {s['recall']:.3f} | "
                         f"{s['f1']:.3f} | {100 * s['clean_flagged']:.2f} % |")
    lines += ["", "The same (mean of the seeds), scored only on the readings the check does not "
              "flag in the recorded data, with no fault injected: what it flags there (above) "
              "is either the recorded data's own broken readings or false alarms, and counts "
              "against it in the table above whichever it is. The target is the table above.",
              "",
              "| faults | precision | recall | F1 | clean readings flagged |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for label, d in result["detection"].items():
        s = d["mean, readings the check leaves alone without faults"]
        lines.append(f"| {label} | {s['precision']:.3f} | {s['recall']:.3f} | {s['f1']:.3f} | "
                     f"{100 * s['clean_flagged']:.2f} % |")
    return "\n".join(lines)


def _validation_rmse(model: Any, split: Split, lookback: int, horizon: int,
                     missing: float) -> float:
    """RMSE on the validation windows with ``missing`` of their inputs dropped (seeded)."""
    data = split.data.slice_time(0, split.test_start)
    faulted, _ = inject(data, "missing", missing, seed=SEED + 1, start=split.val_start)
    windows = Windows(faulted, lookback, horizon, target_start=split.val_start)
    clean = Windows(data, lookback, horizon, target_start=split.val_start).batch()
    pred = np.asarray(model.predict_windows(windows), dtype=np.float64)
    return rmse(pred, clean.y, clean.y_mask)


def _attacks(models: dict[str, Any], card: Any, windows: Windows, truth: Any,
             epsilon: float) -> dict[str, Any]:
    from cityfocus.allocate.task import DecisionTask
    from cityfocus.evaluate.decisions import decision_metrics
    from cityfocus.robust.attack import pgd_forecasts

    task = None
    if card.decision is not None:
        task = DecisionTask.from_config({**dict(card.decision.task), "units": False})
    realized = np.clip((truth.y * truth.y_mask).sum(1), 0.0, None)
    out: dict[str, Any] = {"epsilon": epsilon, "decision_task": None if task is None else
                           task.to_config(), "models": {}}
    for name in ("st_transformer", "st_transformer (adversarial)"):
        model = models[name]
        clean = np.asarray(model.predict_windows(windows), dtype=np.float64)
        attacked = pgd_forecasts(model, windows, epsilon)
        row: dict[str, Any] = {"clean_rmse": rmse(clean, truth.y, truth.y_mask),
                               "attacked_rmse": rmse(attacked, truth.y, truth.y_mask)}
        if task is not None:
            def regret(pred: np.ndarray) -> float:
                w = task.decide(np.clip(pred, 0.0, None).sum(1))
                return float(decision_metrics(task, w, realized)["regret"])

            hit = pgd_forecasts(model, windows, epsilon, goal="decision", task=task)
            row.update({"clean_regret": regret(clean), "attacked_regret": regret(hit)})
        out["models"][name] = row
    return out


def robust_plot(result: dict[str, Any]) -> bytes:
    """PNG: test RMSE against the share of readings missing, one line per model."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from cityfocus.explain.png import png_bytes

    rates = [0.0, *MISSING_RATES]
    keys = ["clean", *(f"missing {r:.0%}" for r in MISSING_RATES)]
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    styles = ["-o", "-s", "-^", "-D", "-v"]
    colours = ["#000000", "#e69f00", "#0072b2", "#009e73", "#cc79a7"]
    for i, name in enumerate(result["rmse"]["clean"]):
        ax.plot([100 * r for r in rates], [result["rmse"][k][name] for k in keys],
                styles[i % len(styles)], color=colours[i % len(colours)], label=name)
    units = result["protocol"]["units"]
    ax.set_xlabel("test input readings missing at random (%)")
    ax.set_ylabel(f"test RMSE ({units})")
    ax.set_title(f"{result['dataset']}: error as sensors go missing")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return png_bytes(fig)


def robust_markdown(result: dict[str, Any], plot_name: str | None) -> str:
    p = result["protocol"]
    names = list(result["rmse"]["clean"])
    lines = [f"### Robustness: {result['dataset']}", "",
             f"Command: `{result['command']}`", "",
             f"Protocol: target `{p['target']}` ({p['units']}), lookback {p['lookback']}, "
             f"horizon {p['horizon']}; {p['split_rule']}; seed {p['seed']}. Faults injected "
             f"into the test part's inputs only (seeded), every forecast scored against the "
             f"clean truth. Run {result['environment']['created']} at commit "
             f"{result['environment']['git_commit']}, {result['environment']['threads']} "
             f"torch threads, {result['seconds'] / 60:.1f} min.", "",
             "| test inputs | " + " | ".join(names) + " |",
             "| --- | " + " | ".join("---:" for _ in names) + " |"]
    for label, row in result["rmse"].items():
        lines.append(f"| {label} | " + " | ".join(f"{row[n]:.4f}" for n in names) + " |")
    fits = result["fits"]
    lines += ["", "Fits (epochs run, best epoch, why it stopped): " + "; ".join(
        f"{n}: {f.get('epochs', '—')} (best {f.get('best_epoch', '—')}, {f.get('stopped', '—')})"
        for n, f in fits.items()) + f". Input masking rate chosen on validation (RMSE with "
        f"30 % of validation inputs missing): {result['input_dropout']['chosen']:.0%} of " +
        ", ".join(f"{float(r):.0%}: {c['validation_rmse_30pct_missing']:.4f}"
                  for r, c in result["input_dropout"]["candidates"].items()) + "."]
    if plot_name:
        lines += ["", f"![RMSE against missing readings]({plot_name})"]
    if result["detection"]:
        lines += ["", "Sensor check (fitted on the training part) against the injected faults:",
                  "", "| faults | precision | recall | F1 | clean readings flagged |",
                  "| --- | ---: | ---: | ---: | ---: |"]
        for label, d in result["detection"].items():
            lines.append(f"| {label} | {d['precision']:.3f} | {d['recall']:.3f} | {d['f1']:.3f} "
                         f"| {100 * d['clean_flagged']:.2f} % |")
    a = result["attacks"]
    lines += ["", f"PGD within ±{a['epsilon']:g} {p['units']} per input reading (10 steps):",
              "", "| model | clean RMSE | attacked RMSE | clean regret | attacked regret |",
              "| --- | ---: | ---: | ---: | ---: |"]
    for name, row in a["models"].items():
        lines.append(f"| {name} | {row['clean_rmse']:.4f} | {row['attacked_rmse']:.4f} | "
                     f"{row.get('clean_regret', float('nan')):.4f} | "
                     f"{row.get('attacked_regret', float('nan')):.4f} |")
    if a["decision_task"] is None:
        lines += ["", "No decision attack: this dataset's card has no decision task."]
    return "\n".join(lines)

"""Decision benchmark results as Markdown, for the ``decide:DATASET`` section of RESULTS.md.

Tables and the section writer are the forecast benchmark's (``markdown``); this
module only lays out the decision columns and the lines on the dataset's aims. The verdicts and
their bootstrap intervals are the result's own (``checks``, computed once when it ran).
"""

from __future__ import annotations

from typing import Any

from cityfocus.evaluate.bootstrap import LEVEL, RESAMPLES
from cityfocus.evaluate.manifest import at_commit
from cityfocus_bench.aims import check_targets, epoch_seconds
from cityfocus_bench.markdown import fmt, markdown_table, span

_COLUMNS = ("realized_objective", "oracle_objective", "regret", "normalized_regret",
            "hit_rate", "pai", "pei", "precision", "recall", "f1", "auc")
_INCIDENTS_ONLY = ("hit_rate", "pai", "pei")
_LABELS = {"realized_objective": "realized obj", "oracle_objective": "oracle obj",
           "regret": "regret", "normalized_regret": "norm. regret", "hit_rate": "hit rate",
           "pai": "PAI", "pei": "PEI",
           "precision": "P", "recall": "R", "f1": "F1", "auc": "AUC"}


def _label(row: dict[str, Any]) -> str:
    return row["name"] if row["mode"] is None else f"{row['name']} ({row['mode']})"


def _epochs(row: dict[str, Any]) -> str:
    if not row.get("epochs"):
        return "—"
    stopped = {"early stopping": "", "epochs": "", "time limit": ", time limit"}
    pre = row.get("pretrain")
    first = f"{pre['epochs']} + " if pre else ""
    return (f"{first}{row['epochs']} (best {row['best_epoch']}"
            f"{stopped.get(row['stopped'], '')})")


def decision_table(rows: list[dict[str, Any]], incidents: bool,
                   metrics_key: str = "metrics") -> list[str]:
    """One line per row: forecast RMSE, decision metrics, fit cost."""
    columns = [c for c in _COLUMNS if incidents or c not in _INCIDENTS_ONLY]
    header = ["row", "RMSE", *(_LABELS[c] for c in columns), "fit s", "s/epoch", "epochs"]
    lines = []
    for row in rows:
        metrics = row[metrics_key]
        lines.append([_label(row), fmt(row.get("rmse")), *(fmt(metrics.get(c)) for c in columns),
                      fmt(row.get("fit_seconds"), 1), fmt(row.get("seconds_per_epoch"), 2),
                      _epochs(row)])
    return markdown_table(header, lines)


def _police_lines(checks: list[dict[str, Any]]) -> list[str]:
    """PAI and PEI of each target's best-hit-rate row beside the rule's, with the ratio's
    paired interval (incident data only)."""
    cases = [c for check in checks if check["key"] == "hit_rate" for c in check["cases"]
             if "pai" in c]
    if not cases:
        return []
    lines = ["Police hotspot measures of each target's best-hit-rate row against the "
             f"historical-average rule (ratio with its {LEVEL:.0%} paired interval):", ""]
    for c in cases:
        parts = []
        for name, label in (("pai", "PAI"), ("pei", "PEI")):
            value, base = c.get(name), c.get(f"rule_{name}")
            if value is None or base is None:
                continue
            ratio = f"×{value / base:.3f}" if base else "—"
            parts.append(f"{label} {value:.3f} vs {base:.3f} ({ratio}"
                         f"{_bracket(c.get(f'{name}_interval'))})")
        lines.append(f"- {c['target']}, {c['best']}: " + "; ".join(parts))
    return lines + [""]


def _target_lines(checks: list[dict[str, Any]]) -> list[str]:
    lines = ["Aims from the dataset card, computed from the numbers above (judged on the point "
             "figures; "
             f"[a, b] is the {LEVEL:.0%} interval of a ratio, as above):", ""]
    for check in checks:
        if check["met"] is None:
            verdict = "not judged (rows not run)"
        else:
            held = sum(c["ok"] for c in check["cases"])
            verdict = f"{'met' if check['met'] else 'NOT met'} ({held}/{len(check['cases'])})"
        failing = [_case_text(c) for c in check["cases"] if not c["ok"]]
        tail = f"; fails: {'; '.join(failing)}" if failing else ""
        lines.append(f"- {check['statement']}: **{verdict}**{tail}")
    return lines


def _bracket(interval: list[float] | tuple[float, float] | None) -> str:
    return "" if interval is None else f" [{interval[0]:.3f}, {interval[1]:.3f}]"


def _case_text(case: dict[str, Any]) -> str:
    where = ", ".join(str(case[k]) for k in ("target", "model", "mode", "best") if k in case)
    if "hit_rate" in case:
        oracle = case.get("oracle_hit_rate")
        tail = f", oracle {oracle:.4f}" if oracle is not None else ""
        ratio = "—" if case["ratio"] is None else f"×{case['ratio']:.3f}"
        return (f"{where} {case['hit_rate']:.4f} vs rule {case['rule_hit_rate']:.4f} "
                f"({ratio}{_bracket(case.get('interval'))}{tail})")
    if "ratio" in case and case["ratio"] is not None:
        return f"{where} ×{case['ratio']:.3f}{_bracket(case.get('interval'))}"
    if "rivals" in case:
        intervals = case.get("intervals", {})
        rivals = ", ".join(f"{k} {v:.4f} (×{case['value'] / v:.3f}{_bracket(intervals.get(k))})"
                           if v else f"{k} {v:.4f}" for k, v in case["rivals"].items())
        return f"{where} {case['value']:.4f} vs {rivals}"
    return where


def _floor_lines(target: dict[str, Any]) -> list[str]:
    row = next((r for r in target["rows"] if "noise_floor" in r), None)
    if row is None:
        return []
    floor = row["noise_floor"]
    return [f"Counting noise alone: if every count were Poisson with the historical-average "
            f"forecast as its mean, the `{row['name']}` allocation would have normalized regret "
            f"{floor['normalized_regret']:.4f} ± {floor['sd']:.4f} ({floor['draws']} simulated "
            f"test periods), against {row['metrics']['normalized_regret']:.4f} measured. Only "
            "regret above such a floor can be removed by a forecast as informative as the "
            "historical average; going far below it needs a forecast that knows much more.", ""]


def _interval_lines(result: dict[str, Any], checks: list[dict[str, Any]]) -> list[str]:
    """Decide vs forecast per target and model, with the bootstrap interval, and how many
    of all the paired comparisons this test set can tell apart."""
    by_key = {c["key"]: c for c in checks}
    cases = by_key["decide_beats_forecast"]["cases"]
    if not any(c.get("interval") for c in cases):
        return []
    block = result["protocol"]["block"]
    lines = [f"Paired comparisons: [a, b] is the {LEVEL:.0%} percentile interval of the ratio of "
             "two rows' regrets summed over the test decisions, from a moving-block bootstrap "
             f"({RESAMPLES} resamples of runs of {block} consecutive decisions, the same runs "
             "for both rows). An interval that holds 1 means the test set cannot tell the "
             "rows apart; \"same regrets\": equal regret in every decision.", ""]
    rows = [[c["target"], c["model"], f"{c['forecast']:.4f}", f"{c['decide']:.4f}",
             "—" if c["ratio"] is None else f"×{c['ratio']:.3f}",
             _bracket(c["interval"]).strip() or "—", _side(c["interval"])] for c in cases]
    lines += markdown_table(["target", "model", "forecast", "decide", "decide / forecast",
                             f"{LEVEL:.0%} interval", "verdict"], rows) + [""]
    intervals = [i for c in by_key["beat_imitate_and_rule"]["cases"]
                 for i in c["intervals"].values()]
    if intervals:
        counts = {side: sum(_side(i) == side for i in intervals)
                  for side in ("lower", "higher", "cannot tell")}
        lines += [f"Forecast and decide against imitate and the historical-average rule "
                  f"({len(intervals)} ratios): {counts['lower']} lower, {counts['higher']} higher, "
                  f"{counts['cannot tell']} cannot tell at {LEVEL:.0%}.", ""]
    return lines


def _side(interval: list[float] | tuple[float, float] | None) -> str:
    """Where an interval of a ratio lies against 1."""
    if interval is None:
        return "—"
    if interval[0] == interval[1] == 1:
        return "same regrets"
    if interval[1] < 1:
        return "lower"
    if interval[0] > 1:
        return "higher"
    return "cannot tell"


def _epoch_line(result: dict[str, Any]) -> list[str]:
    parts = []
    for model, modes in epoch_seconds(result).items():
        if "decide" in modes and "forecast" in modes:
            parts.append(f"{model} {modes['decide']:.2f} s / {modes['forecast']:.2f} s = "
                         f"×{modes['decide'] / modes['forecast']:.2f}")
    return [f"Decide epoch / forecast epoch (seconds, pooled over fits): {'; '.join(parts)}.",
            ""] if parts else []


def decision_section_markdown(result: dict[str, Any]) -> str:
    """The Markdown section for one ``run_decision_benchmark`` result."""
    protocol, manifest, task = result["protocol"], result["manifest"], result["task"]
    split = manifest["split"]
    lines = [f"### Decision benchmark: {result['dataset']}", ""]
    if result["quick"]:
        lines += ["**Quick smoke run on a slice of the data: not a benchmark result.**", ""]
    params = ", ".join(f"{k} {v}" for k, v in task["params"].items())
    threads = result["environment"]["torch_threads"]
    lines += [f"Command: `{manifest['command']}`", "",
              f"Decision: {protocol['decision']}. Task: `{task['family']}` ({params}), budget "
              f"{task['budget']:g}{' whole units' if task['units'] else ''}. Lookback "
              f"{protocol['lookback']}, horizon {protocol['horizon']}; split "
              f"{split['rule']} (time indices train {span(split['train'])}, val "
              f"{span(split['val'])}, test {span(split['test'])}); {split['test_windows']}; "
              f"seed {manifest['seed']}; torch threads {threads}; decide mode mixes in the "
              f"forecast loss with weight {manifest['extra']['mix']:g}. Data shape [T, N, F] = "
              f"{manifest['data']['shape']}. Run {result['environment']['created']}"
              f"{at_commit(result['environment'])}.", "",
              "Objectives are gains per decision (mean over decisions); normalized regret = "
              "Σ regret / Σ oracle objective; hit rate = share of realized demand in zones given "
              "a unit; P/R/F1 of attended zones vs the top-k realized zones (k = zones the oracle "
              "attends); AUC of the row's scores vs the same labels; RMSE of the per-step "
              "forecast (— for imitate and rules); s/epoch = mean seconds of a training epoch "
              "(validation included). A decide row shown with epochs `a + b` was pretrained "
              "for a epochs with the forecast loss, then fine-tuned b epochs on the regret "
              "(best 0 = the pretrained weights were kept); its s/epoch is the regret "
              "phase's.", ""]
    for target in result["targets"]:
        if len(result["targets"]) > 1 or protocol["truth_rate"]:
            what = "planted expected demand" if protocol["truth_rate"] else "realized demand"
            lines += [f"**Target `{target['target']}`** ({target['n_decisions']} decisions, "
                      f"scored on the {what}):", ""]
        lines += decision_table(target["rows"], protocol["incidents"]) + [""]
        lines += _floor_lines(target)
        if protocol["truth_rate"]:
            lines += ["Same allocations scored on the realized counts:", ""]
            lines += decision_table(target["rows"], protocol["incidents"],
                                    "metrics_on_counts") + [""]
    checks = result.get("checks") or check_targets(result)  # older results carry none
    lines += (_epoch_line(result) + _interval_lines(result, checks) + _police_lines(checks)
              + _target_lines(checks))
    if protocol.get("note"):
        lines += ["", protocol["note"]]
    return "\n".join(lines) + "\n"

"""The decision benchmark's targets (issue 5), judged from the numbers of one run.

Each check compares rows of a ``run_decision_benchmark`` result and says, per scored target
and model, whether the target holds; a check whose rows were not run is ``met = None``.

1. ``decide`` has lower normalized regret than ``forecast`` with the same model.
2. ``forecast`` and ``decide`` both beat ``imitate`` (same model) and the historical-average
   rule on normalized regret.
3. ``decide`` at most ``AIM_RATIO`` times the normalized regret of ``forecast`` (synthetic
   city and NYC crime).
4. NYC crime: the best hit rate of any model and mode is at least ``HIT_RATE_GAIN`` times
   the historical-average rule's.
5. A ``decide`` training epoch costs at most ``EPOCH_COST`` times a ``forecast`` epoch (per
   model, seconds over all its fits / epochs over all its fits).
"""

from __future__ import annotations

from typing import Any

AIM_RATIO = 0.8
AIM_DATASETS = ("synthetic", "nyc_crime")
HIT_RATE_GAIN = 1.1
HIT_RATE_DATASETS = ("nyc_crime",)
EPOCH_COST = 2.0
HA_RULE = "historical_average rule"


def _nreg(row: dict[str, Any]) -> float:
    return row["metrics"]["normalized_regret"]


def _model_rows(target: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """``{model: {mode: row}}`` of one scored target."""
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for row in target["rows"]:
        if row["kind"] == "model":
            out.setdefault(row["name"], {})[row["mode"]] = row
    return out


def _rule(target: dict[str, Any]) -> dict[str, Any] | None:
    return next((r for r in target["rows"] if r["name"] == HA_RULE), None)


def _check(key: str, statement: str, cases: list[dict[str, Any]]) -> dict[str, Any]:
    met = None if not cases else all(c["ok"] for c in cases)
    return {"key": key, "statement": statement, "met": met, "cases": cases}


def _decide_vs_forecast(result: dict[str, Any], ratio: float | None) -> list[dict[str, Any]]:
    cases = []
    for target in result["targets"]:
        for model, modes in _model_rows(target).items():
            if "decide" in modes and "forecast" in modes:
                decide, forecast = _nreg(modes["decide"]), _nreg(modes["forecast"])
                bound = forecast if ratio is None else ratio * forecast
                ok = decide < bound if ratio is None else decide <= bound
                cases.append({"target": target["target"], "model": model, "decide": decide,
                              "forecast": forecast, "ratio": decide / forecast
                              if forecast else None, "ok": ok})
    return cases


def _beat_imitate_and_rule(result: dict[str, Any]) -> list[dict[str, Any]]:
    cases = []
    for target in result["targets"]:
        rule = _rule(target)
        for model, modes in _model_rows(target).items():
            rivals = {"imitate": _nreg(modes["imitate"])} if "imitate" in modes else {}
            if rule is not None:
                rivals[HA_RULE] = _nreg(rule)
            for mode in ("forecast", "decide"):
                if mode in modes and rivals:
                    value = _nreg(modes[mode])
                    cases.append({"target": target["target"], "model": model, "mode": mode,
                                  "value": value, "rivals": rivals,
                                  "ok": all(value < r for r in rivals.values())})
    return cases


def _hit_rate(result: dict[str, Any]) -> list[dict[str, Any]]:
    cases = []
    for target in result["targets"]:
        rule = _rule(target)
        rows = [r for r in target["rows"] if r["kind"] == "model"]
        if rule is None or not rows:
            continue
        best = max(rows, key=lambda r: r["metrics"]["hit_rate"])
        value, base = best["metrics"]["hit_rate"], rule["metrics"]["hit_rate"]
        oracle = next((r["metrics"]["hit_rate"] for r in target["rows"]
                       if r["kind"] == "oracle"), None)
        cases.append({"target": target["target"], "best": f"{best['name']} ({best['mode']})",
                      "hit_rate": value, "rule_hit_rate": base, "oracle_hit_rate": oracle,
                      "ratio": value / base if base else None,
                      "ok": value >= HIT_RATE_GAIN * base})
    return cases


def epoch_seconds(result: dict[str, Any]) -> dict[str, dict[str, float]]:
    """``{model: {mode: seconds per epoch}}`` pooled over the run's targets."""
    totals: dict[tuple[str, str], list[float]] = {}
    for target in result["targets"]:
        for row in target["rows"]:
            if row["kind"] == "model" and row.get("epochs"):
                seconds, epochs = totals.setdefault((row["name"], row["mode"]), [0.0, 0.0])
                totals[row["name"], row["mode"]] = [
                    seconds + row["seconds_per_epoch"] * row["epochs"], epochs + row["epochs"]]
    out: dict[str, dict[str, float]] = {}
    for (model, mode), (seconds, epochs) in totals.items():
        out.setdefault(model, {})[mode] = seconds / epochs
    return out


def _epoch_cost(result: dict[str, Any]) -> list[dict[str, Any]]:
    cases = []
    for model, modes in epoch_seconds(result).items():
        if "decide" in modes and "forecast" in modes:
            ratio = modes["decide"] / modes["forecast"]
            cases.append({"model": model, "decide": modes["decide"],
                          "forecast": modes["forecast"], "ratio": ratio,
                          "ok": ratio <= EPOCH_COST})
    return cases


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The issue's targets that apply to ``result``'s dataset, each with ``met`` and cases."""
    dataset = result["dataset"]
    checks = [
        _check("decide_beats_forecast",
               "decide has lower normalized regret than forecast (same model)",
               _decide_vs_forecast(result, None)),
        _check("beat_imitate_and_rule",
               "forecast and decide beat imitate (same model) and the historical-average rule",
               _beat_imitate_and_rule(result)),
    ]
    if dataset in AIM_DATASETS:
        checks.append(_check("decide_aim",
                             f"decide at most {AIM_RATIO:g}x the normalized regret of forecast",
                             _decide_vs_forecast(result, AIM_RATIO)))
    if dataset in HIT_RATE_DATASETS:
        checks.append(_check("hit_rate",
                             f"best model/mode hit rate at least {HIT_RATE_GAIN:g}x the "
                             "historical-average rule's", _hit_rate(result)))
    checks.append(_check("epoch_cost",
                         f"a decide epoch costs at most {EPOCH_COST:g}x a forecast epoch",
                         _epoch_cost(result)))
    return checks

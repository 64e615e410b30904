"""The decision benchmark's aims, judged from the numbers of one run.

Each check compares rows of a ``run_decision_benchmark`` result and says, per scored target
and model, whether the target holds; a check whose rows were not run is ``met = None``.

1. ``decide`` has lower normalized regret than ``forecast`` with the same model.
2. ``forecast`` and ``decide`` both beat ``imitate`` (same model) and the historical-average
   rule on normalized regret.
3. ``decide`` at most ``decide_vs_forecast_ratio`` times the normalized regret of
   ``forecast``, where the dataset's card sets that aim.
4. The best hit rate of any model and mode is at least ``hit_rate_gain`` times the
   historical-average rule's, where the card sets that aim.
5. A ``decide`` training epoch costs at most ``epoch_cost`` times a ``forecast`` epoch (per
   model, seconds over all its fits / epochs over all its fits), where the card sets it.

The aims are data: the card's ``[decision] aims``, recorded in the result's ``protocol``. An
aim is judged on the point figures. Beside each comparison of
two rows (checks 1-4) stands a 95 % interval for the ratio of their sums over decisions
(regret, or demand in attended zones), from a paired moving-block bootstrap over the test
decisions (``ratio_interval``): an interval that holds 1 means this test set cannot tell the
two rows apart.
"""

from __future__ import annotations

from typing import Any

from cityfocus.evaluate.bootstrap import ratio_interval, ratio_of_ratios_interval

HA_RULE = "historical_average rule"


def _interval(result: dict[str, Any], row_a: dict[str, Any], row_b: dict[str, Any],
              key: str = "regret") -> tuple[float, float] | None:
    """Interval of row_a's / row_b's summed per-decision ``key`` (None without the data)."""
    a, b = row_a.get("per_decision", {}), row_b.get("per_decision", {})
    block = result.get("protocol", {}).get("block")
    if key not in a or key not in b or block is None:
        return None
    return ratio_interval(a[key], b[key], block)


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
                              if forecast else None,
                              "interval": _interval(result, modes["decide"], modes["forecast"]),
                              "ok": ok})
    return cases


def _beat_imitate_and_rule(result: dict[str, Any]) -> list[dict[str, Any]]:
    cases = []
    for target in result["targets"]:
        rule = _rule(target)
        for model, modes in _model_rows(target).items():
            rivals = {"imitate": modes["imitate"]} if "imitate" in modes else {}
            if rule is not None:
                rivals[HA_RULE] = rule
            for mode in ("forecast", "decide"):
                if mode in modes and rivals:
                    value = _nreg(modes[mode])
                    cases.append({"target": target["target"], "model": model, "mode": mode,
                                  "value": value,
                                  "rivals": {k: _nreg(r) for k, r in rivals.items()},
                                  "intervals": {k: _interval(result, modes[mode], r)
                                                for k, r in rivals.items()},
                                  "ok": all(value < _nreg(r) for r in rivals.values())})
    return cases


def _hit_rate(result: dict[str, Any], gain: float) -> list[dict[str, Any]]:
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
                      "interval": _interval(result, best, rule, "attended"),
                      **_police(result, best, rule),
                      "ok": value >= gain * base})
    return cases


def _police(result: dict[str, Any], best: dict[str, Any],
            rule: dict[str, Any]) -> dict[str, Any]:
    """PAI and PEI of the best-hit-rate row beside the rule's, each ratio with its paired
    moving-block interval (empty when the rows lack the per-decision parts)."""
    a, b = best.get("per_decision", {}), rule.get("per_decision", {})
    block = result.get("protocol", {}).get("block")
    out: dict[str, Any] = {}
    for name, denominator in (("pai", "zones_attended"), ("pei", "best_same_area")):
        if name not in best["metrics"] or denominator not in a or denominator not in b:
            continue
        value, base = best["metrics"][name], rule["metrics"][name]
        out[name] = value
        out[f"rule_{name}"] = base
        out[f"{name}_interval"] = None if block is None else ratio_of_ratios_interval(
            a["attended"], a[denominator], b["attended"], b[denominator], block)
    return out


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


def _epoch_cost(result: dict[str, Any], most: float) -> list[dict[str, Any]]:
    cases = []
    for model, modes in epoch_seconds(result).items():
        if "decide" in modes and "forecast" in modes:
            ratio = modes["decide"] / modes["forecast"]
            cases.append({"model": model, "decide": modes["decide"],
                          "forecast": modes["forecast"], "ratio": ratio,
                          "ok": ratio <= most})
    return cases


def aims_of(result: dict[str, Any]) -> dict[str, float]:
    """The aims ``result`` is judged against: recorded in it, else (a result written before
    aims were recorded) its dataset's card."""
    aims = result.get("protocol", {}).get("aims")
    if aims is None:
        from cityfocus.data.cards import load_card

        decision = load_card(result["dataset"]).decision
        aims = {} if decision is None else decision.aims
    return dict(aims)


def check_targets(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The checks that apply to ``result``'s dataset, each with ``met`` and its cases."""
    aims = aims_of(result)
    checks = [
        _check("decide_beats_forecast",
               "decide has lower normalized regret than forecast (same model)",
               _decide_vs_forecast(result, None)),
        _check("beat_imitate_and_rule",
               "forecast and decide beat imitate (same model) and the historical-average rule",
               _beat_imitate_and_rule(result)),
    ]
    if "decide_vs_forecast_ratio" in aims:
        ratio = aims["decide_vs_forecast_ratio"]
        checks.append(_check("decide_aim",
                             f"decide at most {ratio:g}x the normalized regret of forecast",
                             _decide_vs_forecast(result, ratio)))
    if "hit_rate_gain" in aims:
        gain = aims["hit_rate_gain"]
        checks.append(_check("hit_rate",
                             f"best model/mode hit rate at least {gain:g}x the "
                             "historical-average rule's", _hit_rate(result, gain)))
    if "epoch_cost" in aims:
        most = aims["epoch_cost"]
        checks.append(_check("epoch_cost",
                             f"a decide epoch costs at most {most:g}x a forecast epoch",
                             _epoch_cost(result, most)))
    return checks

"""Forecast benchmark results as Markdown, and their own section of ``benchmarks/RESULTS.md``.

Each dataset owns the text between ``<!-- forecast:DATASET:start -->`` and
``<!-- forecast:DATASET:end -->``; writing replaces only that section and keeps the rest of
the file (other datasets, other benchmarks) byte for byte.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from cityfocus.errors import CityfocusError
from cityfocus.evaluate.manifest import at_commit
from cityfocus.evaluate.tables import markdown_table
from cityfocus.outputs import update_text

_LABELS = {"mae": "MAE", "rmse": "RMSE", "mape": "MAPE", "accuracy": "Acc", "r2": "R²",
           "explained_variance": "var", "mae_pos": "MAE⁺", "mape_pos": "MAPE⁺"}
HEADING = "# cityfocus benchmark results"
_TGCN_COLUMNS = ("rmse", "mae", "accuracy", "r2", "explained_variance", "mape")


def markers(key: str) -> tuple[str, str]:
    """The start and end marker lines of section ``key`` (e.g. ``forecast:los_loop``)."""
    return f"<!-- {key}:start -->", f"<!-- {key}:end -->"


def replace_section(text: str, key: str, body: str) -> str:
    """``text`` with section ``key`` holding ``body`` (appended at the end when absent).

    Raises:
        CityfocusError: when the markers are unmatched or repeated (the file was hand-edited
            into a state we must not guess about).
    """
    start, end = markers(key)
    n_start, n_end = text.count(start), text.count(end)
    section = f"{start}\n{body.strip()}\n{end}"
    if n_start == n_end == 0:
        sep = "" if not text or text.endswith("\n\n") else ("\n" if text.endswith("\n") else "\n\n")
        return f"{text}{sep}{section}\n"
    i, j = text.find(start), text.find(end)
    if n_start != 1 or n_end != 1 or j < i:
        raise CityfocusError(
            f"results file has {n_start} '{start}' and {n_end} '{end}' markers in the wrong "
            "order or number; fix the file by hand so the section appears exactly once"
        )
    return text[:i] + section + text[j + len(end):]


def owns_results(text: str) -> bool:
    """True for the text of a cityfocus results file (its heading or a section marker)."""
    return text.startswith(HEADING) or ":start -->" in text


def write_section(path: str | Path, key: str, body: str, option: str = "output") -> None:
    """Replace section ``key`` of the Markdown file ``path`` atomically (create it if needed).

    An existing file is changed only when it is a cityfocus results file (``owns_results``);
    the other sections are kept byte for byte."""
    update_text(path, lambda text: replace_section(text or f"{HEADING}\n\n", key, body),
                owns=owns_results, option=option)


def fmt(value: Any, digits: int = 4) -> str:
    """A number with ``digits`` decimals; "—" for None, NaN or inf."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "—"
    return f"{value:.{digits}f}"


def span(bounds: list[int]) -> str:
    """Half-open time-index bounds as ``[start, stop)``."""
    return f"[{bounds[0]}, {bounds[1]})"


def _horizon_label(horizon: int, step_minutes: float | None) -> str:
    if not step_minutes:
        return str(horizon)
    return f"{horizon} ({horizon * step_minutes:g} min)"


def _tgcn_table(result: dict[str, Any]) -> list[str]:
    """One row per model and horizon: the T-GCN metrics over all steps flattened."""
    minutes = result["protocol"].get("step_minutes")
    header = ["model", "horizon", *(_LABELS[m] for m in _TGCN_COLUMNS), "fit s", "predict s"]
    rows = []
    for horizon in result["protocol"]["horizons"]:
        label = _horizon_label(horizon, minutes)
        for run in (r for r in result["runs"] if r["horizon"] == horizon):
            rows.append([run["model"], label,
                         *(fmt(run["metrics"]["all"][m]) for m in _TGCN_COLUMNS),
                         fmt(run["fit_seconds"], 2), fmt(run["predict_seconds"], 3)])
        for check in (c for c in result["protocol_check"] if c["horizon"] == horizon):
            rows.append([f"{check['model']} (T-GCN's HA, computed here)", label,
                         *(fmt(check["metrics"]["all"][m]) for m in _TGCN_COLUMNS), "", ""])
        for ref in (r for r in result["references"] if r["horizon"] == horizon):
            rows.append([f"*{ref['label']}*", label,
                         *(fmt(ref["metrics"].get(m)) for m in _TGCN_COLUMNS), "", ""])
    return markdown_table(header, rows)


def _steps_table(result: dict[str, Any]) -> list[str]:
    """One row per model: MAE/RMSE at the reported steps, then all steps flattened."""
    steps = result["protocol"]["report_steps"]
    truth_rate = any("metrics_vs_truth_rate" in r for r in result["runs"])
    header = ["model"]
    for step in steps:
        header += [f"MAE @{step}", f"RMSE @{step}"]
    header += ["MAE all", "RMSE all", "MAPE all"]
    header += ["MAE vs true rate"] if truth_rate else []
    header += ["fit s", "predict s"]
    rows = []
    for run in result["runs"]:
        per_step, overall = run["metrics"]["per_step"], run["metrics"]["all"]
        cells = [run["model"]]
        for step in steps:
            cells += [fmt(per_step["mae"][step - 1]), fmt(per_step["rmse"][step - 1])]
        cells += [fmt(overall["mae"]), fmt(overall["rmse"]), fmt(overall["mape"])]
        if truth_rate:
            cells.append(fmt(run.get("metrics_vs_truth_rate", {}).get("all", {}).get("mae")))
        cells += [fmt(run["fit_seconds"], 2), fmt(run["predict_seconds"], 3)]
        rows.append(cells)
    return markdown_table(header, rows)


def _count_table(result: dict[str, Any]) -> list[str]:
    """One row per model: MAE⁺/MAPE⁺ (positive true counts) per category and pooled."""
    categories = result["protocol"]["categories"]
    header = ["model"]
    for name in [*categories, "all"]:
        header += [f"{name} MAE⁺", f"{name} MAPE⁺"]
    header += ["fit s", "predict s"]
    rows = []
    for run in result["runs"]:
        cm = run["count_metrics"]
        parts = [cm["per_category"][c]["all"] for c in categories] + [cm["all"]]
        cells = [run["model"]]
        for part in parts:
            cells += [fmt(part["mae_pos"]), fmt(part["mape_pos"])]
        cells += [fmt(run["fit_seconds"], 2), fmt(run["predict_seconds"], 3)]
        rows.append(cells)
    return markdown_table(header, rows)


def section_markdown(result: dict[str, Any]) -> str:
    """The Markdown section for one benchmark result (as ``run_forecast_benchmark`` returns)."""
    protocol, manifest = result["protocol"], result["manifest"]
    split = manifest["split"]
    lines = [f"### Forecast benchmark: {result['dataset']}", ""]
    if result["quick"]:
        lines += ["**Quick smoke run on a slice of the data: not a benchmark result.**", ""]
    lines += [f"Command: `{manifest['command']}`", ""]
    target = f"`{protocol['target']}`"
    if protocol["categories"]:
        target = f"each of {', '.join(protocol['categories'])} in turn"
    lines += [
        f"Protocol: target {target} ({protocol['units']}), lookback "
        f"{protocol['lookback']}, horizons {', '.join(map(str, protocol['horizons']))}; "
        f"split {split['rule']} (time indices train {span(split['train'])}, val "
        f"{span(split['val'])}, test {span(split['test'])}); test windows: "
        f"{split['test_windows']}; seed {manifest['seed']}. Data shape [T, N, F] = "
        f"{manifest['data']['shape']}. "
        f"Run {result['environment']['created']}{at_commit(result['environment'])}.",
        "",
    ]
    if protocol["categories"]:
        lines += ["MAE⁺/MAPE⁺: over test entries whose true count is > 0 (ST-SHN protocol), per "
                  "category (one model fit per category) and pooled; MAPE as a fraction.", ""]
        lines += _count_table(result)
    elif protocol["report_steps"]:
        lines += ["Per-step figures at the listed horizon steps; 'all' = every window and step "
                  "flattened together; MAPE as a fraction.", ""]
        lines += _steps_table(result)
    else:
        lines += ["Metrics over all test windows and horizon steps flattened (T-GCN): Acc = "
                  "1 − ‖Y−Ŷ‖_F/‖Y‖_F, R² with the truth's mean, var = explained variance; "
                  "MAPE as a fraction.", ""]
        lines += _tgcn_table(result)
    if protocol.get("note"):
        lines += ["", protocol["note"]]
    sources = {ref["label"]: ref["source"] for ref in result["references"]}
    if sources:
        lines += ["", "Rows in *italics* are quoted, not computed by this command:"]
        lines += [f"- *{label}*: {source}" for label, source in sources.items()]
    return "\n".join(lines) + "\n"

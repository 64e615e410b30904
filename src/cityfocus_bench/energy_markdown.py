"""Energy benchmark results as Markdown: one ``energy:DATASET`` section of RESULTS.md per
grid, rendered from the JSON result."""

from __future__ import annotations

from typing import Any

from cityfocus.evaluate.manifest import at_commit
from cityfocus.evaluate.tables import markdown_table
from cityfocus_bench.energy import BASELINE_MODELS, targets
from cityfocus_bench.markdown import fmt, span


def energy_section_markdown(result: dict[str, Any], grid: dict[str, Any]) -> str:
    """The Markdown section of one grid of an energy benchmark result."""
    env = result["environment"]
    lines = [f"### Energy benchmark: {grid['dataset']} (SimBench {grid['grid_code']})", ""]
    if result["quick"]:
        lines += ["**Quick smoke run on a slice of the data: not a benchmark result.**", ""]
    split = grid["split"]
    lines += [
        f"Command: `{result['command']}`", "",
        f"Data: {grid['zones']} nodes x {grid['shape'][2]} features, 15-minute steps "
        f"{grid['period'][0]} .. {grid['period'][1]}; split {grid['split_rule']} (time "
        f"indices train {span(split['train'])}, val {span(split['val'])}, test "
        f"{span(split['test'])}); {len(grid['test_days'])} test days "
        f"{grid['test_days'][0]} .. {grid['test_days'][-1]}, each forecast at midnight from "
        f"the previous {grid['lookback']} steps. Seed {result['seed']}, torch threads "
        f"{env['threads']}, pandapower {env['pandapower']}, simbench {env['simbench']}. "
        f"Run {env['created']}{at_commit(env)}, {env['wall_seconds'] / 60:.1f} min for the "
        "whole command.", "",
        "**Day-ahead net-load forecasts** (kW per node; MAE / RMSE at the listed steps of "
        "the 96, 'all' = every step; the JSON holds MW):", "",
    ]
    lines += _forecast_table(grid)
    if grid.get("cityfocus_model"):
        lines += ["", f"cityfocus row: {grid['cityfocus_model']}, the neural model with the "
                  "lowest validation MAE (" + ", ".join(
                      f"{m} {1000 * v:.2f} kW" for m, v in grid["validation_mae"].items())
                  + ")."]
    lines += ["", "Fits: " + "; ".join(_fit_text(name, fit) for name, fit in
                                        grid["fits"].items() if "epochs_run" in fit)]
    lines += ["", f"**Flexibility decision**: each test day at most "
              f"{_kilo(grid['budget_mwh_per_day'])} kWh of infeed curtailment (half the mean "
              "need of the training days that need any), planned per node and hour; every "
              "quarter-hour judged by pandapower's AC power flow on the realized profiles.", ""]
    lines += _decision_table(grid)
    check = grid["screening_check"]
    lines += ["", f"{grid['power_flows']} AC power flows ({grid['power_flow_seconds']:.0f} s). "
              f"Quarter-hours where a row curtails but neither the no-action flow nor the "
              f"all-infeed-curtailed flow has a violation are not re-run "
              f"({check['screened']}); {check['checked']} of them sampled and re-run: "
              f"{check['mismatches']} with a violation."]
    lines += ["", *_targets_text(grid)]
    return "\n".join(lines) + "\n"


def _kilo(value: Any) -> str:
    """MW or MWh as kW or kWh, two decimals."""
    return "—" if value is None else fmt(1000 * value, 2)


def _fit_text(name: str, fit: dict[str, Any]) -> str:
    return (f"{name} {fit['epochs_run']} of {fit['max_epochs']} epochs (best "
            f"{fit['best_epoch']}, stopped: {fit['stopped']}, {fit['fit_seconds']:.0f} s)")


def _forecast_table(grid: dict[str, Any]) -> list[str]:
    steps = grid["report_steps"]
    header = ["model", *[f"@{s} MAE / RMSE" for s in steps], "all MAE / RMSE"]
    rows = []
    for name, metrics in grid["forecast"].items():
        per = metrics["per_step"]
        cells = [name + (" (cityfocus)" if name == grid.get("cityfocus_model") else "")]
        cells += [f"{_kilo(per['mae'][s - 1])} / {_kilo(per['rmse'][s - 1])}" for s in steps]
        cells.append(f"{_kilo(metrics['all']['mae'])} / {_kilo(metrics['all']['rmse'])}")
        rows.append(cells)
    return markdown_table(header, rows)


def _decision_table(grid: dict[str, Any]) -> list[str]:
    base = grid["decisions"][0]["overload_mwh"]
    header = ["row", "overload kWh", "vs no action", "voltage excess p.u.·h",
              "hours with a violation", "curtailed kWh"]
    rows = []
    for row in grid["decisions"]:
        ratio = row["overload_mwh"] / base if base > 0 else None
        rows.append([row["row"], _kilo(row["overload_mwh"]),
                     "—" if ratio is None else f"{ratio:.3f}",
                     fmt(row["voltage_excess_pu_h"]), str(row["violation_hours"]),
                     _kilo(row["curtailed_mwh"])])
    return markdown_table(header, rows)


def _targets_text(grid: dict[str, Any]) -> list[str]:
    aims = targets(grid)
    lines = ["Targets (issue):"]
    beats = aims.get("forecast_beats_baselines")
    if beats is not None:
        missed = [b["step"] for b in beats if not b["beats_both"]]
        lines.append(f"- {aims['forecast_model']} beats {' and '.join(BASELINE_MODELS)} on MAE and "
                     "RMSE at every reported step: "
                     + ("met" if not missed else f"missed at step(s) {missed}"))
    vs_prop = aims.get("reduction_vs_proportional")
    if "reduction_vs_proportional" in aims:
        lines.append("- overload energy at least 30 % below the proportional rule's: "
                     + ("— (no proportional overload)" if vs_prop is None else
                        f"{100 * vs_prop:.1f} % below, {'met' if vs_prop >= 0.3 else 'missed'}"))
        share = aims.get("share_of_oracle_reduction")
        lines.append("- at least 80 % of the hindsight oracle's reduction: "
                     + ("— (the oracle removes nothing)" if share is None else
                        f"{100 * share:.1f} %, {'met' if share >= 0.8 else 'missed'}"))
        v_prop, v_share = (aims.get("voltage_reduction_vs_proportional"),
                           aims.get("voltage_share_of_oracle_reduction"))
        if v_prop is not None or v_share is not None:
            lines.append("- the same on voltage excess: "
                         + ("—" if v_prop is None else f"{100 * v_prop:.1f} % below the "
                            "proportional rule's")
                         + "; " + ("—" if v_share is None else f"{100 * v_share:.1f} % of the "
                                   "oracle's reduction"))
    return lines

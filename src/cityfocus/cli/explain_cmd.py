"""``cityfocus explain``: forecast from a checkpoint, allocate exactly, and say why, as a report."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import typer
from rich.console import Console

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.allocate.utilities import FAMILIES
from cityfocus.cli.app import (
    adjacency_option,
    app,
    force_option,
    inputs_of,
    load_data,
    target_option,
    zones_option,
)
from cityfocus.data.time_index import step_at
from cityfocus.errors import CityfocusError
from cityfocus.outputs import OutputDir


@app.command("explain")
def explain(
    model: Path = typer.Option(..., help="Checkpoint written by `cityfocus train`."),
    data: str = typer.Option(..., help="Dataset name or path with the model's schema."),
    zones: Path | None = zones_option(),
    adjacency: Path | None = adjacency_option(),
    target: str | None = target_option(),
    at: str = typer.Option(..., help="First step to forecast, e.g. '2024-02-20 08:00'."),
    out: Path = typer.Option(..., help="Directory for report.html, figures, zones.csv."),
    budget: float = typer.Option(20, min=0, help="Total to allocate (units with --units)."),
    family: str = typer.Option("coverage", help=f"One of: {', '.join(FAMILIES)}."),
    units: bool = typer.Option(True, "--units/--no-units", help="Whole units or shares."),
    alpha: float | None = typer.Option(None, help="Effectiveness (coverage, log, variance)."),
    drivers: int = typer.Option(2, min=1, help="Driver zones named per zone."),
    force: bool = force_option(),
) -> None:
    """Explain the allocation the model's forecast leads to: an HTML report and PNG figures."""
    from cityfocus.explain import explain_allocation
    from cityfocus.explain.figures import all_figures
    from cityfocus.explain.report import report_html
    from cityfocus.models.registry import load_forecaster

    report = OutputDir(out, force=force, inputs=inputs_of(model, data, zones, adjacency))
    forecaster = load_forecaster(model)
    dataset = load_data(data, zones, adjacency, target)
    step = step_at(dataset, at, what="--at")
    forecast = forecaster.predict(dataset, at=step)
    demand = np.clip(forecast.mean.sum(axis=0).astype(np.float64), 0.0, None)
    params = {} if alpha is None else {"alpha": alpha}
    if family not in FAMILIES:
        raise CityfocusError(f"unknown --family {family!r}; choose one of {', '.join(FAMILIES)}")
    problem = AllocationProblem(demand, budget, family, units=units, **params)
    allocation = solve(problem)
    graph = forecaster.uses_graph and forecaster.schema_.get("adjacency") is not None
    expl = explain_allocation(dataset, step, forecast, problem, allocation, drivers=drivers,
                              graph=graph)
    figures = all_figures(dataset, step, expl)
    command = (f"cityfocus explain --model {model} --data {data} --at '{at}' --out {out} "
               f"--budget {budget:g} --family {family} {'--units' if units else '--no-units'}"
               + ("" if alpha is None else f" --alpha {alpha:g}"))
    details = {
        "model": f"{forecaster.name} ({model})", "data": dataset.name,
        "forecast from": f"{forecast.window_end} (last input step)",
        "allocation": f"{family}{'' if alpha is None else f' alpha={alpha:g}'}, budget "
                      f"{budget:g} {'whole units' if units else 'shares'}, exact solver; "
                      "demand = forecast summed over the horizon, negatives clipped to 0",
        "command": command,
    }
    title = f"Why each zone gets attention: {forecast.timestamps[0]:%Y-%m-%d %H:%M}"
    page = report_html(expl, figures, title, details)
    summary = {**details, "budget": budget, "units": units, "family": family,
               "shadow_price": expl.view.price, "objective": float(allocation.objective),
               "horizon": expl.horizon, "files": ["report.html", "zones.csv", *figures]}
    zones_csv = pd.DataFrame([z.to_row() for z in expl.zones]).to_csv(index=False)
    report.write({"report.html": page, **figures, "zones.csv": zones_csv,
                  "summary.json": json.dumps(summary, indent=2) + "\n"})
    console = Console()
    for zone in [z for z in expl.zones if z.w > 0][:5]:
        console.print(f"- {zone.text}", highlight=False)
    console.print(f"Report: {out / 'report.html'}", highlight=False)

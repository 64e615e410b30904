"""``cityfocus allocate``: split a budget across zones exactly, from a demand file or a dataset."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from cityfocus.allocate import Allocation, AllocationProblem, solve
from cityfocus.allocate.files import format_allocation, read_demand_file
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
from cityfocus.data.recent_demand import last_day_demand
from cityfocus.errors import CityfocusError
from cityfocus.outputs import OutputFile


@app.command("allocate")
def allocate_command(
    demand_file: Path | None = typer.Option(
        None, "--demand", help="CSV zone,demand or one number a line."
    ),
    data: str | None = typer.Option(
        None, "--data", help="Dataset name or path (demand = last day's mean)."
    ),
    budget: float = typer.Option(..., "--budget", help="Total to split (units with --units)."),
    family: str = typer.Option("coverage", "--family", help=f"One of: {', '.join(FAMILIES)}."),
    units: bool = typer.Option(False, "--units/--no-units", help="Whole units instead of shares."),
    alpha: float | None = typer.Option(None, "--alpha",
                                       help="Effectiveness (coverage, log, variance)."),
    cap: float | None = typer.Option(None, "--cap", help="Per-zone ceiling (linear)."),
    saturation: float | None = typer.Option(None, "--saturation", help="Saturation flow (delay)."),
    cycle: float | None = typer.Option(None, "--cycle", help="Cycle length in seconds (delay)."),
    lower: float = typer.Option(0.0, "--lower", help="Lower bound for every zone."),
    upper: float = typer.Option(math.inf, "--upper", help="Upper bound for every zone."),
    out: Path | None = typer.Option(None, "--out",
                                    help="Write the allocation to FILE.csv or FILE.json."),
    rows: int = typer.Option(30, "--rows", min=0, help="Zones to print (largest shares first)."),
    zones_file: Path | None = zones_option(),
    adjacency: Path | None = adjacency_option(),
    target: str | None = target_option(),
    force: bool = force_option(),
) -> None:
    """Allocate a budget across zones exactly; print zone, demand, share and marginal value."""
    if (demand_file is None) == (data is None):
        raise CityfocusError("give exactly one of --demand FILE or --data NAME_OR_PATH")
    out_file = None if out is None else OutputFile(
        out, force=force, inputs=inputs_of(demand_file, data, zones_file, adjacency),
        suffixes=(".csv", ".json"))
    note = ""
    if demand_file is not None:
        zones, demand = read_demand_file(demand_file)
    else:
        assert data is not None  # exactly one of the two, checked above
        zones, demand, note = last_day_demand(load_data(data, zones_file, adjacency, target))
    params = {"alpha": alpha, "cap": cap, "saturation": saturation, "cycle": cycle}
    problem = AllocationProblem(
        demand,
        budget,
        family,
        lower=lower,
        upper=upper,
        units=units,
        **{k: v for k, v in params.items() if v is not None},
    )
    alloc = solve(problem)
    console = Console()
    if note:
        console.print(note, highlight=False)
    _print_table(console, zones, demand, alloc, budget, rows)
    if out_file is not None:
        out_file.write(format_allocation(zones, demand, alloc, budget,
                                         fmt=out_file.path.suffix.lower().lstrip(".")))
        console.print(f"wrote {out}", highlight=False)


def _print_table(
    console: Console,
    zones: list[str],
    demand: np.ndarray,
    alloc: Allocation,
    budget: float,
    rows: int,
) -> None:
    kind, kinds = ("units", "units") if alloc.units else ("share", "shares")
    sense = "maximised" if alloc.sense == "max" else "minimised"
    table = Table(
        title=f"{alloc.family} allocation of {budget:g} ({kinds}) over {len(zones)} zones"
    )
    for col in ("zone", "demand", kind, "marginal value"):
        table.add_column(col, justify="left" if col == "zone" else "right")
    order = np.argsort(-np.asarray(alloc.w), kind="stable")[:rows]
    for i in order:
        w = f"{alloc.w[i]:.0f}" if alloc.units else f"{alloc.w[i]:.4f}"
        table.add_row(zones[i], f"{demand[i]:.4g}", w, f"{alloc.marginal[i]:.4g}")
    console.print(table)
    if len(zones) > rows:
        console.print(f"... {len(zones) - rows} more zones (write them all with --out)")
    console.print(
        f"objective ({sense}): {alloc.objective:.6g}   shadow price (value of one more "
        f"{'unit' if alloc.units else 'unit of budget'}): {alloc.shadow_price:.6g}",
        highlight=False,
    )

"""``cityfocus allocate``: split a budget across zones exactly, from a demand file or a dataset."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from cityfocus.allocate import Allocation, AllocationProblem, solve
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
from cityfocus.data.citydata import CityData
from cityfocus.errors import CityfocusError, DataError
from cityfocus.outputs import OutputFile


def read_demand_file(path: Path) -> tuple[list[str], np.ndarray]:
    """Zone ids and demand from a CSV with columns ``zone,demand`` (header line first, any
    letter case, other columns ignored, so ``cityfocus predict --out`` files read as they
    are) or from one number per line (zones are then numbered from 0).

    Raises:
        DataError: missing file, another delimiter, missing column, a zone listed twice, or
            a value that is not a finite number >= 0 (with the line number and zone).
    """
    if path.is_dir():
        raise DataError("is a folder", source=path, hint="give a CSV file")
    if not path.is_file():
        raise DataError(
            "file not found", source=path, hint="give a CSV or a one-number-per-line file"
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise DataError("is not a UTF-8 text file", source=path,
                        hint="give a CSV with columns zone,demand") from None
    lines = [(i, ln.strip()) for i, ln in enumerate(text.splitlines(), 1)]
    lines = [(i, ln) for i, ln in lines if ln and not ln.startswith("#")]
    if not lines:
        raise DataError("no demand values", source=path)
    first_line, first = lines[0]
    if "," not in first and _is_number(first):
        zones = [str(k) for k in range(len(lines))]
        return zones, np.array([_demand(ln, path, i, z) for (i, ln), z in zip(lines, zones,
                                                                          strict=True)])
    for sep in (";", "\t", "|"):
        if sep in first and "," not in first:
            shown = "tab" if sep == "\t" else repr(sep)
            raise DataError(f"the header {first!r} is {shown}-separated; cityfocus reads "
                            "comma-separated files", source=path, row=first_line,
                            hint="write it as zone,demand with commas")
    header = [h.strip().lower() for h in next(csv.reader([first]))]
    for col in ("zone", "demand"):
        if col not in header:
            raise DataError(
                f"no {col!r} column (header is {','.join(header)})",
                source=path,
                row=first_line,
                hint="use columns zone,demand or one number per line",
            )
    iz, idem = header.index("zone"), header.index("demand")
    zones, values, line_of = [], [], {}
    for i, ln in lines[1:]:
        cells = next(csv.reader([ln]))
        if len(cells) <= max(iz, idem):
            raise DataError(f"expected {len(header)} cells, got {len(cells)}", source=path, row=i)
        zone = cells[iz].strip()
        if zone in line_of:
            raise DataError(f"zone {zone!r} is listed twice (lines {line_of[zone]} and {i})",
                            source=path, row=i, column="zone",
                            hint="give each zone once")
        line_of[zone] = i
        zones.append(zone)
        values.append(_demand(cells[idem], path, i, zone, column="demand"))
    if not zones:
        raise DataError("no demand values after the header", source=path)
    return zones, np.array(values)


def _demand(text: str, path: Path, row: int, zone: str, column: str | None = None) -> float:
    """One demand cell as a finite number >= 0, or a DataError naming line and zone."""
    if not _is_number(text):
        raise DataError(f"{text.strip()!r} is not a number", source=path, row=row,
                        column=column)
    value = float(text)
    if not np.isfinite(value) or value < 0:
        raise DataError(f"demand {text.strip()} of zone {zone!r} is not a finite number >= 0",
                        source=path, row=row, column=column)
    return value


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def demand_from_dataset(data: CityData) -> tuple[list[str], np.ndarray, str]:
    """Zone ids, demand (mean observed target over the last day of steps) and a note."""
    from cityfocus.data.windows import steps_per_day

    steps = min(steps_per_day(data.freq), data.shape[0])
    values, mask = data.target_values[-steps:], data.target_mask[-steps:]
    seen = mask.sum(axis=0)
    demand = np.where(seen > 0, (values * mask).sum(axis=0) / np.maximum(seen, 1), 0.0)
    note = f"demand: mean {data.target!r} over the last {steps} steps of {data.name}"
    if (seen == 0).any():
        note += f"; {int((seen == 0).sum())} zones unobserved there get demand 0"
    return data.zones["id"].tolist(), demand.astype(np.float64), note


def write_allocation(
    out: OutputFile, zones: list[str], demand: np.ndarray, alloc: Allocation, budget: float
) -> None:
    """CSV (zone, demand, share|units, marginal) or JSON (the same plus the totals)."""
    col = "units" if alloc.units else "share"
    rows = [
        {"zone": z, "demand": float(d), col: float(w), "marginal": float(m)}
        for z, d, w, m in zip(zones, demand, alloc.w, alloc.marginal, strict=True)
    ]
    suffix = out.path.suffix.lower()
    with out.build() as tmp:
        if suffix == ".csv":
            with tmp.open("w", newline="") as fh:
                writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
                writer.writeheader()
                writer.writerows(rows)
        else:
            tmp.write_text(
                json.dumps(
                    {
                        "family": alloc.family,
                        "sense": alloc.sense,
                        "budget": budget,
                        "units": alloc.units,
                        "objective": alloc.objective,
                        "shadow_price": alloc.shadow_price,
                        "zones": rows,
                    },
                    indent=2,
                )
                + "\n"
            )


@app.command("allocate")
def allocate_command(
    demand_file: Path = typer.Option(
        None, "--demand", help="CSV zone,demand or one number a line."
    ),
    data: str = typer.Option(
        None, "--data", help="Dataset name or path (demand = last day's mean)."
    ),
    budget: float = typer.Option(..., "--budget", help="Total to split (units with --units)."),
    family: str = typer.Option("coverage", "--family", help=f"One of: {', '.join(FAMILIES)}."),
    units: bool = typer.Option(False, "--units/--no-units", help="Whole units instead of shares."),
    alpha: float = typer.Option(None, "--alpha", help="Effectiveness (coverage, log, variance)."),
    cap: float = typer.Option(None, "--cap", help="Per-zone ceiling (linear)."),
    saturation: float = typer.Option(None, "--saturation", help="Saturation flow (delay)."),
    cycle: float = typer.Option(None, "--cycle", help="Cycle length in seconds (delay)."),
    lower: float = typer.Option(0.0, "--lower", help="Lower bound for every zone."),
    upper: float = typer.Option(math.inf, "--upper", help="Upper bound for every zone."),
    out: Path = typer.Option(None, "--out", help="Write the allocation to FILE.csv or FILE.json."),
    rows: int = typer.Option(30, "--rows", min=0, help="Zones to print (largest shares first)."),
    zones_file: Path = zones_option(),
    adjacency: Path = adjacency_option(),
    target: str = target_option(),
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
        zones, demand, note = demand_from_dataset(load_data(data, zones_file, adjacency, target))
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
        write_allocation(out_file, zones, demand, alloc, budget)
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

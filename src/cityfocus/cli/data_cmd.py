"""``cityfocus data info``: what a dataset holds, at a glance."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import typer
from rich.console import Console
from rich.table import Table

from cityfocus.cli.app import adjacency_option, app, load_data, target_option, zones_option
from cityfocus.data.citydata import CityData
from cityfocus.data.timestep import format_freq

data_app = typer.Typer(help="Inspect city data.", no_args_is_help=True)
app.add_typer(data_app, name="data")


def feature_stats(data: CityData) -> list[dict[str, float | str]]:
    """Per-feature observed count, missing share, mean, std, min and max (observed only)."""
    rows = []
    for k, feature in enumerate(data.features):
        observed = data.values[:, :, k][data.mask[:, :, k]]
        row: dict[str, float | str] = {
            "feature": feature,
            "observed": float(observed.size),
            "missing": 1.0 - observed.size / data.mask[:, :, k].size,
        }
        for stat in ("mean", "std", "min", "max"):
            row[stat] = float(getattr(np, stat)(observed)) if observed.size else float("nan")
        rows.append(row)
    return rows


@data_app.command("info")
def info(
    source: str = typer.Argument(..., help="Dataset name (e.g. synthetic, los_loop) or path."),
    zones: Path | None = zones_option(),
    adjacency: Path | None = adjacency_option(),
    target: str | None = target_option(),
) -> None:
    """Print shape, period, frequency, missing share and per-feature statistics."""
    data = load_data(source, zones, adjacency, target)
    console = Console()
    T, N, F = data.shape
    summary = Table(title=f"{data.name}", show_header=False)
    summary.add_row("shape [T, N, F]", f"{T} x {N} x {F}")
    summary.add_row("period", f"{data.timestamps[0]} .. {data.timestamps[-1]}")
    summary.add_row("frequency", format_freq(data.freq))
    summary.add_row("missing share", f"{data.missing_share():.2%}")
    summary.add_row("target", data.target)
    has_coords = bool(data.zones[["lat", "lon"]].notna().all(axis=1).any())
    summary.add_row("zone coordinates", "yes" if has_coords else "no")
    links = "none" if data.adjacency is None else f"{int((data.adjacency > 0).sum())} links"
    summary.add_row("adjacency", links)
    console.print(summary)
    stats = Table(title="features (observed entries)")
    for col in ("feature", "observed", "missing", "mean", "std", "min", "max"):
        stats.add_column(col, justify="left" if col == "feature" else "right")
    for row in feature_stats(data):
        stats.add_row(
            str(row["feature"]), f"{row['observed']:.0f}", f"{row['missing']:.2%}",
            *(f"{row[s]:.4g}" for s in ("mean", "std", "min", "max")),
        )
    console.print(stats)

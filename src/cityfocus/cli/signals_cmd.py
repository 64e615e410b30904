"""``cityfocus signals run``: signal controllers on SUMO scenarios, mean ± std over seeds."""

from __future__ import annotations

import json
import shlex
import sys
import tempfile
from pathlib import Path

import typer
from rich.console import Console

from cityfocus.cli.app import app, force_option
from cityfocus.outputs import OutputDir, OutputFile

signals_app = typer.Typer(help="Traffic-signal control in Eclipse SUMO.", no_args_is_help=True)
app.add_typer(signals_app, name="signals")


def parse_controllers(value: str) -> list[str]:
    """``all`` or a comma-separated list of controller names."""
    from cityfocus.signals.runner import CONTROLLERS, make_controller

    names = list(CONTROLLERS) if value == "all" else [v.strip() for v in value.split(",") if v]
    for name in names:
        if name not in CONTROLLERS:
            make_controller(name)  # raises the one-line error naming the choices
    return names


@signals_app.command("run")
def run(
    scenario: list[str] = typer.Option(..., "--scenario",
                                       help="Scenario name or .sumocfg path; repeatable."),
    controller: str = typer.Option("all", help="A controller, a comma list, or all."),
    seeds: int = typer.Option(5, min=1, help="Seeds 1..N (identical demand per seed)."),
    duration: float | None = typer.Option(None, min=60.0, help="Simulated seconds (default: the "
                                           "scenario's own time window)."),
    history_days: int = typer.Option(3, min=1, help="Earlier days the cityfocus forecaster "
                                     "learns from."),
    workers: int = typer.Option(2, min=1, help="Processes (one simulation each)."),
    json_path: Path | None = typer.Option(None, "--json", help="Write runs and summary here."),
    workdir: Path | None = typer.Option(None, help="Keep networks, routes and trip files in this "
                                 "new folder."),
    force: bool = force_option(),
) -> None:
    """Run controllers on scenarios over seeds; print mean ± std of every metric."""
    from cityfocus.signals.report import build_result, summary_table
    from cityfocus.signals.runner import run_many
    from cityfocus.signals.scenarios import prepare

    names = parse_controllers(controller)
    inputs = [Path(s) for s in scenario if s.endswith(".sumocfg")]
    json_file = None if json_path is None else OutputFile(
        json_path, option="--json", force=force, inputs=inputs, suffixes=(".json",))
    keep = None if workdir is None else OutputDir(workdir, option="--workdir", force=force,
                                                  inputs=inputs)
    scratch = tempfile.TemporaryDirectory(prefix="cityfocus-signals-")
    with keep.build() if keep else scratch as tmp:
        base = Path(tmp)
        for name in scenario:
            prepare(name, 1, base / "check" / "scenario", duration)  # user errors before the pool
        runs = run_many(list(scenario), names, list(range(1, seeds + 1)), base, duration,
                        history_days, workers)
    command = shlex.join(["cityfocus", "signals", *sys.argv[2:]]) if len(sys.argv) > 2 else ""
    result = build_result(runs, command=command, duration=duration, history_days=history_days)
    Console().print("\n".join(summary_table(result)), highlight=False, soft_wrap=True)
    if json_file is not None:
        json_file.write(json.dumps(result, indent=1))

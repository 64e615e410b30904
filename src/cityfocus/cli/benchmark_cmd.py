"""``cityfocus benchmark forecast``: every model on a dataset under its published protocol."""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cityfocus.cli.app import app
from cityfocus.errors import CityfocusError

benchmark_app = typer.Typer(help="Reproducible benchmarks; results go to benchmarks/RESULTS.md.",
                            no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")

DEFAULT_RESULTS = Path("benchmarks/RESULTS.md")


def _command(data: str, json_path: Path, models: str | None, quick: bool, seed: int,
             results: Path | None) -> str:
    """The command line that reproduces this run, as written beside the table."""
    parts = ["cityfocus", "benchmark", "forecast", "--data", data, "--json", str(json_path)]
    parts += ["--models", models] if models else []
    parts += ["--quick"] if quick else []
    parts += ["--seed", str(seed)] if seed else []
    parts += ["--results", str(results)] if results is not None else []
    return shlex.join(parts)


@benchmark_app.command("forecast")
def forecast(
    data: str = typer.Option(..., "--data", help="Dataset: los_loop, nyc_crime, "
                             "beijing_air_prsa or synthetic."),
    json_path: Path = typer.Option(..., "--json", help="Write all numbers and manifests here."),
    models: str | None = typer.Option(None, help="Comma-separated model names (default: all "
                                      "registered models)."),
    quick: bool = typer.Option(False, "--quick", help="Smoke run: a slice of the data, few "
                               "epochs; writes RESULTS.md only when --results is given."),
    seed: int = typer.Option(0, help="Seed set before every fit."),
    results: Path | None = typer.Option(None, help=f"Markdown results file (default "
                                        f"{DEFAULT_RESULTS}; none for --quick)."),
) -> None:
    """Train and score every model on DATA with its standard protocol; write JSON + Markdown."""
    from cityfocus.evaluate.forecast_benchmark import plan, run_forecast_benchmark, write_json
    from cityfocus.evaluate.results_markdown import section_markdown, write_section

    chosen = [m.strip() for m in models.split(",") if m.strip()] if models else None
    if models is not None and not chosen:
        raise CityfocusError("--models is empty; give comma-separated model names")
    jobs = plan(data, chosen)  # checks dataset and model names before any work
    command = _command(data, json_path, models, quick, seed, results)
    results_path = results if results is not None else (None if quick else DEFAULT_RESULTS)
    console = Console()
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(f"{data}: loading", total=len(jobs))
        done = 0

        def advance(job) -> None:
            nonlocal done
            progress.update(task, completed=done, description=f"{data}: {job.describe()}")
            done += 1

        result = run_forecast_benchmark(data, models=chosen, quick=quick, seed=seed,
                                        command=command, progress=advance)
        progress.update(task, completed=len(jobs))
    write_json(result, json_path)
    markdown = section_markdown(result)
    if results_path is not None:
        write_section(results_path, f"forecast:{data}", markdown)
    console.print(markdown, markup=False, highlight=False, soft_wrap=True)
    where = f" and {results_path}" if results_path is not None else ""
    console.print(f"wrote {json_path}{where}", markup=False, highlight=False)

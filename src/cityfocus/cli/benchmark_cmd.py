"""``cityfocus benchmark forecast`` (every model on a dataset under its published protocol),
``cityfocus benchmark decide`` (every model and training mode judged by its allocations),
``cityfocus benchmark robust`` (forecasts with broken sensors and under attack) and
``cityfocus benchmark energy`` (flexibility on SimBench grids, judged by pandapower)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer
from rich.console import Console

from cityfocus.cli.app import app, force_option
from cityfocus.cli.progress import Reporter
from cityfocus.errors import CityfocusError
from cityfocus.outputs import OutputFile

benchmark_app = typer.Typer(help="Reproducible benchmarks: JSON, and a Markdown section with "
                             "--results.",
                            no_args_is_help=True)
app.add_typer(benchmark_app, name="benchmark")


def _command(verb: str, *options: tuple[str, object]) -> str:
    """The command line that reproduces this run, as written beside the table: each
    ``(option, value)`` in order, a flag alone for True, left out for None or False."""
    parts = ["cityfocus", "benchmark", verb]
    for option, value in options:
        if value is True:
            parts.append(option)
        elif value is not None and value is not False:
            parts += [option, str(value)]
    return shlex.join(parts)


def _neural_models(models: str | None) -> list[str] | None:
    """``--models`` of the decision and energy benchmarks: '' for baselines only."""
    if models is not None and not models.strip():
        return []
    return _names(models, "--models", "model")


@benchmark_app.command("forecast")
def forecast(
    data: str = typer.Option(..., "--data", help="A dataset with a forecast protocol in its "
                             "card: los_loop, nyc_crime, beijing_air_prsa, synthetic, or "
                             "your data's path (docs/cards.md)."),
    json_path: Path = typer.Option(..., "--json", help="Write all numbers and manifests here."),
    models: str | None = typer.Option(None, help="Comma-separated model names (default: all "
                                      "registered models)."),
    quick: bool = typer.Option(False, "--quick", help="Smoke run: a slice of the data, few "
                               "epochs (numbers not comparable)."),
    seed: int = typer.Option(0, help="Seed set before every fit."),
    results: Path | None = typer.Option(None, help="Also replace this benchmark's section "
                                        "of this Markdown results file (e.g. "
                                        "benchmarks/RESULTS.md)."),
    force: bool = force_option(),
) -> None:
    """Train and score every model on DATA with its standard protocol; write JSON + Markdown."""
    from cityfocus_bench.forecast import plan, run_forecast_benchmark
    from cityfocus_bench.markdown import section_markdown

    json_file = OutputFile(json_path, option="--json", force=force, suffixes=(".json",))
    results_file = _results_path(results)
    chosen = _names(models, "--models", "model")
    jobs = plan(data, chosen)  # checks dataset and model names before any work
    command = _command("forecast", ("--data", data), ("--json", json_path), ("--models", models),
                       ("--quick", quick), ("--seed", seed or None), ("--results", results))
    result = _with_progress(data, len(jobs), lambda advance: run_forecast_benchmark(
        data, models=chosen, quick=quick, seed=seed, command=command, progress=advance))
    _write(result, json_file, {f"forecast:{data}": section_markdown(result)}, results_file)


@benchmark_app.command("decide")
def decide(
    data: str = typer.Option(..., "--data", help="A dataset with a decision protocol in its "
                             "card: synthetic, nyc_crime, beijing_air_prsa, or your data's "
                             "path (docs/cards.md)."),
    json_path: Path = typer.Option(..., "--json", help="Write all numbers and manifests here."),
    models: str | None = typer.Option(None, help="Comma-separated neural models (default: "
                                      "seed_mlp,lstm,st_transformer; '' for baselines only)."),
    modes: str | None = typer.Option(None, help="Comma-separated training modes (default: "
                                     "forecast,imitate,decide)."),
    quick: bool = typer.Option(False, "--quick", help="Smoke run: a slice of the data, few "
                               "epochs (numbers not comparable)."),
    seed: int = typer.Option(0, help="Seed set before every fit."),
    threads: int | None = typer.Option(None, help="Torch CPU threads (default: torch's; 1 "
                                       "avoids oversubscription on a shared machine)."),
    results: Path | None = typer.Option(None, help="Also replace this benchmark's section "
                                        "of this Markdown results file (e.g. "
                                        "benchmarks/RESULTS.md)."),
    force: bool = force_option(),
) -> None:
    """Allocate with baselines and every model x training mode on DATA; score the decisions
    (regret, hit rate, ...); write JSON + Markdown."""
    from cityfocus_bench.decide import plan, run_decision_benchmark
    from cityfocus_bench.decide_markdown import decision_section_markdown

    json_file = OutputFile(json_path, option="--json", force=force, suffixes=(".json",))
    results_file = _results_path(results)
    chosen = _neural_models(models)
    picked = _names(modes, "--modes", "mode")
    jobs = plan(data, chosen, picked)  # checks dataset, model and mode names before any work
    command = _command("decide", ("--data", data), ("--json", json_path), ("--models", models),
                       ("--modes", modes or None), ("--quick", quick), ("--seed", seed or None),
                       ("--results", results), ("--threads", threads))
    result = _with_progress(data, len(jobs), lambda advance: run_decision_benchmark(
        data, models=chosen, modes=picked, quick=quick, seed=seed, threads=threads,
        command=command, progress=advance))
    _write(result, json_file, {f"decide:{data}": decision_section_markdown(result)},
           results_file)


@benchmark_app.command("robust")
def robust(
    data: str = typer.Option(..., "--data", help="A dataset with a forecast protocol in its "
                             "card: los_loop, beijing_air_prsa, synthetic, or your data's path."),
    json_path: Path = typer.Option(..., "--json", help="Write all numbers here; the plot of "
                                   "error against missing readings goes beside it (.png)."),
    epsilon: float = typer.Option(5.0, help="Attack and adversarial-training bound per input "
                                  "reading, in the target's units (e.g. 5 mph)."),
    epochs: int | None = typer.Option(None, min=1, help="Epochs for every st_transformer fit "
                                      "(default: the card's)."),
    quick: bool = typer.Option(False, "--quick", help="Smoke run: a slice of the data, two "
                               "epochs (numbers not comparable)."),
    results: Path | None = typer.Option(None, help="Also replace this benchmark's section "
                                        "of this Markdown results file."),
    detection_only: bool = typer.Option(False, "--detection-only", help="Only the sensor "
                                        "check against stuck sensors and spikes, seeds 0-4 "
                                        "(seconds; no model is trained, no plot)."),
    force: bool = force_option(),
) -> None:
    """Forecasts with broken sensors (missing, outages, stuck, spikes; the sensor check) and
    under PGD attack, for standard, input-masked and adversarially trained models."""
    from cityfocus_bench.protocols import forecast_protocol
    from cityfocus_bench.robust import (
        detection_markdown,
        robust_markdown,
        robust_plot,
        run_detection_benchmark,
        run_robust_benchmark,
    )

    if not (epsilon > 0 and epsilon < float("inf")):
        raise CityfocusError(f"--epsilon {epsilon}: give a bound > 0 in the target's units")
    json_file = OutputFile(json_path, option="--json", force=force, suffixes=(".json",))
    results_file = _results_path(results)
    forecast_protocol(data)  # a dataset without a forecast protocol is refused before work
    if detection_only:
        command = _command("robust", ("--data", data), ("--json", json_path),
                           ("--detection-only", True), ("--quick", quick), ("--results", results))
        found = run_detection_benchmark(data, quick=quick, command=command)
        _write(found, json_file, {f"robust-detection:{data}": detection_markdown(found)},
               results_file)
        return
    plot_file = OutputFile(json_path.with_suffix(".png"), option="--json (its plot)",
                           force=force, suffixes=(".png",))
    command = _command("robust", ("--data", data), ("--json", json_path),
                       ("--epsilon", f"{epsilon:g}"), ("--epochs", epochs), ("--quick", quick),
                       ("--results", results))
    result = _with_progress(data, 7, lambda advance: run_robust_benchmark(
        data, epsilon=epsilon, quick=quick, epochs=epochs, command=command,
        progress=advance))
    plot_file.write(lambda tmp: tmp.write_bytes(robust_plot(result)))
    plot = None
    if results is not None:
        import os

        plot = os.path.relpath(plot_file.path, results.parent.resolve())
    _write(result, json_file, {f"robust:{data}": robust_markdown(result, plot)}, results_file)


def _results_path(results: Path | None) -> Path | None:
    """The Markdown results file to update (None: none), checked before any work."""
    from cityfocus.outputs import read_for_update
    from cityfocus_bench.markdown import owns_results

    if results is not None:
        read_for_update(results, owns=owns_results, option="--results")
    return results


def _names(text: str | None, option: str, what: str) -> list[str] | None:
    """Comma-separated names (None when the option was not given)."""
    if text is None:
        return None
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise CityfocusError(f"{option} is empty; give comma-separated {what} names")
    return names


def _with_progress(data: str, total: int, run: Callable[[Callable[[Any], None]], dict]) -> dict:
    """Run a benchmark under a progress report advanced once per fit (jobs have
    ``describe``)."""
    with Reporter(f"benchmark on {data}", total=total, unit="fits") as report:
        done = 0

        def advance(job: Any) -> None:
            nonlocal done
            report.update(done, job.describe())
            done += 1

        result = run(advance)
        report.update(total)
    return result


def _write(result: dict, json_file: OutputFile, sections: dict[str, str],
           results_path: Path | None) -> None:
    """Write the JSON, each ``{key: markdown}`` section into RESULTS.md (if a path), and
    print the sections."""
    from cityfocus_bench.forecast import write_json
    from cityfocus_bench.markdown import write_section

    console = Console()
    json_file.write(lambda tmp: write_json(result, tmp))
    for key, markdown in sections.items():
        if results_path is not None:
            write_section(results_path, key, markdown, option="--results")
        console.print(markdown, markup=False, highlight=False, soft_wrap=True)
    where = f" and {results_path}" if results_path is not None else ""
    console.print(f"wrote {json_file.shown}{where}", markup=False, highlight=False)


@benchmark_app.command("energy")
def energy(
    data: str | None = typer.Option(None, "--data", help="Comma-separated SimBench grids: "
                                    "simbench_lv, simbench_mv (default: both)."),
    json_path: Path = typer.Option(..., "--json", help="Write all numbers here."),
    models: str | None = typer.Option(None, help="Comma-separated neural models (default: "
                                      "seed_mlp,lstm,st_transformer; '' for baselines only)."),
    quick: bool = typer.Option(False, "--quick", help="Smoke run: the last 21 days, few "
                               "epochs (numbers not comparable)."),
    seed: int = typer.Option(0, help="Seed set before every fit."),
    threads: int | None = typer.Option(None, min=1, help="Torch CPU threads (default: "
                                       "torch's; 1 avoids oversubscription on a shared "
                                       "machine)."),
    results: Path | None = typer.Option(None, help="Also replace each grid's section of "
                                        "this Markdown results file (e.g. "
                                        "benchmarks/RESULTS.md)."),
    force: bool = force_option(),
) -> None:
    """Forecast each SimBench grid's node net load a day ahead, allocate a daily flexibility
    budget across nodes and hours, and judge every decision with pandapower's AC power
    flow on the realized profiles; write JSON + Markdown."""
    from cityfocus_bench.energy import plan, run_energy_benchmark
    from cityfocus_bench.energy_markdown import energy_section_markdown

    json_file = OutputFile(json_path, option="--json", force=force, suffixes=(".json",))
    results_file = _results_path(results)
    grids = _names(data, "--data", "dataset")
    chosen = _neural_models(models)
    jobs = plan(grids, chosen)  # checks grid and model names before any work
    _energy_extra_installed()
    command = _command("energy", ("--data", data or None), ("--json", json_path),
                       ("--models", models), ("--quick", quick), ("--seed", seed or None),
                       ("--threads", threads), ("--results", results))
    result = _with_progress("SimBench grids", len(jobs), lambda advance: run_energy_benchmark(
        grids, models=chosen, quick=quick, seed=seed, threads=threads, command=command,
        progress=advance))
    _write(result, json_file, {f"energy:{grid['dataset']}": energy_section_markdown(result, grid)
                               for grid in result["grids"]}, results_file)


def _energy_extra_installed() -> None:
    """One line, before any work, when simbench or pandapower is missing."""
    from importlib.util import find_spec

    missing = [p for p in ("simbench", "pandapower") if find_spec(p) is None]
    if missing:
        raise CityfocusError(f"benchmark energy needs {' and '.join(missing)}; install the "
                             "energy extra: .venv/bin/pip install -e '.[energy]'")

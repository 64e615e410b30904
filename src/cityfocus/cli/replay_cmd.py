"""``cityfocus replay``: run policies in the allocate-observe-learn loop over a held-out period."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cityfocus.cli.app import app, force_option, inputs_of
from cityfocus.cli.progress import Reporter
from cityfocus.outputs import OutputFile


@app.command("replay")
def replay(
    data: str = typer.Option("synthetic", help="Dataset name (synthetic builds its truth)."),
    policy: str = typer.Option("forecast", help="uniform, proportional, forecast, decide, "
                               "explore; several separated by commas."),
    observe: str = typer.Option("attention", help="full or attention."),
    steps: int = typer.Option(14, min=1, help="Decisions S replayed (the last S of the data)."),
    retrain_every: int = typer.Option(1, min=0, help="Refit every K decisions (0: frozen)."),
    model: str = typer.Option("historical_average", help="Forecaster of the model policies."),
    epochs: int = typer.Option(3, min=1, help="Epochs per (re)fit of a neural model."),
    lookback: int = typer.Option(24, min=1, help="Input steps of a neural model."),
    train_window: int | None = typer.Option(None, min=1, help="Refit on the last N data steps."),
    unseen_limit: int = typer.Option(7, min=0, help="D: a zone unseen > D decisions is starved."),
    beta: float = typer.Option(0.0, min=0.0, help="explore: Thompson draws at this multiple "
                               "of the posterior spread (0: the posterior mean)."),
    halflife: float = typer.Option(3.0, min=0.0, help="explore: half-life of recent "
                                   "evidence, in decisions."),
    kappa: float = typer.Option(4.0, min=0.0, help="explore: drift shape of a zone's "
                                "long-run level (larger: less exploration of stale zones)."),
    revisit: int = typer.Option(0, min=0, help="explore: revisit every zone at least every "
                                "this many decisions (0: no revisits)."),
    drift_day: int | None = typer.Option(None, help="Synthetic city: move a hotspot on this day."),
    seed: int = typer.Option(0),
    state: Path | None = typer.Option(None, help="Checkpoint each decision here; resume from it."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the results as JSON."),
    png: Path | None = typer.Option(None, help="Write cumulative regret over time as PNG."),
    force: bool = force_option(),
) -> None:
    """Replay the last STEPS decisions: allocate, observe, refit from what was observed."""
    from cityfocus.loop import ReplayConfig, load_source, run_replay
    from cityfocus.loop.checkpoint import check_state_dir
    from cityfocus.loop.figures import plot_regret
    from cityfocus.loop.replay import check_config
    from cityfocus.models.registry import NEURAL

    inputs = inputs_of(data)
    json_file = None if json_out is None else OutputFile(
        json_out, option="--json", force=force, inputs=inputs, suffixes=(".json",))
    png_file = None if png is None else OutputFile(
        png, option="--png", force=force, inputs=inputs, suffixes=(".png",))
    if state is not None:
        check_state_dir(state)
    params = {"lookback": lookback, "epochs": epochs} if model in NEURAL else {}
    base = ReplayConfig(data=data, observe=observe, steps=steps, retrain_every=retrain_every,
                        model=model, model_params=params, train_window=train_window,
                        unseen_limit=unseen_limit, beta=beta, halflife=halflife,
                        kappa=kappa, revisit=revisit, drift_day=drift_day, seed=seed)
    source = load_source(base.resolved())
    results = []
    configs = [ReplayConfig(**{**base.to_dict(), "policy": p.strip()})
               for p in policy.split(",") if p.strip()]
    for config in configs:
        check_config(config.resolved(), source)  # every mistake before the first decision
    with Reporter(f"replay of {data}", total=steps * len(configs), unit="decisions") as report:
        for i, config in enumerate(configs):
            name = config.policy
            state_dir = None if state is None else state / name
            results.append(run_replay(
                config, state_dir=state_dir, source=source,
                progress=_policy_progress(report, i * steps, name)))
    table = Table(title=f"replay of {data}: {steps} decisions, {observe} observation")
    for column in ("policy", "cum. regret", "norm. regret", f"unseen > {unseen_limit}",
                   "retrain s (mean)"):
        table.add_column(column, justify="left" if column == "policy" else "right")
    for result in results:
        s = result["summary"]
        table.add_row(result["config"]["policy"], f"{s['cumulative_regret']:.2f}",
                      f"{s['normalized_regret']:.3f}", f"{s['mean_unseen_share']:.1%}",
                      f"{s['retrain_seconds_mean']:.3f}")
    Console().print(table)
    if json_file is not None:
        json_file.write(json.dumps({"runs": results}, indent=1))
    if png_file is not None:
        png_file.write(lambda tmp: plot_regret(results, tmp, title=f"{data}, {observe} "
                                               "observation"))


def _policy_progress(report: Reporter, offset: int, name: str) -> Callable[[int, int], None]:
    """The progress callback of one policy's replay: its decisions done, after ``offset``
    decisions of the policies before it."""

    def update(done: int, _total: int) -> None:
        report.update(offset + done, f"{name} policy")

    return update

"""The typer application, the options every writing verb shares, and the rule that user
mistakes end in one line and exit code 2."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console

from cityfocus.errors import CityfocusError
from cityfocus.openmp import prefer_passive_wait

if TYPE_CHECKING:
    from cityfocus.data.citydata import CityData

app = typer.Typer(
    name="cityfocus",
    help="Decide where a city spends its limited attention.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def _version(value: bool) -> None:
    if value:
        from cityfocus import __version__

        print(f"cityfocus {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """Decide where a city spends its limited attention."""


def force_option() -> bool:
    """The ``--force`` option of a verb that writes (see cityfocus.outputs)."""
    return typer.Option(False, "--force", help="Replace an earlier cityfocus output at the "
                        "output path (never a file cityfocus did not write).")


def zones_option() -> Path | None:
    """``--zones``: coordinates and names of the zones of the user's own table."""
    return typer.Option(None, "--zones", help="Your own table: a CSV of its zones (id; "
                        "optional name, lat, lon). See docs/data-format.md.")


def adjacency_option() -> Path | None:
    """``--adjacency``: the road/zone graph of the user's own table."""
    return typer.Option(None, "--adjacency", help="Your own table: a CSV adjacency matrix "
                        "of its zones. See docs/data-format.md.")


def target_option() -> str | None:
    """``--target``: which feature of the user's own table measures need."""
    return typer.Option(None, "--target", help="Your own table: the feature that measures "
                        "need (default: the table's first or only feature).")


def load_data(source: str, zones: Path | None = None, adjacency: Path | None = None,
              target: str | None = None) -> CityData:
    """The dataset ``source`` (a name or path) with the user's zones, adjacency and target."""
    from cityfocus.data.readers import load_dataset

    return load_dataset(source, zones=zones, adjacency=adjacency, target=target)


def inputs_of(*sources: str | Path | None) -> list[Path]:
    """The paths among a command's inputs (dataset names and unset options are skipped; a
    built-in dataset name counts as its folder), for the output checks."""
    from cityfocus.data.readers import DATASETS, data_dir

    paths = []
    for source in sources:
        if source is None:
            continue
        if isinstance(source, str) and source in DATASETS:
            if source != "synthetic":
                try:
                    paths.append(data_dir() / source)
                except CityfocusError:
                    pass  # the load reports the missing data directory
            continue
        paths.append(Path(source))
    return paths


def main() -> None:
    """Console entry point. A user mistake (a CityfocusError, or a bad option or value the
    command line parser finds) prints one line and exits 2, with no traceback.

    Sets the passive OpenMP wait policy first (a user's own ``OMP_WAIT_POLICY`` wins): no
    command module imports torch before its verb runs (tests/test_api.py checks this)."""
    prefer_passive_wait()
    try:
        code = app(prog_name="cityfocus", standalone_mode=False)
    except CityfocusError as err:
        _fail(str(err), 2)
    except typer.Abort:
        _fail("aborted", 130)
    except typer.TyperException as err:  # the parser's errors: unknown option, bad value
        if type(err).__name__ == "NoArgsIsHelpError":
            print(err.format_message())
            sys.exit(2)
        ctx = getattr(err, "ctx", None)
        command = ctx.command_path if ctx is not None else "cityfocus"
        _fail(f"{command}: {err.format_message()} (see {command} --help)",
              getattr(err, "exit_code", 2))
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    err_console.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True,
                      markup=True)
    sys.exit(code)

"""The typer application and the rule that user mistakes end in one line and exit code 2."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

from cityfocus.errors import CityfocusError

app = typer.Typer(
    name="cityfocus",
    help="Decide where a city spends its limited attention.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err_console = Console(stderr=True)


def main() -> None:
    """Console entry point: run the app; a CityfocusError prints one line and exits 2."""
    try:
        app()
    except CityfocusError as err:
        err_console.print(f"[bold red]error:[/] {err}", highlight=False, soft_wrap=True)
        sys.exit(2)

"""Shared test helpers: run the real ``cityfocus`` command in a subprocess, or its entry point
in this process (the same code, without a new interpreter importing torch again).

Tests run the entry point in process (``run_here``, the ``cli`` fixture) unless what they check
is the installed command itself (its start-up, its environment, a simulator library that loads
once per process): those few use ``run_cli``."""

from __future__ import annotations

import contextlib
import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cityfocus.openmp import prefer_passive_wait

# before any test module imports torch, as the ``cityfocus`` command does (see cityfocus.openmp)
prefer_passive_wait()


def run_cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run ``python -m cityfocus ARGS`` and capture its output (never raises on failure)."""
    return subprocess.run(
        [sys.executable, "-m", "cityfocus", *args],
        capture_output=True, text=True, cwd=cwd, timeout=300,
    )


def run_in_process(args: list[str], cwd: Path) -> tuple[int, str, str]:
    """Run the ``cityfocus`` entry point in this process in ``cwd``; (exit code, stdout,
    stderr)."""
    from cityfocus.cli import main

    out, err = io.StringIO(), io.StringIO()
    old_cwd, old_argv = Path.cwd(), sys.argv
    os.chdir(cwd)
    sys.argv = ["cityfocus", *args]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                code = 0
            except SystemExit as stop:
                code = stop.code if isinstance(stop.code, int) else 1
    finally:
        os.chdir(old_cwd)
        sys.argv = old_argv
    return code, out.getvalue(), err.getvalue()


def run_here(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``run_in_process`` with ``run_cli``'s signature and result."""
    code, out, err = run_in_process(list(args), Path.cwd() if cwd is None else cwd)
    return subprocess.CompletedProcess(["cityfocus", *args], code, out, err)


@pytest.fixture
def cli():
    return run_here

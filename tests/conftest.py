"""Shared test helpers: run the real ``cityfocus`` command in a subprocess."""

from __future__ import annotations

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


@pytest.fixture
def cli():
    return run_cli

"""Shared pieces of the learning-loop tests: a service over its own store (so activating a
model version or setting a retrain policy never touches the other tests' store), and worker
processes started as a user starts them."""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.serve.conftest import Served, served_at


@pytest.fixture(scope="module")
def learning(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """A service over a fresh SQLite store (synthetic and the small "other" city)."""
    with served_at(tmp_path_factory.mktemp("learning") / "cityfocus-data") as served:
        yield served


def worker(data_dir: Path, *args: str) -> subprocess.Popen[str]:
    """``cityfocus serve worker --data-dir DATA_DIR ARGS`` as a child process."""
    return subprocess.Popen([sys.executable, "-m", "cityfocus", "serve", "worker",
                             "--data-dir", str(data_dir), *args],
                            stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)


def wait_for(check: Callable[[], Any], seconds: float = 60, what: str = "condition") -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")

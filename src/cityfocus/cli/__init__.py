"""The ``cityfocus`` command: one verb per capability."""

from cityfocus.cli import benchmark_cmd, data_cmd, demo_cmd  # noqa: F401  (registers the commands)
from cityfocus.cli.app import app, main

__all__ = ["app", "main"]

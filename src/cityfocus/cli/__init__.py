"""The ``cityfocus`` command: one verb per capability."""

from cityfocus.cli import (  # noqa: F401  (registers)
    allocate_cmd,  # noqa: F401
    benchmark_cmd,
    data_cmd,
    demo_cmd,
    explain_cmd,
    model_cmd,
    replay_cmd,
    serve_cmd,
    signals_cmd,
)
from cityfocus.cli.app import app, main

__all__ = ["app", "main"]

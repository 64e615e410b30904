"""The ``cityfocus`` command: one verb per capability."""

from cityfocus.cli.app import app, main

__all__ = ["app", "main"]

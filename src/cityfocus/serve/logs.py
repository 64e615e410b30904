"""Structured JSON access logs: one line per request on stderr (logger
``cityfocus.serve.access``): time, method, path (no query string), status, duration, client,
and the token's id when one was accepted. Headers, and so tokens, are never logged."""

from __future__ import annotations

import json
import logging
import sys
from typing import Any

from starlette.types import Scope

ACCESS = logging.getLogger("cityfocus.serve.access")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S") + f".{int(record.msecs):03d}",
            "level": record.levelname.lower(), "logger": record.name}
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        else:
            entry["message"] = record.getMessage()
        return json.dumps(entry, default=str)


def configure_access_log() -> None:
    """Send the access log, as JSON lines, to stderr (once)."""
    if not any(getattr(h, "_cityfocus", False) for h in ACCESS.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(JsonFormatter())
        handler._cityfocus = True  # type: ignore[attr-defined]
        ACCESS.addHandler(handler)
    ACCESS.setLevel(logging.INFO)
    ACCESS.propagate = False


def log_access(scope: Scope, status: int, seconds: float) -> None:
    """Write one JSON access line for a finished request (an ``ObserveRequests`` observer)."""
    client = scope.get("client")
    state = scope.get("state") or {}
    ACCESS.info("request", extra={"fields": {
        "method": scope.get("method"), "path": scope.get("path"), "status": status,
        "ms": round(seconds * 1000, 2),
        "client": f"{client[0]}:{client[1]}" if client else None,
        "token_id": state.get("token_id")}})

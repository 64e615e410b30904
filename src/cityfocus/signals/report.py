"""A signal-control result: runs, mean ± std over seeds, its manifest, and its Markdown table."""

from __future__ import annotations

import math
import platform
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

from cityfocus.evaluate.tables import markdown_table
from cityfocus.signals.metrics import METRICS
from cityfocus.signals.runner import HISTORY_SEED_BASE, summarize

DEFINITIONS = {
    "delay": "mean SUMO timeLoss (s) over all inserted vehicles, unfinished ones included "
    "(RESCO; --tripinfo-output.write-unfinished)",
    "travel_time": "mean duration (s) of the vehicles that arrived",
    "waiting_time": "mean waitingTime (s, speed < 0.1 m/s) over all inserted vehicles",
    "throughput": "vehicles that arrived",
    "max_queue": "most vehicles halting at once on all controlled incoming lanes",
    "vehicles": "vehicles inserted (a congested network inserts fewer)",
}
_LABELS = {"delay": "delay s", "travel_time": "travel time s", "waiting_time": "waiting s",
           "throughput": "throughput", "max_queue": "max queue", "vehicles": "vehicles"}


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def build_result(runs: list[dict[str, Any]], *, command: str, duration: float | None,
                 history_days: int, note: str = "") -> dict[str, Any]:
    """The JSON-ready record of a set of runs (``run_many``'s output)."""
    return {
        "manifest": {
            "command": command,
            "duration": duration,
            "history_days": history_days,
            "history_seeds": [HISTORY_SEED_BASE + k for k in range(history_days)],
            "sumo": _version("eclipse-sumo"),
            "sumo_rl": _version("sumo-rl"),
            "python": platform.python_version(),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "metrics": DEFINITIONS,
            "note": note,
        },
        "summary": summarize(runs),
        "runs": runs,
    }


def _cell(stat: dict[str, float], digits: int) -> str:
    mean, std = stat["mean"], stat["std"]
    if not math.isfinite(mean):
        return "—"
    if not math.isfinite(std):
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def summary_table(result: dict[str, Any]) -> list[str]:
    """Markdown lines: one row per scenario and controller, mean ± std over seeds."""
    header = ["scenario", "controller", "seeds", *(_LABELS[m] for m in METRICS)]
    rows = []
    for row in result["summary"]:
        digits = {"throughput": 0, "max_queue": 1, "vehicles": 0}
        rows.append([row["scenario"], row["controller"], str(len(row["seeds"])),
                     *(_cell(row[m], digits.get(m, 1)) for m in METRICS)])
    return markdown_table(header, rows)

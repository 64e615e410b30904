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
    "resco_delay": "RESCO's delay (s): timeLoss + departDelay of every trip that entered, plus "
    "(end of run - scheduled depart) of every scheduled trip that never entered, over all of "
    "them; no teleporting (resco_benchmark/utils/readXML.py)",
    "never_entered": "scheduled trips still waiting to enter at the end of the run",
    "teleports": "vehicles teleported (a jammed vehicle is never teleported, "
    "--time-to-teleport -1; SUMO still teleports one after a collision, its default "
    "collision action)",
    "max_wait": "longest any single trip waited (s): departDelay + waitingTime of a trip that "
    "entered, end - scheduled depart of one that never did",
    "delay": "mean SUMO timeLoss (s) of the trips that entered, unfinished ones included "
    "(the earlier 'RESCO delay' of these results, without entry delays)",
    "travel_time": "mean duration (s) of the vehicles that arrived",
    "waiting_time": "mean waitingTime (s, speed < 0.1 m/s) of the trips that entered",
    "throughput": "vehicles that arrived",
    "max_queue": "most vehicles halting at once on all controlled incoming lanes",
    "vehicles": "trips that entered the network",
}
_LABELS = {"resco_delay": "RESCO delay s", "never_entered": "never entered",
           "teleports": "teleports", "max_wait": "longest wait s", "delay": "timeLoss s",
           "travel_time": "travel time s", "waiting_time": "waiting s",
           "throughput": "throughput", "max_queue": "max queue", "vehicles": "vehicles"}
_DIGITS = {"never_entered": 0, "teleports": 0, "max_wait": 0, "throughput": 0,
           "max_queue": 1, "vehicles": 0}


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
        rows.append([row["scenario"], row["controller"], str(len(row["seeds"])),
                     *(_cell(row[m], _DIGITS.get(m, 1)) for m in METRICS)])
    return markdown_table(header, rows)

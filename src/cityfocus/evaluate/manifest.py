"""The manifest every published figure carries: data, split, window, metrics, seed, command."""

from __future__ import annotations

import subprocess
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class Manifest:
    """How a number was made, so it can be reproduced and read correctly.

    Attributes:
        data: dataset name and provenance (e.g. ``{"name": "los_loop", "shape": [...]}``).
        split: the split used (part bounds as time indices, and how they were chosen).
        lookback: L, input steps per window.
        horizon: H, forecast steps per window.
        seed: the random seed of the run.
        command: the command line that reproduces the figure.
        extra: anything else the protocol needs to state (window rule, units, model params).
    """

    data: Mapping[str, Any] | str | None = None
    split: Mapping[str, Any] | None = None
    lookback: int | None = None
    horizon: int | None = None
    seed: int | None = None
    command: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self, metric_definitions: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A plain dict (JSON-ready), with the definitions of the metrics reported."""
        out = asdict(self)
        out["metrics"] = dict(metric_definitions or {})
        return out


def git_commit() -> str | None:
    """The checkout's commit (with ``+changes`` when ``src`` differs from it), None outside
    git: recorded with every benchmark result."""
    here = Path(__file__).parent
    try:
        head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                              text=True, timeout=10, check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                ":(top)src"], cwd=here, capture_output=True, text=True,
                               timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{head}+changes" if dirty.strip() else head


def at_commit(environment: Mapping[str, Any]) -> str:
    """`` at commit abc1234`` (``+changes`` kept) for a result's ``environment``, or ``""``."""
    commit = environment.get("git_commit")
    if not commit:
        return ""
    return f" at commit {commit[:7]}{'+changes' if commit.endswith('+changes') else ''}"

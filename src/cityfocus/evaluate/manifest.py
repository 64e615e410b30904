"""The manifest every published figure carries: data, split, window, metrics, seed, command."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
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

"""The step between timestamps: read from a user's ``freq``, inferred from the data, and
printed for people (``5 min``, ``1 h``, ``7 days``) in every message that names one."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np
import pandas as pd

from cityfocus.errors import DataError

# largest unit first: a step is printed in the largest unit that divides it exactly
_UNITS = (
    (pd.Timedelta(days=1), "day"),
    (pd.Timedelta(hours=1), "h"),
    (pd.Timedelta(minutes=1), "min"),
    (pd.Timedelta(seconds=1), "s"),
    (pd.Timedelta(milliseconds=1), "ms"),
    (pd.Timedelta(microseconds=1), "us"),
)


def format_freq(step: pd.Timedelta | dt.timedelta | np.timedelta64) -> str:
    """A step as people write it: ``30 s``, ``5 min``, ``1 h``, ``90 min``, ``1 day``,
    ``7 days``; the largest unit that divides the step exactly (``36 h``, not ``1.5 days``)."""
    step = pd.Timedelta(step)
    if step.value == 0:
        return "0 s"
    sign = "-" if step.value < 0 else ""
    step = abs(step)
    for unit, label in _UNITS:
        if step.value % unit.value == 0:
            count = step.value // unit.value
            if label == "day" and count != 1:
                label = "days"
            return f"{sign}{count} {label}"
    return f"{sign}{step.value} ns"


def parse_freq(freq: str | pd.Timedelta | dt.timedelta, source: str | Path | None) -> pd.Timedelta:
    """``freq`` (``"5min"``, ``"h"``, ``"D"``, ``"7D"`` or a timedelta) as a positive fixed step;
    DataError naming ``source`` for a calendar frequency (``"MS"``) or a non-positive step."""
    try:
        offset = pd.tseries.frequencies.to_offset(freq) if isinstance(freq, str) else freq
        # pandas-stubs accept only Tick offsets, but pandas 3 converts Day ("D", "7D") too; a
        # calendar offset ("MS") raises ValueError, caught below
        step = pd.Timedelta(offset)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise DataError(
            f"freq {freq!r} is not a fixed step", source=source, hint="use e.g. 5min, h, D, 7D"
        ) from None
    if step <= pd.Timedelta(0):
        raise DataError(f"freq {freq!r} must be positive", source=source)
    return step


def most_common_gap(gaps: np.ndarray) -> tuple[int, int]:
    """The most common of ``gaps`` (``[K]`` int64, > 0) and how often it occurs; among equally
    common gaps the smallest, so a series with one gap of each length keeps its finest step."""
    lengths, counts = np.unique(gaps, return_counts=True)
    best = int(np.argmax(counts))  # argmax takes the first maximum, i.e. the smallest gap
    return int(lengths[best]), int(counts[best])

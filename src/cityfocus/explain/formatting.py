"""How the report prints numbers, counts and durations, so every sentence reads the same way.

``number`` rounds a figure the way a person reads it; ``distinct`` adds just enough digits
that figures which decide an outcome (a zone's next-unit gain against the price, a forecast
against its threshold, two plans' scores) never read as equal when they are not.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import pandas as pd

# the most digits ``distinct`` adds; closer figures are ties to the solver's own tolerance
_MOST_EXTRA_DIGITS = 8


def number(value: float, extra: int = 0) -> str:
    """A figure the way a person reads it: 4.1, 0.31, 1,250, 0.0042 (``extra`` more digits)."""
    if not math.isfinite(value):
        return "n/a"
    size = abs(value)
    if size == 0:
        return "0"
    if size < 0.1:
        return f"{value:.{2 + extra}g}"
    decimals = 0 if size >= 100 else 1 if size >= 1 else 2
    return f"{value:,.{decimals + extra}f}"


def _reads_as(text: str) -> float:
    return float(text.replace(",", ""))


def distinct(*values: float) -> list[str]:
    """``number`` of each value, with the fewest extra digits (the same for all) at which any
    two values that differ also read differently: ``distinct(1.04, 1.03) == ["1.04", "1.03"]``
    where ``number`` prints both as 1.0. Equal values print equally."""
    texts: list[str] = []
    for extra in range(_MOST_EXTRA_DIGITS + 1):
        texts = [number(v, extra) for v in values]
        if all(_reads_apart(a, b, ta, tb) for (a, ta), (b, tb) in _pairs(values, texts)):
            break
    return texts


def _pairs(values: Sequence[float], texts: Sequence[str]) -> list[tuple[tuple[float, str],
                                                                          tuple[float, str]]]:
    items = list(zip(values, texts, strict=True))
    return [(items[i], items[j]) for i in range(len(items)) for j in range(i + 1, len(items))]


def _reads_apart(a: float, b: float, ta: str, tb: str) -> bool:
    if a == b or not (math.isfinite(a) and math.isfinite(b)):
        return True
    return _reads_as(ta) != _reads_as(tb)


def signed_percent(change: float, decimals: int = 1) -> str:
    """``+1.2%``, ``-0.03%``: ``decimals`` decimals, more when needed to show a non-zero
    change."""
    for shown in range(decimals, _MOST_EXTRA_DIGITS + 1):
        text = f"{change:+.{shown}%}"
        if change == 0 or _reads_as(text.rstrip("%")) != 0:
            return text
    return f"{change:+.{_MOST_EXTRA_DIGITS}%}"


def count(n: float) -> str:
    """A whole count without a decimal point: ``2``, ``1,250``."""
    return f"{int(round(n)):,}"


def plural(n: float, word: str, words: str | None = None) -> str:
    """``1 unit``, ``2 units``, ``0 units``, ``1 zone`` (``words``: an irregular plural)."""
    many = words if words is not None else word + "s"
    return f"{count(n)} {word if int(round(n)) == 1 else many}"


def duration(delta: pd.Timedelta) -> str:
    """``2 days``, ``3 h``, ``15 min``."""
    minutes = delta.total_seconds() / 60
    if minutes >= 1440 and minutes % 1440 == 0:
        return plural(minutes // 1440, "day")
    if minutes >= 60 and minutes % 60 == 0:
        return f"{int(minutes // 60)} h"
    return f"{minutes:g} min"


def ordinal(n: int) -> str:
    """``1st``, ``2nd``, ``11th``, ``21st``."""
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"

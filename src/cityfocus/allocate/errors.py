"""The one error type of the allocation engine: bad demand, bounds, budget or family."""

from __future__ import annotations

from cityfocus.errors import CityfocusError


class AllocationError(CityfocusError):
    """An allocation problem that cannot be solved as given (it is a ``ValueError``).

    The message says what is wrong, where (problem row, zone index) and how to fix it.
    """


def where(zone: int, row: int | None = None) -> str:
    """``"zone 3"`` or ``"problem 2, zone 3"`` for messages about one entry of a batch."""
    return f"zone {zone}" if row is None else f"problem {row}, zone {zone}"

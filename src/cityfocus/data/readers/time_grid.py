"""From the timestamps of a table's rows to one regular time grid, and the rows onto it.

Without ``freq`` the step is the most common gap between distinct timestamps and every
timestamp must lie on its grid: one mistyped ``05:30`` in hourly data is an error naming its
line, not a reason to halve the step. With ``freq`` the rows are floored onto that grid and rows
that land on the same step (and zone) are averaged. Guide: docs/data-format.md.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from cityfocus.data.readers.checked_csv import SourceTable
from cityfocus.data.timestep import format_freq, most_common_gap, parse_freq
from cityfocus.errors import DataError

TIMESTAMP = "timestamp"
MAX_EMPTY_SHARE = 0.9  # an inferred grid this empty, from a step that is not dominant, is a guess


def parse_timestamps(table: SourceTable, column: str) -> pd.DatetimeIndex:
    """The column as dates (in UTC when they carry several UTC offsets); DataError naming the
    line of the first empty or unreadable one."""
    raw = table.frame[column]
    empty = np.flatnonzero(raw.isna().to_numpy())
    if len(empty):
        raise table.error("missing timestamp", int(empty[0]), column=column)
    if pd.api.types.is_datetime64_any_dtype(raw):
        return pd.DatetimeIndex(raw)
    text = raw.astype(str).str.strip()
    try:
        with warnings.catch_warnings():  # pandas 2 warns of several offsets, then gives objects
            warnings.simplefilter("ignore", FutureWarning)
            stamps = pd.to_datetime(text, format="ISO8601", errors="coerce")
            if stamps.isna().any():
                stamps = pd.to_datetime(text, format="mixed", errors="coerce")
        if not pd.api.types.is_datetime64_any_dtype(stamps):
            raise ValueError("several UTC offsets")
    except ValueError:  # several UTC offsets (local time across a DST change): keep the instants
        stamps = pd.to_datetime(text, format="mixed", errors="coerce", utc=True)
    bad = np.flatnonzero(stamps.isna().to_numpy())
    if len(bad):
        i = int(bad[0])
        try:  # a date the column parse could not hold (pandas 2 gives no date out of range)
            alone = pd.Timestamp(text.iloc[i])
        except (ValueError, OverflowError):
            alone = None
        if alone is None or not pd.notna(alone) or 1678 <= alone.year <= 2261:
            raise table.error(
                f"not a date: {text.iloc[i]!r}",
                i,
                column=column,
                hint="use ISO dates such as 2024-03-01 08:00",
            )
        raise _out_of_range(table, text.iloc[i], alone, i, column)
    year = stamps.dt.year.to_numpy()
    outside = np.flatnonzero((year < 1678) | (year > 2261))  # what nanoseconds can count
    if len(outside):
        i = int(outside[0])
        raise _out_of_range(table, text.iloc[i], stamps.iloc[i], i, column)
    try:
        return pd.DatetimeIndex(stamps).as_unit("ns")
    except (TypeError, ValueError) as err:  # e.g. a mix of time zones
        raise DataError(
            f"inconsistent timestamps ({err})", source=table.source, column=column
        ) from None


def _out_of_range(table: SourceTable, text: str, read: pd.Timestamp, row: int,
                  column: str) -> DataError:
    return table.error(
        f"date {text!r} is out of range (read as {read})",
        row,
        column=column,
        hint="use ISO dates such as 2024-03-01 08:00, between the years 1678 and 2261",
    )


def regular_grid(
    stamps: pd.DatetimeIndex, freq: str | None, table: SourceTable, column: str = TIMESTAMP
) -> tuple[pd.DatetimeIndex, np.ndarray]:
    """The regular time grid covering ``stamps`` (``[rows]``) and each row's step on it.

    The grid's step is ``freq``, else the most common gap between distinct timestamps (the
    smallest of equally common ones). It passes through the phase most timestamps share, so a
    mistyped first row does not shift it. With ``freq`` a timestamp between two steps is
    floored to the earlier one. Without it, a timestamp off the grid is a DataError naming its
    line, and so are irregular timestamps (see ``_check_inferred_grid``).

    Returns:
        ``grid`` (``[T]``, from the first row's step to the last) and ``step_of_row``
        (``[rows]`` int64 index into ``grid``; several rows may share a step).
    """
    ns = stamps.as_unit("ns").asi8
    distinct = np.unique(ns)
    if freq is not None:
        step = parse_freq(freq, table.source).value
    elif len(distinct) > 1:
        step = most_common_gap(np.diff(distinct))[0]
    else:
        raise DataError("a single time step needs the 'freq' option", source=table.source)
    phases, counts = np.unique((distinct - distinct[0]) % step, return_counts=True)
    # equally common phases: the first timestamp's (phase 0) wins, as argmax takes the first
    anchor = distinct[0] + int(phases[int(np.argmax(counts))])
    step_of_row = (ns - anchor) // step
    first = int(step_of_row.min())
    T = int(step_of_row.max()) - first + 1
    if freq is None:
        _check_inferred_grid(stamps, (ns - anchor) % step != 0, step, T, table, column)
    start = pd.Timestamp(anchor + first * step, unit="ns", tz=stamps.tz)
    grid = pd.date_range(start, periods=T, freq=pd.Timedelta(step))
    return grid, step_of_row - first


def _check_inferred_grid(
    stamps: pd.DatetimeIndex,
    off_grid: np.ndarray,
    step: int,
    T: int,
    table: SourceTable,
    column: str,
) -> None:
    """Refuse an inferred step that does not describe the timestamps.

    The step is dominant when it is at least half of the gaps between distinct timestamps.
    Then a timestamp off its grid is a typo: DataError naming the first such row (file order).
    A step that is not dominant is refused as irregular when a timestamp is off its grid or
    when its grid would be more than ``MAX_EMPTY_SHARE`` empty (events at arbitrary minutes).
    """
    ns = stamps.as_unit("ns").asi8
    distinct = np.unique(ns)
    gaps = np.diff(distinct)
    occurrences = int((gaps == step).sum())
    rows = np.flatnonzero(off_grid)
    empty = T - len(distinct)
    if 2 * occurrences >= len(gaps):
        if not len(rows):
            return
        i = int(rows[0])
        start = pd.Timestamp(int(ns[~off_grid].min()), unit="ns", tz=stamps.tz)
        raise table.error(
            f"timestamp {stamps[i]} is off the {format_freq(pd.Timedelta(step))} grid "
            f"starting {start}",
            i,
            column=column,
            hint="fix the row, or pass an explicit frequency to resample",
        )
    if not len(rows) and empty <= MAX_EMPTY_SHARE * T:
        return
    problem = (
        f"irregular timestamps: no dominant step (the most common gap, "
        f"{format_freq(pd.Timedelta(step))}, is {occurrences} of {len(gaps)} gaps"
    )
    hint = "resample to a fixed step, or pass an explicit frequency to floor rows onto its grid"
    if len(rows):
        i = int(rows[0])
        raise table.error(f"{problem}; {stamps[i]} is off its grid)", i, column=column, hint=hint)
    raise DataError(
        f"{problem}; its grid would leave {empty} of {T} steps empty)",
        source=table.source,
        column=column,
        hint=hint,
    )


def place_rows(
    numbers: np.ndarray, step_of_row: np.ndarray, zone_of_row: np.ndarray | None, T: int, N: int
) -> np.ndarray:
    """``[T, N, F]`` float32 with NaN where nothing was observed, from ``numbers``.

    Args:
        numbers: ``[rows, F]`` (long table: the features) or ``[rows, N]`` (wide matrix, with
            ``zone_of_row=None``: one feature per zone); NaN where a cell is empty.
        step_of_row: ``[rows]`` step of each row on the grid.
        zone_of_row: ``[rows]`` zone of each row, or None for a wide matrix.
        T, N: grid steps and zones.

    Cells that several rows land on (only after flooring to an explicit ``freq``) hold the
    mean of their observed values.
    """
    if zone_of_row is None:  # wide: each row holds every zone's one feature
        numbers = numbers.reshape(len(numbers), N, 1)
        at: tuple[np.ndarray, ...] = (step_of_row,)
    else:
        at = (step_of_row, zone_of_row)
    F = numbers.shape[-1]
    total = np.zeros((T, N, F), dtype=np.float64)
    count = np.zeros((T, N, F), dtype=np.int64)
    observed = ~np.isnan(numbers)
    np.add.at(total, at, np.where(observed, numbers, 0.0))
    np.add.at(count, at, observed)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(count > 0, total / count, np.nan).astype(np.float32)

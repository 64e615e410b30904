"""Sliding windows (lookback L, horizon H) over CityData, carrying the observed-mask.

A window with start ``s`` has inputs at steps ``s .. s+L-1`` and targets at ``s+L .. s+L+H-1``
(``window_steps``, the one definition: ``Windows.batch`` gathers numpy arrays with it, the
training engine's ``WindowTensors`` gathers tensors with it). Windows are index arithmetic
over the dataset's arrays, so making them costs no memory.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.data.split import Split
from cityfocus.errors import DataError


@dataclass(frozen=True)
class WindowBatch:
    """Arrays for B windows.

    Attributes:
        x: ``[B, L, N, F]`` inputs (0 where unobserved).
        x_mask: ``[B, L, N, F]`` True where observed.
        y: ``[B, H, N]`` target feature over the horizon.
        y_mask: ``[B, H, N]`` True where the target was observed (only those count).
        x_time: ``[B, L, 2]`` int (slot of day, day of week) of each input step.
        y_time: ``[B, H, 2]`` int (slot of day, day of week) of each target step.
        start: ``[B]`` start index of each window in the dataset.
    """

    x: np.ndarray
    x_mask: np.ndarray
    y: np.ndarray
    y_mask: np.ndarray
    x_time: np.ndarray
    y_time: np.ndarray
    start: np.ndarray


def time_features(timestamps: pd.DatetimeIndex, freq: pd.Timedelta) -> np.ndarray:
    """``[T, 2]`` int64: slot of the day (0 .. steps_per_day-1) and day of week (Mon=0).

    For steps of a day or longer the slot is always 0.
    """
    minutes = timestamps.hour * 60 + timestamps.minute
    step_minutes = max(int(freq.total_seconds() // 60), 1)
    slot = np.asarray(minutes // step_minutes, dtype=np.int64)
    if freq >= pd.Timedelta(days=1):
        slot = np.zeros(len(timestamps), dtype=np.int64)
    return np.stack([slot, np.asarray(timestamps.day_of_week, dtype=np.int64)], axis=1)


def window_steps(starts: np.ndarray, lookback: int,
                 horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Data steps of the windows starting at ``starts`` ``[B]``: inputs ``[B, L]``
    (``s .. s+L-1``) and targets ``[B, H]`` (``s+L .. s+L+H-1``), int64."""
    starts = np.asarray(starts, dtype=np.int64)
    x_steps = starts[:, None] + np.arange(lookback)[None, :]
    y_steps = starts[:, None] + lookback + np.arange(horizon)[None, :]
    return x_steps, y_steps


def steps_per_day(freq: pd.Timedelta) -> int:
    """Number of time-of-day slots (1 for daily or coarser data)."""
    return max(int(pd.Timedelta(days=1) // freq), 1)


class Windows:
    """All windows of a dataset whose targets fall in ``[target_start, target_stop)``.

    Args:
        data: the dataset.
        lookback: L, input steps.
        horizon: H, target steps.
        target_start, target_stop: the time range the targets must lie in (default: all).
        context: allow inputs before ``target_start`` (earlier data only, so no leakage).
        stride: step between consecutive window starts.

    Raises:
        DataError: when L or H is not positive or no window fits.
    """

    def __init__(
        self,
        data: CityData,
        lookback: int,
        horizon: int,
        *,
        target_start: int = 0,
        target_stop: int | None = None,
        context: bool = True,
        stride: int = 1,
    ) -> None:
        T = data.shape[0]
        target_stop = T if target_stop is None else target_stop
        if lookback < 1 or horizon < 1 or stride < 1:
            raise DataError(
                f"lookback, horizon and stride must be >= 1, got {lookback}, {horizon}, {stride}",
                source=data.name,
            )
        first = max(target_start - lookback, 0) if context else target_start
        last = target_stop - lookback - horizon  # last valid start, inclusive
        if last < first:
            raise DataError(
                f"no window fits: lookback {lookback} + horizon {horizon} need "
                f"{lookback + horizon} steps, the range has {target_stop - first}",
                source=data.name,
                hint="use a shorter lookback/horizon or a longer period",
            )
        self.data = data
        self.lookback = lookback
        self.horizon = horizon
        self.starts = np.arange(first, last + 1, stride, dtype=np.int64)
        self._time = time_features(data.timestamps, data.freq)

    def __len__(self) -> int:
        return len(self.starts)

    def batch(self, index: np.ndarray | slice | None = None) -> WindowBatch:
        """Gather the windows at ``index`` (positions into this set; default all)."""
        starts = self.starts if index is None else self.starts[index]
        starts = np.atleast_1d(starts)
        x_steps, y_steps = window_steps(starts, self.lookback, self.horizon)
        k = self.data.target_index
        return WindowBatch(
            x=self.data.values[x_steps],
            x_mask=self.data.mask[x_steps],
            y=self.data.values[y_steps, :, k],
            y_mask=self.data.mask[y_steps, :, k],
            x_time=self._time[x_steps],
            y_time=self._time[y_steps],
            start=starts,
        )

    def target_times(self) -> pd.DatetimeIndex:
        """Timestamp of the first target step of every window."""
        return self.data.timestamps[self.starts + self.lookback]


def split_windows(split: Split, part: str, lookback: int, horizon: int, *, context: bool = True,
                  stride: int = 1) -> Windows:
    """Windows whose targets lie in one part of a split; inputs may reach back into earlier
    parts (never forward), which is the usual rolling-evaluation protocol."""
    start, stop = split.bounds(part)
    return Windows(split.data, lookback, horizon, target_start=start, target_stop=stop,
                   context=context, stride=stride)

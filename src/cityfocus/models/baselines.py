"""Baseline forecasters: historical average by time slot, and persistence (last value)."""

from __future__ import annotations

import numpy as np

from cityfocus.data.citydata import CityData
from cityfocus.data.windows import Windows, steps_per_day, time_features
from cityfocus.errors import DataError
from cityfocus.models.forecast import Forecast, forecast_start, forecast_times


class HistoricalAverage:
    """Mean of the target at the same slot of the day and day of the week in training data.

    Falls back to the slot-of-day mean, then to the zone mean, where a (slot, weekday)
    cell was never observed.

    Args:
        horizon: H, steps forecast.
        weekly: average by (slot, weekday); False averages by slot of day only.
    """

    lookback = 0

    def __init__(self, horizon: int = 1, weekly: bool = True) -> None:
        self.horizon = horizon
        self.weekly = weekly

    def fit(self, train: CityData, val: CityData | None = None) -> HistoricalAverage:
        y, m = train.target_values.astype(np.float64), train.target_mask
        if not m.any():
            raise DataError("no observed target in the training data", source=train.name)
        tf = time_features(train.timestamps, train.freq)
        slots = steps_per_day(train.freq)
        days = 7 if self.weekly else 1
        key = tf[:, 0] + slots * (tf[:, 1] if self.weekly else 0)
        total = np.zeros((slots * days, train.shape[1]))
        count = np.zeros_like(total)
        np.add.at(total, key, y * m)
        np.add.at(count, key, m)
        zone_mean = (y * m).sum(0) / np.maximum(m.sum(0), 1)
        slot_total = total.reshape(days, slots, -1).sum(0)
        slot_count = count.reshape(days, slots, -1).sum(0)
        slot_mean = np.where(slot_count > 0, slot_total / np.maximum(slot_count, 1), zone_mean)
        table = np.where(count > 0, total / np.maximum(count, 1), np.tile(slot_mean, (days, 1)))
        self.table_ = table.astype(np.float32)
        self.slots_ = slots
        self.zones_ = list(train.zones["id"])
        return self

    def predict(self, data: CityData, at: int | None = None) -> Forecast:
        """Forecast steps ``at .. at+H-1`` (default: the H steps after the data)."""
        at = forecast_start(data, at, 0)
        times = forecast_times(data, at, self.horizon)
        tf = time_features(times, data.freq)
        key = tf[:, 0] + self.slots_ * (tf[:, 1] if self.weekly else 0)
        window_end = data.timestamps[at - 1] if at > 0 else None
        return Forecast(self.table_[key], times, self.zones_, window_end)

    def predict_windows(self, windows: Windows) -> np.ndarray:
        """``[S, H, N]`` forecasts for every window (original units)."""
        y_time = windows.batch().y_time
        key = y_time[..., 0] + self.slots_ * (y_time[..., 1] if self.weekly else 0)
        return self.table_[key]


class Persistence:
    """The last observed value of each zone, repeated over the horizon."""

    lookback = 1

    def __init__(self, horizon: int = 1) -> None:
        self.horizon = horizon

    def fit(self, train: CityData, val: CityData | None = None) -> Persistence:
        self.zones_ = list(train.zones["id"])
        return self

    def predict(self, data: CityData, at: int | None = None) -> Forecast:
        at = forecast_start(data, at, 1)
        y, m = data.target_values[:at], data.target_mask[:at]
        # index of the last observed step per zone (0 if never observed -> value 0)
        last = np.where(m.any(0), at - 1 - np.argmax(m[::-1], axis=0), 0)
        value = y[last, np.arange(y.shape[1])]
        mean = np.tile(value, (self.horizon, 1)).astype(np.float32)
        return Forecast(mean, forecast_times(data, at, self.horizon), self.zones_,
                        data.timestamps[at - 1])

    def predict_windows(self, windows: Windows) -> np.ndarray:
        """``[S, H, N]``: each window's last observed input value per zone (0 if none)."""
        batch = windows.batch()
        k = windows.data.target_index
        x, m = batch.x[..., k], batch.x_mask[..., k]  # [S, L, N]
        L = x.shape[1]
        last = np.where(m.any(1), L - 1 - np.argmax(m[:, ::-1], axis=1), 0)  # [S, N]
        value = np.take_along_axis(x, last[:, None, :], axis=1)[:, 0]
        return np.repeat(value[:, None, :], self.horizon, axis=1).astype(np.float32)

"""Which step of a dataset a time names: ``step_at(data, "2024-02-20 08:00")``."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from cityfocus.data.citydata import CityData
from cityfocus.data.timestep import format_freq
from cityfocus.errors import CityfocusError, DataError


def step_at(data: CityData, when: str | dt.datetime | pd.Timestamp | None,
            what: str = "time") -> int:
    """Index of the step stamped ``when``: the first step to forecast in ``predict(data, at)``.

    Args:
        data: the dataset whose time steps are searched.
        when: a timestamp or its text (``"2024-02-20 08:00"``); the step just after the last
            one (``T``) is allowed, so a forecast may start where the data ends; None means
            that step.
        what: how messages name ``when`` (the command line passes ``"--at"``).

    Returns:
        ``t`` in ``0 .. T``.

    Raises:
        CityfocusError: ``when`` is not a timestamp.
        DataError: ``when`` is not one of the data's steps (the message gives the period and
            the step).
    """
    if when is None:
        return data.shape[0]
    try:
        stamp = pd.Timestamp(when)
    except ValueError:
        raise CityfocusError(f"{what} {when!r} is not a timestamp (e.g. 2024-02-20 08:00)"
                             ) from None
    end = data.timestamps[-1] + data.freq
    if stamp == end:
        return data.shape[0]
    where = data.timestamps.get_indexer(pd.DatetimeIndex([stamp]))[0]
    if where < 0:
        raise DataError(f"{what} {stamp} is not a time step of the data "
                        f"({data.timestamps[0]} .. {end}, every {format_freq(data.freq)})",
                        source=data.name)
    return int(where)

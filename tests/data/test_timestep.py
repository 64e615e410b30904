"""Steps printed for people and read from users."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from cityfocus.data.citydata import format_freq
from cityfocus.data.timestep import most_common_gap, parse_freq
from cityfocus.errors import DataError


@pytest.mark.parametrize(
    ("step", "text"),
    [
        (pd.Timedelta("30s"), "30 s"),
        (pd.Timedelta("5min"), "5 min"),
        (pd.Timedelta("90min"), "90 min"),
        (pd.Timedelta("1h"), "1 h"),
        (pd.Timedelta("36h"), "36 h"),
        (pd.Timedelta("1D"), "1 day"),
        (pd.Timedelta("7D"), "7 days"),
        (pd.Timedelta("1500ms"), "1500 ms"),
        (dt.timedelta(hours=2), "2 h"),
        (pd.Timedelta(0), "0 s"),
    ],
)
def test_format_freq(step, text):
    assert format_freq(step) == text


def test_parse_freq_refuses_calendar_and_non_positive_steps():
    assert parse_freq("15min", "x.csv") == pd.Timedelta("15min")
    with pytest.raises(DataError, match=r"^x.csv: freq 'MS' is not a fixed step"):
        parse_freq("MS", "x.csv")
    with pytest.raises(DataError, match=r"^x.csv: freq '-1h' must be positive"):
        parse_freq("-1h", "x.csv")


def test_most_common_gap_prefers_the_smaller_on_a_tie():
    assert most_common_gap(pd.Series([60, 60, 30, 90]).to_numpy()) == (60, 2)
    assert most_common_gap(pd.Series([90, 30]).to_numpy()) == (30, 1)

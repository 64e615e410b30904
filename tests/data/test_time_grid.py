"""Inferring the step of a user's table, refusing rows off its grid, and resampling onto an
explicit ``freq``: through ``load_dataset`` and through ``cityfocus data info``."""

from __future__ import annotations

import numpy as np
import pandas as pd

from cityfocus.data.readers import load_dataset
from tests.conftest import run_here
from tests.data.helpers import error_of, write


def hourly_long(off: int | None = None, zones: str = "ab") -> str:
    """Ten hourly steps for each zone; the row of hour ``off`` typed at :30 instead of :00."""
    rows = ["timestamp,zone,n"]
    for h in range(10):
        for zone in zones:
            minute = 30 if h == off else 0
            rows.append(f"2024-01-01 {h:02d}:{minute:02d},{zone},{h}")
    return "\n".join(rows) + "\n"


def hourly_wide(off: int | None = None) -> str:
    rows = ["timestamp,a,b"]
    for h in range(10):
        rows.append(f"2024-01-01 {h:02d}:{30 if h == off else 0:02d},{h},{10 * h}")
    return "\n".join(rows) + "\n"


OFF_GRID = (
    "timestamp 2024-01-01 05:30:00 is off the 1 h grid starting 2024-01-01 00:00:00 "
    "(fix the row, or pass an explicit frequency to resample)"
)


def test_one_off_grid_row_in_a_long_table_is_named_not_a_halved_step(tmp_path):
    path = write(tmp_path / "data.csv", hourly_long(off=5))
    # hour 5 is on lines 12 (zone a) and 13 (zone b); the first in file order is named
    assert error_of(path) == f"{path}, line 12, column 'timestamp': {OFF_GRID}"


def test_one_off_grid_row_in_a_wide_matrix_is_named(tmp_path):
    path = write(tmp_path / "data.csv", hourly_wide(off=5))
    assert error_of(path) == f"{path}, line 7, column 'timestamp': {OFF_GRID}"


def test_the_cli_prints_the_same_line(tmp_path):
    path = write(tmp_path / "data.csv", hourly_wide(off=5))
    run = run_here("data", "info", str(path))
    assert run.returncode == 2
    assert f"{path}, line 7, column 'timestamp': {OFF_GRID}" in run.stderr


def test_a_mistyped_first_row_does_not_shift_the_grid(tmp_path):
    path = write(tmp_path / "data.csv", hourly_wide(off=0))
    assert error_of(path) == (
        f"{path}, line 2, column 'timestamp': timestamp 2024-01-01 00:30:00 is off the 1 h grid "
        "starting 2024-01-01 01:00:00 (fix the row, or pass an explicit frequency to resample)"
    )


def test_the_step_is_the_most_common_gap_so_missing_steps_stay_missing(tmp_path):
    text = "timestamp,a\n" + "".join(f"2024-01-01 {h:02d}:00,{h}\n" for h in (0, 1, 2, 4, 5, 8, 9))
    d = load_dataset(write(tmp_path / "data.csv", text))
    assert d.freq == pd.Timedelta("1h") and d.shape == (10, 1, 1)
    assert d.mask[:, 0, 0].tolist() == [1, 1, 1, 0, 1, 1, 0, 0, 1, 1]


def test_irregular_timestamps_off_the_grid_are_called_irregular(tmp_path):
    stamps = ["00:00:00", "00:00:02", "00:00:05", "00:00:07", "00:00:12", "00:00:13"]
    text = "timestamp,a\n" + "".join(f"2024-01-01 {s},1\n" for s in stamps)
    path = write(tmp_path / "data.csv", text)
    assert error_of(path) == (
        f"{path}, line 4, column 'timestamp': irregular timestamps: no dominant step (the most "
        "common gap, 2 s, is 2 of 5 gaps; 2024-01-01 00:00:05 is off its grid) (resample to a "
        "fixed step, or pass an explicit frequency to floor rows onto its grid)"
    )


def test_irregular_timestamps_on_a_mostly_empty_grid_are_refused(tmp_path):
    stamps = ["00:00", "01:00", "01:07", "03:20", "03:21"]
    text = "timestamp,a\n" + "".join(f"2024-01-01 {s},1\n" for s in stamps)
    path = write(tmp_path / "data.csv", text)
    assert error_of(path) == (
        f"{path}, column 'timestamp': irregular timestamps: no dominant step (the most common "
        "gap, 1 min, is 1 of 4 gaps; its grid would leave 197 of 202 steps empty) (resample to a "
        "fixed step, or pass an explicit frequency to floor rows onto its grid)"
    )
    assert load_dataset(path, freq="h").shape == (4, 1, 1)


def test_explicit_freq_floors_off_grid_rows_onto_the_grid(tmp_path):
    d = load_dataset(write(tmp_path / "data.csv", hourly_long(off=5)), freq="h")
    assert d.shape == (10, 2, 1) and d.mask.all()
    assert d.values[:, 0, 0].tolist() == list(range(10))
    assert d.meta["resampled"] == "2 rows floored onto the 1 h grid; rows sharing a step averaged"
    wide = load_dataset(write(tmp_path / "wide.csv", hourly_wide(off=5)), freq="h")
    assert wide.values[5, :, 0].tolist() == [5, 50]


def test_explicit_freq_averages_the_observed_values_sharing_a_step(tmp_path):
    text = (
        "timestamp,zone,n,speed\n"
        "2024-01-01 00:00,a,1,10\n"
        "2024-01-01 00:20,a,2,\n"
        "2024-01-01 00:40,a,6,30\n"
        "2024-01-01 01:10,a,,\n"
        "2024-01-01 00:50,b,4,\n"
    )
    d = load_dataset(write(tmp_path / "data.csv", text), freq="h")
    assert d.shape == (2, 2, 2) and d.timestamps[0] == pd.Timestamp("2024-01-01 00:00")
    assert d.values[0, 0].tolist() == [3, 20]  # n: mean of 1, 2, 6; speed: mean of 10, 30
    assert d.mask[0].tolist() == [[True, True], [True, False]]
    assert not d.mask[1].any()  # 01:10 has a row, but nothing observed in it


def test_explicit_freq_keeps_data_already_on_its_grid(tmp_path):
    text = "timestamp,a\n2024-01-01 00:07,1\n2024-01-01 00:22,2\n2024-01-01 00:52,4\n"
    d = load_dataset(write(tmp_path / "data.csv", text), freq="15min")
    assert d.timestamps[0] == pd.Timestamp("2024-01-01 00:07") and "resampled" not in d.meta
    assert np.array_equal(d.mask[:, 0, 0], [True, True, False, True])


def test_explicit_freq_still_refuses_repeated_rows_in_the_file(tmp_path):
    text = "timestamp,zone,n\n2024-01-01 00:00,a,1\n2024-01-01 00:00,a,2\n"
    path = write(tmp_path / "data.csv", text)
    assert error_of(path, freq="h").startswith(
        f"{path}, line 3, column 'timestamp': duplicated row for timestamp 2024-01-01 00:00:00 "
        "and zone 'a', first on line 2"
    )


def test_local_times_across_a_dst_change_are_read_as_instants(tmp_path):
    stamps = pd.date_range("2024-03-31", periods=5, freq="h", tz="Europe/Paris")
    text = "timestamp,a\n" + "".join(f"{t.isoformat()},1\n" for t in stamps)
    d = load_dataset(write(tmp_path / "data.csv", text))
    assert d.freq == pd.Timedelta("1h") and d.shape == (5, 1, 1)
    assert d.timestamps[0] == stamps[0]

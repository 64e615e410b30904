"""Every kind of bad input gives one DataError line naming the file, the line or column, and
the problem; nothing else escapes, and nothing is written on failure."""

from __future__ import annotations

import gzip
import json
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityfocus.data.citydata import CityData
from cityfocus.data.readers import load_dataset, parquet, read_parquet, write_parquet
from cityfocus.errors import DataError
from tests.data.helpers import error_of, write


def test_missing_file(tmp_path):
    message = error_of(tmp_path / "nope.csv")
    assert message.startswith(str(tmp_path / "nope.csv")) and "file not found" in message


def test_unknown_dataset_name_lists_the_valid_ones():
    message = error_of("los_lop")
    assert "unknown dataset 'los_lop'" in message
    for name in ("los_loop", "beijing_air_prsa", "nyc_crime", "montevideo_bus", "synthetic"):
        assert name in message


def test_unknown_option():
    assert error_of("nyc_crime", colour=1) == (
        "option 'colour' does not apply to the built-in dataset nyc_crime; "
        "it takes drop_empty, target"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", "file is empty"),
        ("\n\n", "file is empty"),
        ("timestamp,zone,n\n", "no data rows after the header"),
    ],
)
def test_empty_files(tmp_path, text, expected):
    path = write(tmp_path / "e.csv", text)
    message = error_of(path)
    assert str(path) in message and expected in message


def test_malformed_csv_unterminated_quote(tmp_path):
    path = write(tmp_path / "m.csv", 'timestamp,zone,n\n2024-01-01,a,1\n2024-01-02,"b,2\n')
    assert error_of(path) == f"{path}, line 3: unterminated quoted field"


def test_malformed_csv_not_text(tmp_path):
    path = write(tmp_path / "m.csv", b"timestamp,zone,n\n2024-01-01,\xff\xfe,1\n")
    assert error_of(path) == f"{path}: not UTF-8 text"


@pytest.mark.parametrize(
    ("row", "fields"), [("2024-01-02,b,2,9", 4), ("2024-01-02,b", 2)], ids=["long", "short"]
)
def test_ragged_row(tmp_path, row, fields):
    path = write(tmp_path / "r.csv", f"timestamp,zone,n\n2024-01-01,a,1\n\n{row}\n2024-01-03,a,1\n")
    message = error_of(path)
    # line 3 is blank (skipped), the ragged row is line 4
    assert message.startswith(f"{path}, line 4: {fields} fields, expected 3 as on line 1")


def test_ragged_row_in_gzipped_station_file(tmp_path):
    rows = ["No,year,month,day,hour,PM2.5", "1,2013,3,1,0,4", "2,2013,3,1,1", "3,2013,3,1,2,5"]
    path = write(tmp_path / "PRSA_Data_X_1-2.csv.gz", gzip.compress("\n".join(rows).encode()))
    assert error_of(
        tmp_path,
    ).startswith(f"{path}, line 3: 5 fields, expected 6")


def test_non_numeric_value_names_line_and_column(tmp_path):
    path = write(tmp_path / "w.csv", "timestamp,z1,z2\n2024-01-01,1,2\n2024-01-02,3,abc\n")
    message = error_of(path)
    assert message.startswith(f"{path}, line 3, column 'z2': non-numeric value 'abc'")


def test_non_numeric_value_in_long_table(tmp_path):
    path = write(tmp_path / "l.csv", "timestamp,zone,n\n2024-01-01,a,1\n2024-01-01,b,1,5\n")
    assert "line 3" in error_of(path)  # ragged first
    path = write(tmp_path / "l.csv", "timestamp,zone,n\n2024-01-01,a,1\n2024-01-01,b,1..5\n")
    assert error_of(path).startswith(f"{path}, line 3, column 'n': non-numeric value '1..5'")


def test_non_numeric_value_behind_explicit_dtypes(tmp_path):
    """The Beijing reader parses with explicit dtypes; a bad cell is still located."""
    header = "No,year,month,day,hour,PM2.5,PM10,SO2,NO2,CO,O3,TEMP,PRES,DEWP,RAIN,wd,WSPM,station"
    good = "1,2013,3,1,0,4,4,4,7,300,77,-0.7,1023,-18.8,0,NNW,4.4,X"
    bad = "2,2013,3,1,1,8,8,4,7,300,77,-1.1,ten,-18.2,0,N,4.7,X"
    path = write(
        tmp_path / "PRSA_Data_X_1-2.csv.gz", gzip.compress(f"{header}\n{good}\n{bad}\n".encode())
    )
    message = error_of(tmp_path)
    assert message.startswith(f"{path}, line 3, column 'PRES': non-numeric value 'ten'")


def test_infinite_value_is_not_taken_for_a_gap(tmp_path):
    path = write(tmp_path / "w.csv", "timestamp,z1\n2024-01-01,1\n2024-01-02,-inf\n")
    assert error_of(path).startswith(f"{path}, line 3, column 'z1': infinite value '-inf'")


def test_bad_date(tmp_path):
    path = write(tmp_path / "w.csv", "timestamp,z1\n2024-01-01,1\nyesterday,3\n")
    assert error_of(path).startswith(f"{path}, line 3, column 'timestamp': not a date: 'yesterday'")


def test_date_out_of_range(tmp_path):
    """Named as a date out of range whether the column parse reads it (pandas 3: the year 1)
    or gives no date (pandas 2)."""
    for name, value, read in (("l.csv", "01", "0001-01-01"), ("y.csv", "1200-01-01", "1200")):
        path = write(tmp_path / name, f"timestamp,zone,n\n2024-01-01,a,1\n{value},a,2\n")
        assert error_of(path).startswith(
            f"{path}, line 3, column 'timestamp': date '{value}' is out of range (read as {read}"
        )


def test_duplicated_timestamp_in_wide_matrix(tmp_path):
    path = write(
        tmp_path / "w.csv",
        "timestamp,z1\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01 01:00,3\n",
    )
    message = error_of(path)
    assert message.startswith(
        f"{path}, line 4, column 'timestamp': duplicated timestamp "
        "2024-01-01 01:00:00 (first on line 3)"
    )


def test_duplicated_timestamp_and_zone_in_long_table(tmp_path):
    path = write(
        tmp_path / "l.csv", "timestamp,zone,n\n2024-01-01,a,1\n2024-01-01,b,1\n2024-01-01,a,2\n"
    )
    message = error_of(path)
    assert message.startswith(
        f"{path}, line 4, column 'timestamp': duplicated row for timestamp "
        "2024-01-01 00:00:00 and zone 'a', first on line 2"
    )


def test_duplicated_hour_in_station_file(tmp_path):
    header = "No,year,month,day,hour,PM2.5,PM10,SO2,NO2,CO,O3,TEMP,PRES,DEWP,RAIN,wd,WSPM,station"
    row = "1,2013,3,1,{h},4,4,4,7,300,77,-0.7,1023,-18.8,0,NNW,4.4,X"
    text = "\n".join([header, row.format(h=0), row.format(h=1), row.format(h=1)])
    path = write(tmp_path / "PRSA_Data_X_1-2.csv", text)
    assert error_of(tmp_path).startswith(f"{path}, line 4, column 'hour': duplicated timestamp")


def test_timestamp_off_the_grid(tmp_path):
    path = write(
        tmp_path / "w.csv",
        "timestamp,z1\n2024-01-01 00:00,1\n2024-01-01 01:00,2\n2024-01-01 02:00,3\n"
        "2024-01-01 02:30,4\n",
    )
    assert error_of(path).startswith(f"{path}, line 5, column 'timestamp': timestamp")


@pytest.mark.parametrize("adjacency", ["0,1\n1,0\n", "0,1,0\n1,0,1\n", "a,b,c\n0,1,0\n1,0,1\n"])
def test_adjacency_of_the_wrong_size(tmp_path, adjacency):
    wide = write(tmp_path / "w.csv", "timestamp,a,b,c\n2024-01-01,1,2,3\n2024-01-02,1,2,3\n")
    adj = write(tmp_path / "adj.csv", adjacency)
    message = error_of(wide, adjacency=adj)
    assert message.startswith(f"{adj}: adjacency is ") and "expected 3 x 3 for 3 zones" in message


def test_adjacency_with_unknown_zone_and_non_numeric_weight(tmp_path):
    wide = write(tmp_path / "w.csv", "timestamp,a,b\n2024-01-01,1,2\n2024-01-02,1,2\n")
    adj = write(tmp_path / "adj.csv", "a,q\n0,1\n1,0\n")
    assert error_of(wide, adjacency=adj) == (
        f"{adj}, line 1, column 2: unknown zone 'q' in the header "
        "(the header names the data's zone ids, in the same letter case)"
    )
    adj = write(tmp_path / "adj.csv", ",a,b\nb,0,1\na,1,0\n")
    assert error_of(wide, adjacency=adj).startswith(f"{adj}, line 2, column 1: row label 'b'")
    adj = write(tmp_path / "adj.csv", "0,1\n1,x\n")
    assert error_of(wide, adjacency=adj).startswith(
        f"{adj}, line 2, column 2: non-numeric value 'x'"
    )


def test_los_loop_adjacency_of_the_wrong_size(tmp_path):
    folder = tmp_path / "los_loop"
    folder.mkdir()
    write(folder / "los_speed.csv", "101,102,103\n60,61,62\n59,58,57\n")
    write(folder / "los_adj.csv", "1,0\n0,1\n")
    message = error_of(folder)
    assert message.startswith(f"{folder / 'los_adj.csv'}: adjacency is 2 x 2, expected 3 x 3")


def test_wide_matrix_without_timestamps_or_start(tmp_path):
    path = write(tmp_path / "w.csv", "a,b\n1,2\n")
    assert error_of(path).startswith(f"{path}, line 1: no 'timestamp' column")
    assert error_of(path, start="soon", freq="h") == (
        f"{path}: start 'soon' is not a date (e.g. 2024-03-01 08:00)"
    )


def test_long_table_missing_zone(tmp_path):
    path = write(tmp_path / "l.csv", "timestamp,zone,n\n2024-01-01,a,1\n2024-01-02,,1\n")
    assert error_of(path).startswith(f"{path}, line 3, column 'zone': missing zone")


def test_duplicated_column_name(tmp_path):
    path = write(tmp_path / "w.csv", "timestamp,a,a\n2024-01-01,1,2\n")
    assert error_of(path).startswith(
        f"{path}, line 1: column names appear more than once in the header: 'a' (columns 2, 3)"
    )


def test_empty_and_malformed_dataset_files(tmp_path):
    nyc = tmp_path / "nyc_crime"
    nyc.mkdir()
    np.savez(nyc / "nyc_crime_counts.npz", counts=np.zeros((2, 2, 0, 4), dtype=np.int16))
    assert ("counts must be [rows, cols, days, 4] for the categories burglary, larceny, "
            "robbery, assault, got (2, 2, 0, 4)") in error_of(nyc)
    bus = tmp_path / "montevideo_bus"
    bus.mkdir()
    write(bus / "montevideo_bus.json", '{"nodes": [\n {"bus_stop": 1, "y": [1, 2]},\n ]}')
    message = error_of(bus)
    assert message.startswith(f"{bus / 'montevideo_bus.json'}, line 3: malformed JSON")
    write(bus / "montevideo_bus.json", json.dumps({"nodes": [], "links": []}))
    assert error_of(bus) == f"{bus / 'montevideo_bus.json'}: no nodes"
    empty_dir = tmp_path / "beijing_air_prsa"
    empty_dir.mkdir()
    assert "no station files" in error_of(empty_dir)


def test_parquet_that_is_not_parquet(tmp_path):
    path = write(tmp_path / "x.parquet", "timestamp,zone\n")
    assert error_of(path).startswith(f"{path}: not a readable Parquet file")


def test_nothing_written_when_writing_fails(tmp_path, monkeypatch):
    data = CityData(np.ones((2, 2, 1)), ["2024-01-01", "2024-01-02"])
    target = tmp_path / "out.parquet"

    def fail(*_args, **_kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(parquet.os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        write_parquet(data, target)
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(DataError, match="directory does not exist"):
        write_parquet(data, tmp_path / "missing" / "out.parquet")


def test_an_existing_file_survives_a_failed_write(tmp_path, monkeypatch):
    data = CityData(np.ones((2, 2, 1)), ["2024-01-01", "2024-01-02"], name="old")
    target = write_parquet(data, tmp_path / "out.parquet")
    monkeypatch.setattr(
        parquet.pq, "write_table", lambda *a, **k: (_ for _ in ()).throw(OSError("interrupted"))
    )
    with pytest.raises(OSError):
        write_parquet(CityData(np.zeros((2, 2, 1)), ["2024-01-01", "2024-01-02"]), target)
    assert read_parquet(target).name == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.parquet"]


CSV_ALPHABET = st.sampled_from(
    list('0123456789,,,\n\n"ab-: .;\t')
    + ["NA", "2024-01-0", "timestamp", "Zone", "\r\n", "2024-01-01 00:30", "2024-01-01 01:00"]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    body=st.lists(CSV_ALPHABET, max_size=60).map("".join),
    header=st.sampled_from(["timestamp,zone,n\n", "timestamp,a,b\n", "a,b\n", ""]),
)
def test_arbitrary_csv_gives_data_or_a_data_error(tmp_path, body, header):
    path = write(tmp_path / "fuzz.csv", header + body)
    try:
        load_dataset(path, freq="h") if header.startswith("timestamp") else load_dataset(path)
    except DataError as err:
        assert "\n" not in str(err) and re.match(rf"^{re.escape(str(path))}", str(err))

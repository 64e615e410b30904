"""What a table's layout must be (comma-separated, named columns) and what the message says
when it is not: what was expected and what was found."""

from __future__ import annotations

import pandas as pd
import pytest

from cityfocus.data.readers import load_dataset
from tests.data.helpers import error_of, write


@pytest.mark.parametrize(
    ("sep", "found"), [(";", "';'-separated (line 1 has 2 semicolons"), ("\t", "tab-separated")]
)
def test_a_file_with_another_separator_is_named_as_such(tmp_path, sep, found):
    text = f"timestamp{sep}zone{sep}n\n2024-01-01{sep}a{sep}1,5\n2024-01-02{sep}a{sep}2,5\n"
    path = write(tmp_path / "data.csv", text)
    message = error_of(path)
    assert message.startswith(f"{path}, line 1: the file looks {found}")
    assert "cityfocus reads comma-separated CSV (convert it, e.g. pandas.read_csv(" in message
    assert f"sep={sep!r}" in message


def test_a_separator_inside_quotes_is_not_taken_for_the_separator(tmp_path):
    text = 'timestamp,zone,n\n2024-01-01,"a;b",1\n'
    assert load_dataset(write(tmp_path / "data.csv", text), freq="D").zones["id"][0] == "a;b"
    single = write(tmp_path / "one.csv", '"x;y"\n1\n2\n')
    assert load_dataset(single, start="2024-01-01", freq="D").zones["id"].tolist() == ["x;y"]


def test_column_names_with_a_meaning_are_read_in_any_letter_case(tmp_path):
    text = "Timestamp, ZONE ,Calls\n2024-01-01,007,1\n2024-01-02,007,2\n"
    d = load_dataset(write(tmp_path / "data.csv", text))
    assert d.shape == (2, 1, 1) and d.zones["id"].tolist() == ["007"]
    assert d.features == ("Calls",)  # feature names are data: kept as written


def test_a_wide_matrix_timestamp_column_in_any_letter_case(tmp_path):
    d = load_dataset(write(tmp_path / "data.csv", "TimeStamp,a\n2024-01-01,1\n2024-01-02,2\n"))
    assert d.zones["id"].tolist() == ["a"] and d.freq == pd.Timedelta("1D")


def test_a_parquet_long_table_in_any_letter_case(tmp_path):
    frame = pd.DataFrame(
        {"TIMESTAMP": ["2024-01-01", "2024-01-02"], "Zone": ["a", "a"], "n": [1, 2]}
    )
    frame.to_parquet(tmp_path / "data.parquet")
    assert load_dataset(tmp_path / "data.parquet").shape == (2, 1, 1)


def test_two_columns_that_differ_only_in_case_are_ambiguous(tmp_path):
    path = write(tmp_path / "data.csv", "timestamp,zone,Zone\n2024-01-01,a,b\n")
    assert error_of(path).startswith(
        f"{path}, line 1: column names appear more than once in the header: 'zone', 'Zone' "
        "(columns 2, 3, all read as 'zone': names are matched ignoring case)"
    )


def test_a_target_in_the_wrong_case_gets_a_hint(tmp_path):
    path = write(tmp_path / "data.csv", "timestamp,zone,PM2.5\n2024-01-01,a,1\n2024-01-02,a,2\n")
    assert error_of(path, target="pm2.5") == (
        f"{path}: target 'pm2.5' is not a column; features are ['PM2.5'] "
        "(did you mean 'PM2.5'? feature names are case-sensitive)"
    )


def test_a_zone_column_without_a_timestamp_column(tmp_path):
    path = write(tmp_path / "data.csv", "time,zone,n\n2024-01-01,a,1\n")
    assert error_of(path) == (
        f"{path}, line 1: a 'zone' column but no 'timestamp' column; columns are "
        "['time', 'zone', 'n'] (a long table needs columns timestamp, zone, then features)"
    )


def test_a_wide_matrix_timestamp_must_come_first(tmp_path):
    path = write(tmp_path / "data.csv", "a,timestamp,b\n1,2024-01-01,2\n")
    assert error_of(path).startswith(
        f"{path}, line 1: 'timestamp' is column 2; in a wide matrix it must come first"
    )


def test_repeated_zone_ids_in_a_wide_matrix_header_are_all_named(tmp_path):
    path = write(tmp_path / "data.csv", "timestamp,a,b,a,c,b\n2024-01-01,1,2,3,4,5\n")
    assert error_of(path) == (
        f"{path}, line 1: column names appear more than once in the header: 'a' (columns 2, 4); "
        "'b' (columns 3, 6) (give each column its own name; in a wide matrix each zone id heads "
        "one column)"
    )


def test_zone_ids_that_differ_only_by_spaces_are_the_same_id(tmp_path):
    path = write(tmp_path / "data.csv", "timestamp,a, a\n2024-01-01,1,2\n")
    assert "'a', ' a'" not in error_of(path) and "'a' (columns 2, 3)" in error_of(path)

"""A user's table with its zones file (ids, names, coordinates), adjacency and target: the same
three options for long tables, wide matrices and Parquet, and one-line errors naming zones."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cityfocus.data.readers import load_dataset, read_zones_csv, write_parquet
from tests.data.helpers import error_of, write

LONG = "timestamp,zone,calls,speed\n" + "".join(
    f"2024-01-01 0{h}:00,{z},{h},{30 + h}\n" for h in range(3) for z in ("north", "south")
)
WIDE = "timestamp,north,south\n" + "".join(f"2024-01-01 0{h}:00,{h},{2 * h}\n" for h in range(3))
ZONES = "id,name,lat,lon,population\nsouth,South end,48.10,2.35,9000\nnorth,,48.20,2.30,\n"
GRAPH = "south,north\n0,1\n0.5,0\n"


def check_city(d, target: str) -> None:
    assert d.zones["id"].tolist() == ["north", "south"]  # the data's order, not the file's
    assert d.zones["name"].tolist() == ["north", "South end"]  # an empty name is the id
    assert d.zones["lat"].tolist() == [48.2, 48.1] and d.zones["lon"].tolist() == [2.3, 2.35]
    assert d.adjacency.tolist() == [[0, 0.5], [1, 0]]
    assert d.target == target


def test_long_table_with_zones_adjacency_and_target(tmp_path):
    d = load_dataset(
        write(tmp_path / "data.csv", LONG),
        zones=write(tmp_path / "zones.csv", ZONES),
        adjacency=write(tmp_path / "graph.csv", GRAPH),
        target="speed",
    )
    check_city(d, "speed")
    assert d.meta["zones_file"] == str(tmp_path / "zones.csv")


def test_wide_matrix_with_zones_adjacency_and_target(tmp_path):
    d = load_dataset(
        write(tmp_path / "data.csv", WIDE),
        zones=write(tmp_path / "zones.csv", ZONES),
        adjacency=write(tmp_path / "graph.csv", GRAPH),
        target="calls",
    )
    check_city(d, "calls")
    assert d.features == ("calls",)


def test_parquet_long_table_with_zones_adjacency_and_target(tmp_path):
    pd.read_csv(write(tmp_path / "data.csv", LONG)).to_parquet(tmp_path / "data.parquet")
    d = load_dataset(
        tmp_path / "data.parquet",
        zones=write(tmp_path / "zones.csv", ZONES),
        adjacency=write(tmp_path / "graph.csv", GRAPH),
        target="speed",
    )
    check_city(d, "speed")


def test_options_set_to_none_count_as_not_given():
    d = load_dataset("synthetic", zones=None, adjacency=None, target=None)
    assert d.name == "synthetic"


def test_the_options_do_not_apply_to_built_in_or_saved_datasets(tmp_path):
    zones = write(tmp_path / "zones.csv", ZONES)
    assert error_of("synthetic", zones=zones) == (
        "option 'zones' does not apply to the built-in dataset synthetic; it takes no options"
    )
    saved = write_parquet(load_dataset("synthetic"), tmp_path / "saved.parquet")
    assert error_of(saved, adjacency=zones) == (
        "option 'adjacency' does not apply to a cityfocus Parquet file; it takes no options"
    )


def test_zones_file_columns_in_any_case_and_extra_rows_ignored(tmp_path):
    zones = write(tmp_path / "zones.csv", "ID,Lat,LON\nwest,1,2\nnorth,48.2,2.3\nsouth,,\n")
    table = read_zones_csv(zones, ["north", "south"])
    assert table["id"].tolist() == ["north", "south"] and table["name"].tolist() == [
        "north",
        "south",
    ]
    assert table["lat"].iloc[0] == 48.2 and np.isnan(table["lon"].iloc[1])


def test_zones_missing_from_the_zones_file_are_named(tmp_path):
    zones = write(tmp_path / "zones.csv", "id\nsouth\nNorth\n")
    assert error_of(write(tmp_path / "data.csv", LONG), zones=zones) == (
        f"{zones}: zones of the data missing from the zones file: 'north' (add a row for each, "
        "with its id exactly as in the data, in the same letter case)"
    )


def test_repeated_ids_in_the_zones_file_are_all_named_with_their_lines(tmp_path):
    zones = write(tmp_path / "zones.csv", "id,name\nnorth,N\nsouth,S\nnorth,N2\nsouth,S2\n")
    assert error_of(write(tmp_path / "data.csv", LONG), zones=zones) == (
        f"{zones}: zone ids appear more than once: 'north' (lines 2, 4); 'south' (lines 3, 5) "
        "(give each zone one row)"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("zone,name\nnorth,N\n", "line 1: no 'id' column; columns are ['zone', 'name']"),
        ("id,lat\nnorth,48\nsouth,48\n", "line 1: column 'lat' without its partner"),
        ("id,lat,lon\nnorth,48,2\nsouth,2,248\n", "line 3, column 'lon': lon 248 is outside"),
        ("id,lat,lon\nnorth,48,2\nsouth,N48,2\n", "line 3, column 'lat': non-numeric value 'N48'"),
        ("id,lat,lon\nnorth,48,2\n,1,1\nsouth,1,1\n", "line 3, column 'id': empty zone id"),
        ("id;lat;lon\nnorth;48;2\n", "line 1: the file looks ';'-separated"),
    ],
)
def test_bad_zones_files(tmp_path, text, expected):
    zones = write(tmp_path / "zones.csv", text)
    assert error_of(write(tmp_path / "data.csv", WIDE), zones=zones).startswith(
        f"{zones}, {expected}"
    )


def test_repeated_zone_ids_in_the_adjacency_header_are_named(tmp_path):
    wide = write(tmp_path / "data.csv", "timestamp,a,b,c\n2024-01-01,1,2,3\n2024-01-02,1,2,3\n")
    adj = write(tmp_path / "graph.csv", "a,b,a\n0,1,0\n1,0,0\n0,0,0\n")
    assert error_of(wide, adjacency=adj) == (
        f"{adj}, line 1: zone ids appear more than once in the header: 'a' (columns 1, 3) "
        "(each zone heads one column; missing: 'c')"
    )


def test_adjacency_errors_name_zones_by_id(tmp_path):
    wide = write(tmp_path / "data.csv", WIDE)
    adj = write(tmp_path / "graph.csv", "0,1\n-2,0\n")
    assert error_of(wide, adjacency=adj) == (
        f"{adj}, line 2, column 1: negative weight -2 from zone 'south' to zone 'north' "
        "(weights are >= 0; 0 means no link)"
    )
    adj = write(tmp_path / "graph.csv", ",south,north\nsouth,0,-1\nnorth,0,0\n")
    assert error_of(wide, adjacency=adj).startswith(
        f"{adj}, line 2, column 3: negative weight -1 from zone 'south' to zone 'north'"
    )

"""The general formats (long table, wide matrix, adjacency CSV) and the exact Parquet round-trip."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityfocus.data.citydata import CityData
from cityfocus.data.readers import (
    load_dataset,
    read_adjacency_csv,
    read_long_table,
    read_parquet,
    read_wide_matrix,
    write_parquet,
)
from cityfocus.errors import DataError
from tests.data.helpers import write

LONG = """timestamp,zone,count,speed
2024-01-01 00:00,a,1,30
2024-01-01 00:00,b,2,
2024-01-01 01:00,a,3,31
2024-01-01 03:00,b,4,33
"""



def test_long_table_csv_masks_gaps_and_zone_order(tmp_path):
    d = load_dataset(write(tmp_path / "city.csv", LONG))
    assert d.shape == (4, 2, 2)  # 00:00 .. 03:00 hourly, 02:00 has no row at all
    assert d.zones["id"].tolist() == ["a", "b"]
    assert d.features == ("count", "speed") and d.target == "count"
    assert d.freq == pd.Timedelta("1h") and d.name == "city"
    assert d.values[:, :, 0].tolist() == [[1, 2], [3, 0], [0, 0], [0, 4]]
    assert d.mask[:, :, 0].tolist() == [[True, True], [True, False], [False, False], [False, True]]
    assert not d.mask[0, 1, 1]  # the empty speed cell
    assert d.values[3, 1, 1] == 33


def test_long_table_target_freq_and_parquet_input(tmp_path):
    csv = write(tmp_path / "city.csv", LONG)
    frame = pd.read_csv(csv, dtype={"zone": str})
    frame["timestamp"] = pd.to_datetime(frame["timestamp"])
    frame.to_parquet(tmp_path / "city.parquet")
    from_csv = read_long_table(csv, target="speed", freq="30min")
    from_parquet = load_dataset(tmp_path / "city.parquet", target="speed", freq="30min")
    assert from_csv.shape == (7, 2, 2) and from_csv.target == "speed"
    assert from_csv.equals(from_parquet)


def test_long_table_quoted_ids_crlf_and_gzip(tmp_path):
    text = 'timestamp,zone,n\r\n2024-01-01,"Main St, north",1\r\n2024-01-02,"Main St, north",2\r\n'
    path = tmp_path / "q.csv.gz"
    path.write_bytes(gzip.compress(text.encode()))
    d = load_dataset(path)
    assert d.zones["id"].tolist() == ["Main St, north"]
    assert d.values[:, 0, 0].tolist() == [1, 2] and d.freq == pd.Timedelta("1D")


def test_long_table_keeps_zone_ids_as_written(tmp_path):
    d = load_dataset(
        write(tmp_path / "z.csv", "timestamp,zone,n\n2024-01-01,007,1\n2024-01-01,12,2\n"), freq="D"
    )
    assert d.zones["id"].tolist() == ["007", "12"] and d.shape == (1, 2, 1)


def test_wide_matrix_with_timestamps_and_adjacency_with_header(tmp_path):
    wide = write(
        tmp_path / "w.csv",
        "timestamp,z1,z2,z3\n2024-01-01,1,2,3\n2024-01-02,7,8,9\n2024-01-04,4,,6\n",
    )
    adj = write(tmp_path / "adj.csv", "z3,z1,z2\n0,1,0\n1,0,0.5\n0,0,0\n")
    d = load_dataset(wide, adjacency=adj, target="load")
    assert d.shape == (4, 3, 1) and d.features == ("load",) and d.target == "load"
    assert d.mask[:, :, 0].tolist() == [
        [True, True, True],
        [True, True, True],
        [False, False, False],  # 2024-01-03 has no row
        [True, False, True],
    ]
    assert d.values[3, :, 0].tolist() == [4, 0, 6]
    # header order z3, z1, z2 is mapped back to the zone order z1, z2, z3
    assert d.adjacency.tolist() == [[0, 0.5, 1], [0, 0, 0], [1, 0, 0]]


def test_wide_matrix_without_timestamps_needs_start_and_freq(tmp_path):
    wide = write(tmp_path / "w.csv", "z1,z2\n1,2\n3,4\n5,6\n")
    adj = write(tmp_path / "adj.csv", "0,1\n1,0\n")
    d = read_wide_matrix(wide, start="2024-05-01 08:00", freq="15min", adjacency=adj)
    assert d.shape == (3, 2, 1)
    assert d.timestamps[-1] == pd.Timestamp("2024-05-01 08:30")
    assert d.adjacency.tolist() == [[0, 1], [1, 0]]


def test_adjacency_with_row_labels(tmp_path):
    adj = write(tmp_path / "adj.csv", ",b,a\nb,0,2\na,3,0\n")
    assert read_adjacency_csv(adj, ["a", "b"]).tolist() == [[0, 3], [2, 0]]


def small_city(tz: str | None = None, adjacency: bool = True) -> CityData:
    rng = np.random.default_rng(1)
    values = rng.normal(size=(5, 3, 2)).astype(np.float32)
    values[1, 2, 0] = np.nan
    values[4, 0, 1] = np.nan
    zones = pd.DataFrame(
        {
            "id": ["x", "y", "z"],
            "name": ["X st", "Y st", "Z st"],
            "lat": [48.1, np.nan, -0.0],
            "lon": [np.nan, 2.35, 1e-300],
        }
    )
    return CityData(
        values,
        pd.date_range("2024-03-30 22:00", periods=5, freq="30min", tz=tz),
        zones=zones,
        features=["flow", "occupancy"],
        target="occupancy",
        adjacency=rng.uniform(size=(3, 3)).astype(np.float32) if adjacency else None,
        name="tiny",
        meta={"array": np.arange(3), "path": Path("/x"), "nan": float("nan")},
    )


@pytest.mark.parametrize(("tz", "adjacency"), [(None, True), ("Europe/Paris", False)])
def test_parquet_round_trip_is_exact(tmp_path, tz, adjacency):
    d = small_city(tz, adjacency)
    path = write_parquet(d, tmp_path / "tiny.parquet")
    back = read_parquet(path)
    assert d.equals(back)
    assert back.values.dtype == np.float32 and back.mask.tolist() == d.mask.tolist()
    assert back.zones["lat"].isna().tolist() == [False, True, False]
    assert back.meta["array"] == [0, 1, 2] and back.meta["nan"] is None
    assert load_dataset(path).equals(d)  # dispatch recognises our metadata
    assert [p.name for p in tmp_path.iterdir()] == ["tiny.parquet"]


def test_parquet_round_trip_single_step(tmp_path):
    d = CityData(np.ones((1, 2, 1)), ["2024-01-01"], freq="h", name="one")
    assert d.equals(read_parquet(write_parquet(d, tmp_path / "one.parquet")))


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    shape=st.tuples(st.integers(1, 6), st.integers(1, 5), st.integers(1, 3)),
    seed=st.integers(0, 2**31 - 1),
    missing=st.floats(0, 1),
)
def test_parquet_round_trip_property(tmp_path, shape, seed, missing):
    rng = np.random.default_rng(seed)
    values = rng.normal(scale=1e6, size=shape).astype(np.float32)
    values[rng.uniform(size=shape) < missing] = np.nan
    T, N, _ = shape
    d = CityData(
        values,
        pd.date_range("2020-01-01", periods=T, freq="7min"),
        freq="7min",
        zones=[f"zone {i}" for i in range(N)],
        adjacency=rng.uniform(size=(N, N)) if seed % 2 else None,
    )
    assert d.equals(read_parquet(write_parquet(d, tmp_path / "p.parquet")))


DOC = Path(__file__).parents[2] / "docs" / "data-format.md"


def doc_files(folder: Path) -> dict[str, Path]:
    """Write every ``<!-- file: NAME -->`` example of the data-format page into ``folder``."""
    blocks = re.findall(r"<!-- file: (\S+) -->\n( *)```csv\n(.*?)\n *```", DOC.read_text(), re.S)
    files = {}
    for name, indent, body in blocks:
        text = "\n".join(line.removeprefix(indent) for line in body.split("\n")) + "\n"
        files[name] = write(folder / name, text)
    return files


def test_examples_in_the_data_format_page_load(tmp_path, monkeypatch):
    files = doc_files(tmp_path)
    assert set(files) == {"long.csv", "wide.csv", "hourly.csv", "zones.csv", "graph.csv"}
    monkeypatch.chdir(tmp_path)
    for code in re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S):
        exec(code, {})
    long = load_dataset(files["long.csv"], zones=files["zones.csv"], target="speed")
    assert long.shape == (2, 2, 2) and not long.mask[0, 1, 1] and long.target == "speed"
    assert long.zones["name"].tolist() == ["North gate", "South market"]
    wide = load_dataset(files["wide.csv"], adjacency=files["graph.csv"], zones=files["zones.csv"])
    assert wide.shape == (4, 3, 1) and wide.freq == pd.Timedelta("5min")
    assert wide.zones["id"].tolist() == ["north", "south", "east"]
    assert wide.zones["name"].tolist() == ["North gate", "South market", "east"]
    assert wide.adjacency.tolist() == [[0, 1, 0.5], [1, 0, 0], [0.5, 0, 0]]
    assert load_dataset(files["wide.csv"], freq="10min").values[:, 0, 0].tolist() == [
        pytest.approx(31.2),
        pytest.approx(29.1),
    ]
    hourly = load_dataset(files["hourly.csv"], freq="h")
    assert hourly.values[:, 0, 0].tolist() == [4, 7, 5, 2, 3]
    assert hourly.meta["resampled"].startswith("1 row floored onto the 1 h grid")


def test_errors_shown_in_the_data_format_page_are_the_real_ones(tmp_path, monkeypatch):
    files = doc_files(tmp_path)
    monkeypatch.chdir(tmp_path)
    long = files["long.csv"].read_text()
    four_zones = "timestamp,a,b,c,d\n2024-01-01,1,2,3,4\n2024-01-02,1,2,3,4\n"
    # each shown line: the files it needs (written under the names it shows) and the call
    cases = [
        ({}, lambda: load_dataset("hourly.csv")),
        ({"long.csv": long.replace("1,\n", "1,n/a?\n")}, lambda: load_dataset("long.csv")),
        ({"semi.csv": long.replace(",", ";")}, lambda: load_dataset("semi.csv")),
        ({"wide.csv": "timestamp,north,south,north\n1,2,3,4\n"}, lambda: load_dataset("wide.csv")),
        (
            {"long.csv": long, "zones.csv": "id\nnorth\n"},
            lambda: load_dataset("long.csv", zones="zones.csv"),
        ),
        (
            {"four.csv": four_zones, "graph.csv": "0,1,0\n1,0,0\n0,0,0\n"},
            lambda: load_dataset("four.csv", adjacency="graph.csv"),
        ),
        ({}, lambda: load_dataset("los_loop", zones="zones.csv")),
    ]
    shown = [
        line
        for block in re.findall(r"```text\n(.*?)```", DOC.read_text(), re.S)
        for line in block.strip().split("\n")
    ]
    assert len(shown) == len(cases)
    for line, (needed, load) in zip(shown, cases, strict=True):
        for name, text in needed.items():
            write(tmp_path / name, text)
        with pytest.raises(DataError) as info:
            load()
        assert str(info.value).startswith(line.split("(...)")[0].split(" ...")[0]), line

"""Every built-in reader on the real files in the shared data directory (shapes, known values).

Known values were read off the files themselves (``head``/``tail``/``zcat``) or the dataset
READMEs. Skipped, with the reason, when the shared data directory is not present.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cityfocus.data.readers import DATASETS, data_dir, load_dataset, read_parquet, write_parquet
from cityfocus.data.readers.simbench_grid import SIMBENCH_DATASETS
from cityfocus.errors import DataError

pytestmark = pytest.mark.realdata


def _shared_data_dir():
    try:
        return data_dir()
    except DataError as err:
        pytest.skip(f"real datasets not available: {err}")


@pytest.fixture(scope="module")
def load():
    _shared_data_dir()
    cache: dict[str, object] = {}

    def get(name: str):
        if name not in cache:
            cache[name] = load_dataset(name)
        return cache[name]

    return get


def test_los_loop(load):
    d = load("los_loop")
    assert d.shape == (2016, 207, 1)
    assert d.features == ("speed",) and d.target == "speed"
    # line 2 of los_speed.csv starts 64.375,67.625,67.125; the last line ends with 58.875
    assert d.values[0, :3, 0].tolist() == [64.375, 67.625, 67.125]
    assert d.values[-1, -1, 0] == np.float32(58.875)
    assert d.zones["id"].iloc[0] == "773869"
    assert d.mask.all()
    assert d.timestamps[0] == pd.Timestamp("2012-03-01 00:00")
    assert d.timestamps[-1] == pd.Timestamp("2012-03-07 23:55")
    assert d.freq == pd.Timedelta("5min")
    assert "nominal" in d.meta["timestamps"]
    adj = d.adjacency
    assert adj.shape == (207, 207)
    assert adj[0, 13] == np.float32(0.260935932)  # line 1, field 14 of los_adj.csv
    assert int((adj > 0).sum()) == 2833
    assert np.array_equal(adj, adj.T) and np.all(np.diag(adj) == 1)


def test_beijing_air(load):
    d = load("beijing_air_prsa")
    assert d.shape == (35064, 12, 11)
    assert d.features == (
        "PM2.5",
        "PM10",
        "SO2",
        "NO2",
        "CO",
        "O3",
        "TEMP",
        "PRES",
        "DEWP",
        "RAIN",
        "WSPM",
    )
    assert d.target == "PM2.5"
    assert d.zones["id"].tolist()[:2] == ["Aotizhongxin", "Changping"]
    assert d.zones["id"].iloc[-1] == "Wanshouxigong"
    assert d.zones["lat"].isna().all() and d.adjacency is None
    assert d.timestamps[0] == pd.Timestamp("2013-03-01 00:00")
    assert d.timestamps[-1] == pd.Timestamp("2017-02-28 23:00")
    assert d.freq == pd.Timedelta("1h")
    # Aotizhongxin line 2: 4,4,4,7,300,77,-0.7,1023,-18.8,0,(NNW),4.4
    expected = [4, 4, 4, 7, 300, 77, -0.7, 1023, -18.8, 0, 4.4]
    assert np.allclose(d.values[0, 0], expected)
    # Wanshouxigong last line: PM2.5 13, CO 600, TEMP 8.6
    assert d.values[-1, -1, [0, 4, 6]].tolist() == pytest.approx([13, 600, 8.6])
    # Aotizhongxin line 76 has SO2 = NA
    assert not d.mask[74, 0, 2] and d.values[74, 0, 2] == 0.0 and d.mask[74, 0, 0]
    missing_pm25 = 1 - d.target_mask.mean(axis=0)
    assert np.all((missing_pm25 >= 0.010) & (missing_pm25 <= 0.028))  # README: 1.1-2.7 %
    assert "wd" in d.meta["dropped_columns"]


def test_nyc_crime(load):
    d = load("nyc_crime")
    assert d.shape == (730, 127, 5)
    assert d.features == ("burglary", "larceny", "robbery", "assault", "total")
    assert d.target == "total"
    assert int(d.values[..., 4].sum()) == 191_580
    # per-category event counts from the README
    assert d.values[..., :4].sum(axis=(0, 1)).astype(int).tolist() == [
        31_799,
        85_899,
        33_453,
        40_429,
    ]
    assert np.array_equal(d.values[..., 4], d.values[..., :4].sum(axis=2))
    assert d.timestamps[0] == pd.Timestamp("2014-01-01")
    assert d.timestamps[-1] == pd.Timestamp("2015-12-31")
    flagged = d.meta["flagged"]
    assert len(flagged["dropped_zone_ids"]) == 129 and len(flagged["kept_cell_index"]) == 127
    first = flagged["kept_cell_index"][0]
    assert d.zones["id"].iloc[0] == f"r{first // 16}c{first % 16}"
    # cell centres lie inside the 16 x 16 grid of 3/111 deg lat x 3/84 deg lon cells
    lat0, lon0 = 40.50021598, -74.25310996
    assert d.zones["lat"].between(lat0 + 1.5 / 111 - 1e-9, lat0 + 15.5 * 3 / 111 + 1e-9).all()
    assert d.zones["lon"].between(lon0 + 1.5 / 84 - 1e-9, lon0 + 15.5 * 3 / 84 + 1e-9).all()
    adj = d.adjacency
    assert np.array_equal(adj, adj.T) and np.all(np.diag(adj) == 0)
    assert adj.sum(axis=1).max() <= 8 and adj.sum() > 0


def test_nyc_crime_keeps_empty_cells_on_request():
    _shared_data_dir()
    d = load_dataset("nyc_crime", drop_empty=False, target="larceny")
    assert d.shape == (730, 256, 5) and d.target == "larceny"
    assert int(d.values[..., 4].sum()) == 191_580
    assert int((d.values[..., 4].sum(axis=0) > 0).sum()) == 127
    assert d.zones["id"].iloc[17] == "r1c1"


def test_montevideo_bus(load):
    d = load("montevideo_bus")
    assert d.shape == (744, 675, 1)
    assert int(d.values.sum()) == 374_595
    assert d.values.max() == 101
    assert d.timestamps[0] == pd.Timestamp("2020-10-01 00:00")
    assert d.timestamps[-1] == pd.Timestamp("2020-10-31 23:00")
    assert d.zones["id"].iloc[0] == "5289"
    assert d.zones["lat"].iloc[0] == 6151987 and d.zones["lon"].iloc[0] == 589196
    ids = d.zones["id"].tolist()
    assert d.adjacency[ids.index("5289"), ids.index("5290")] == 1.0  # first link, 172.2 m
    assert int(d.adjacency.sum()) == 690
    assert d.meta["link_distance_m"][0] == ["5289", "5290", 172.2]
    assert "EPSG:32721" in d.meta["crs"]


def test_pedalme_london(load):
    d = load("pedalme_london")
    assert d.shape == (35, 15, 1)
    assert d.values[0, 0, 0] == np.float32(3.0574042138045003)
    assert d.values[-1, -1, 0] == np.float32(-2.302585092994046)
    assert d.freq == pd.Timedelta("7D")
    assert "nominal" in d.meta["timestamps"]
    assert np.all(np.diag(d.adjacency) == 1)
    assert int((d.adjacency > 0).sum()) == 225
    assert d.adjacency[0, 1] == np.float32(0.4254589621618998)


def test_every_built_in_name_loads(load):
    for name in DATASETS:  # the SimBench grids come from a package: tests/energy loads them
        if name != "synthetic" and name not in SIMBENCH_DATASETS:
            assert load(name).name == name


@pytest.mark.parametrize("name", ["nyc_crime", "montevideo_bus", "beijing_air_prsa"])
def test_real_parquet_round_trip(load, name, tmp_path):
    d = load(name)
    path = write_parquet(d, tmp_path / f"{name}.parquet")
    assert d.equals(read_parquet(path))


def test_dataset_folder_path_and_env_var(monkeypatch, tmp_path):
    root = _shared_data_dir()
    assert load_dataset(root / "pedalme_london").shape == (35, 15, 1)
    monkeypatch.setenv("CITYFOCUS_DATA_DIR", str(root))
    assert data_dir() == root
    monkeypatch.setenv("CITYFOCUS_DATA_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="CITYFOCUS_DATA_DIR"):
        load_dataset("los_loop")


def test_without_the_variable_only_the_folder_beside_the_repository_is_tried(monkeypatch,
                                                                              tmp_path):
    import cityfocus.data.readers as readers

    # a checkout at tmp_path/repo with no shared/data beside it
    monkeypatch.setattr(readers, "__file__",
                        str(tmp_path / "repo/src/cityfocus/data/readers/__init__.py"))
    monkeypatch.delenv("CITYFOCUS_DATA_DIR", raising=False)
    with pytest.raises(DataError) as err:
        data_dir()
    message = str(err.value)
    assert f"looked in {tmp_path / 'shared' / 'data'}" in message
    assert "set CITYFOCUS_DATA_DIR" in message and "/work/" not in message
    (tmp_path / "shared" / "data").mkdir(parents=True)
    assert data_dir() == tmp_path / "shared" / "data"

import numpy as np
import pandas as pd
import pytest

from cityfocus import CityData, DataError


def hourly(T: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=T, freq="h")


def test_nan_becomes_missing_and_zero():
    values = np.ones((4, 2, 1))
    values[1, 0, 0] = np.nan
    data = CityData(values, hourly(4))
    assert data.values.dtype == np.float32
    assert not data.mask[1, 0, 0] and data.values[1, 0, 0] == 0.0
    assert data.mask.sum() == 7
    assert data.missing_share() == pytest.approx(1 / 8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"values": np.ones((4, 2))}, "must be [T, N, F]"),
        ({"values": np.ones((0, 2, 1))}, "empty"),
        ({"timestamps": hourly(3)}, "3 timestamps for 4 time steps"),
        ({"timestamps": hourly(4)[[0, 1, 1, 2]]}, "duplicated"),
        ({"timestamps": hourly(4)[[0, 2, 1, 3]]}, "out of order"),
        ({"timestamps": hourly(5)[[0, 1, 2, 4]]}, "irregular timestamps"),
        ({"adjacency": np.ones((3, 3))}, "adjacency must be [2, 2]"),
        ({"adjacency": -np.ones((2, 2))}, "negative adjacency weight -1.0 from zone '0'"),
        ({"adjacency": np.full((2, 2), np.nan)}, "non-finite adjacency weight nan from zone '0'"),
        ({"zones": ["a", "b", "a", "b"], "values": np.ones((4, 4, 1))},
         "zone ids appear more than once: 'a', 'b'"),
        ({"freq": "MS"}, "freq 'MS' is not a fixed step"),
        ({"features": ["x"], "target": "y"}, "target 'y' is not a feature"),
        ({"mask": np.ones((4, 2, 1), dtype=np.int8)}, "mask must be bool"),
    ],
)
def test_validation_errors(kwargs, message):
    args = {"values": np.ones((4, 2, 1)), "timestamps": hourly(4)}
    args.update(kwargs)
    with pytest.raises(DataError) as err:
        CityData(args.pop("values"), args.pop("timestamps"), **args)
    assert message in str(err.value)


def test_observed_non_finite_is_refused_naming_timestamp_zone_and_feature():
    values = np.ones((2, 2, 1))
    values[1, 1, 0] = np.inf
    with pytest.raises(DataError) as err:
        CityData(values, hourly(2), mask=np.ones((2, 2, 1), dtype=bool), zones=["north", "south"],
                 features=["calls"], name="city")
    assert str(err.value) == (
        "city: non-finite value inf marked observed at 2024-01-01 01:00:00, zone 'south', "
        "feature 'calls' (set its mask to False or give NaN without a mask)"
    )


def test_irregular_timestamps_name_the_odd_one_and_the_usual_step():
    stamps = hourly(6)[[0, 1, 2, 3, 5]]
    with pytest.raises(DataError) as err:
        CityData(np.ones((5, 1, 1)), stamps, name="city")
    assert str(err.value).startswith(
        "city: irregular timestamps: 2024-01-01 05:00:00 (step 4) is 2 h after the previous one, "
        "expected 1 h"
    )


def test_repr_prints_the_step_for_people():
    assert "freq=1 h," in repr(CityData(np.ones((3, 1, 1)), hourly(3)))


def test_slice_and_select_keep_labels_and_graph():
    adj = np.arange(9, dtype=np.float32).reshape(3, 3)
    data = CityData(np.random.default_rng(0).random((6, 3, 2)), hourly(6),
                    zones=["a", "b", "c"], adjacency=adj, features=["x", "y"], target="y")
    piece = data.slice_time(2, 5)
    assert piece.shape == (3, 3, 2) and piece.timestamps[0] == data.timestamps[2]
    sub = data.select_zones([2, 0])
    assert list(sub.zones["id"]) == ["c", "a"]
    np.testing.assert_array_equal(sub.adjacency, adj[np.ix_([2, 0], [2, 0])])
    assert sub.target == "y" and sub.target_index == 1
    with pytest.raises(DataError, match="empty time slice"):
        data.slice_time(4, 4)


def test_equals_detects_any_difference():
    data = CityData(np.ones((3, 2, 1)), hourly(3))
    same = CityData(np.ones((3, 2, 1)), hourly(3))
    other = CityData(np.ones((3, 2, 1)) * 2, hourly(3))
    assert data.equals(same) and not data.equals(other)


def test_replace_and_append_time():
    data = CityData(np.ones((3, 2, 2)), hourly(3), features=["a", "b"])
    other_target = data.replace(target="b")
    assert other_target.target == "b" and data.target == "a"
    later = CityData(np.full((2, 2, 2), 2.0), hourly(5)[3:], features=["a", "b"])
    joined = data.append_time(later)
    assert joined.shape == (5, 2, 2) and joined.values[4, 0, 0] == 2.0
    assert joined.timestamps.equals(hourly(5))
    with pytest.raises(DataError, match="must start one step after"):
        data.append_time(data)
    with pytest.raises(DataError, match="target 'c' is not a feature"):
        data.replace(target="c")

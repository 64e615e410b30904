import numpy as np
import pandas as pd
import pytest

from cityfocus import CityData, DataError
from cityfocus.data.split import chronological_split, split_at
from cityfocus.data.windows import Windows, split_windows, time_features


@pytest.fixture
def data() -> CityData:
    T, N, F = 100, 3, 2
    values = np.arange(T * N * F, dtype=np.float32).reshape(T, N, F)
    values[10, 1, 1] = np.nan  # a missing target reading
    return CityData(values, pd.date_range("2024-01-01", periods=T, freq="15min"),
                    features=["a", "b"], target="b")


def test_window_shapes_values_and_masks(data):
    windows = Windows(data, lookback=12, horizon=3)
    assert len(windows) == 100 - 12 - 3 + 1
    batch = windows.batch(np.arange(5))
    assert batch.x.shape == (5, 12, 3, 2) and batch.x_mask.shape == (5, 12, 3, 2)
    assert batch.y.shape == (5, 3, 3) and batch.y_mask.shape == (5, 3, 3)
    # window 0: inputs are steps 0..11, targets steps 12..14 of feature b
    np.testing.assert_array_equal(batch.x[0], data.values[:12])
    np.testing.assert_array_equal(batch.y[0], data.values[12:15, :, 1])
    # the missing reading (step 10, zone 1, feature b) is masked and zero as an input ...
    assert not batch.x_mask[0, 10, 1, 1] and batch.x[0, 10, 1, 1] == 0
    # ... and as a target
    late = Windows(data, lookback=8, horizon=3).batch(np.array([0]))
    assert not late.y_mask[0, 2, 1]  # start 0 + lookback 8 + 2 = step 10
    assert batch.x_time.shape == (5, 12, 2) and batch.y_time[0, 0, 0] == 12  # 03:00 = slot 12


def test_split_has_no_leakage(data):
    split = chronological_split(data, train=0.7, val=0.1)
    assert (split.val_start, split.test_start) == (70, 80)
    train_times = set(split.train.timestamps)
    assert not train_times & set(split.test.timestamps)
    assert not train_times & set(split.val.timestamps)
    assert split.train.timestamps.max() < split.val.timestamps.min()
    assert split.val.timestamps.max() < split.test.timestamps.min()
    for part, (start, stop) in (("train", (0, 70)), ("val", (70, 80)), ("test", (80, 100))):
        windows = split_windows(split, part, lookback=12, horizon=3)
        batch = windows.batch()
        first_target = batch.start + 12
        assert first_target.min() >= start and first_target.max() + 3 <= stop
        # inputs only look back in time
        assert (batch.start + 11 < first_target).all()


def test_windows_without_context_stay_inside(data):
    windows = Windows(data, 12, 3, target_start=80, target_stop=100, context=False)
    assert windows.starts.min() == 80 and len(windows) == 100 - 80 - 15 + 1


def test_bad_window_and_split_requests(data):
    with pytest.raises(DataError, match="no window fits"):
        Windows(data, lookback=90, horizon=20)
    with pytest.raises(DataError, match="lookback, horizon and stride must be >= 1"):
        Windows(data, lookback=0, horizon=1)
    with pytest.raises(DataError, match="0 < val_start <= test_start"):
        split_at(data, 50, 20)
    with pytest.raises(DataError, match="split shares"):
        chronological_split(data, train=0.9, val=0.2)


def test_time_features_daily_data():
    ts = pd.date_range("2024-01-01", periods=8, freq="D")
    tf = time_features(ts, pd.Timedelta(days=1))
    np.testing.assert_array_equal(tf[:, 0], 0)
    np.testing.assert_array_equal(tf[:, 1], [0, 1, 2, 3, 4, 5, 6, 0])

import csv

import pytest

from tests.conftest import run_here


def test_train_then_predict_from_the_checkpoint(tmp_path):
    ckpt = tmp_path / "seed_mlp.pt"
    result = run_here("train", "--model", "seed_mlp", "--epochs", "2", "--lookback", "12",
                     "--horizon", "2", "--out", str(ckpt))
    assert result.returncode == 0, result.stderr
    assert ckpt.exists() and "best epoch" in result.stdout
    out = tmp_path / "forecast.csv"
    result = run_here("predict", "--model", str(ckpt), "--data", "synthetic",
                     "--at", "2024-02-20 08:00", "--out", str(out))
    assert result.returncode == 0, result.stderr
    rows = list(csv.reader(out.open()))
    assert rows[0] == ["zone", "demand", "2024-02-20 08:00:00", "2024-02-20 09:00:00"]
    assert len(rows) == 1 + 24 and all(float(v) >= -1 for r in rows[1:] for v in r[1:])
    for row in rows[1:]:  # demand: the forecast summed over the horizon, never negative
        assert float(row[1]) == pytest.approx(max(0.0, float(row[2]) + float(row[3])), 1e-5)

    plan = tmp_path / "plan.csv"  # the forecast file feeds allocate as it is
    result = run_here("allocate", "--demand", str(out), "--budget", "5", "--units",
                     "--out", str(plan))
    assert result.returncode == 0, result.stderr
    planned = list(csv.DictReader(plan.open()))
    assert [r["zone"] for r in planned] == [r[0] for r in rows[1:]]
    assert sum(float(r["units"]) for r in planned) == 5


def test_decide_says_what_the_regret_fine_tuning_did(tmp_path):
    result = run_here("train", "--model", "seed_mlp", "--mode", "decide", "--epochs", "3",
                     "--lookback", "12", "--horizon", "2", "--out", str(tmp_path / "d.pt"))
    assert result.returncode == 0, result.stderr
    said = " ".join(result.stdout.split())
    assert "forecast pretraining best epoch" in said
    assert ("beat the pretrained weights, kept" in said) != ("regret fine-tuning lowered" in said)


def test_step_at_finds_the_step_a_time_names():
    """``--at`` of predict and explain: the library lookup they call."""
    import pandas as pd

    from cityfocus.data.synthetic import synthetic_city
    from cityfocus.data.time_index import step_at
    from cityfocus.errors import CityfocusError, DataError

    data = synthetic_city(seed=0).data
    T = data.shape[0]
    assert step_at(data, str(data.timestamps[5])) == 5
    assert step_at(data, data.timestamps[7].to_pydatetime()) == 7
    assert step_at(data, data.timestamps[-1] + data.freq) == T  # just after the data
    assert step_at(data, None) == T
    with pytest.raises(CityfocusError, match="time 'soon' is not a timestamp"):
        step_at(data, "soon")
    with pytest.raises(DataError, match=r"--at 1999-01-01 00:00:00 is not a time step of the "
                       r"data \(2024-01-01 00:00:00 .. .*, every 1 h\)"):
        step_at(data, pd.Timestamp("1999-01-01"), what="--at")

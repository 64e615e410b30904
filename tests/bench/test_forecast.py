"""The forecast benchmark runner: protocol windows, JSON output, RESULTS.md sections."""

import json

import numpy as np
import pandas as pd
import pytest

from cityfocus.data.cards import SplitRule, load_card
from cityfocus.data.citydata import CityData
from cityfocus.data.windows import Windows
from cityfocus.errors import CityfocusError
from cityfocus_bench.forecast import (
    QUICK_EPOCHS,
    Job,
    plan,
    run_forecast_benchmark,
)
from cityfocus_bench.markdown import replace_section
from cityfocus_bench.protocols import (
    forecast_protocol,
    iterated_window_mean,
    scored_windows,
    with_target,
)
from tests.conftest import run_here

BASELINES = "historical_average,persistence"


def _toy(T: int = 100, N: int = 3, F: int = 2) -> CityData:
    values = np.arange(T * N * F, dtype=np.float32).reshape(T, N, F) % 17
    return CityData(values, pd.date_range("2024-01-01", periods=T, freq="5min"),
                    features=[f"f{i}" for i in range(F)])


def test_tgcn_split_and_windows_follow_the_reference_code():
    split = SplitRule("tgcn").apply(_toy())
    assert split.bounds("train") == (0, 72)  # train = int(0.8 * 100) = 80, its last 10 % val
    assert split.bounds("test") == (80, 100)
    windows = scored_windows(forecast_protocol("los_loop"), split, horizon=3)
    # range(len(test) - L - H) inside the test part: 20 - 12 - 3 windows, none reaching back
    assert len(windows) == 20 - 12 - 3
    assert windows.starts[0] == 80
    assert windows.starts[-1] + 12 + 3 == 99


def test_iterated_window_mean_by_hand():
    values = np.array([1.0, 3.0, 0.0, 0.0, 0.0])[:, None, None]
    data = CityData(values, pd.date_range("2024-01-01", periods=5, freq="h"))
    windows = Windows(data, 2, 2, target_stop=4)
    assert len(windows) == 1
    # step 1: mean(1, 3) = 2; step 2: mean(3, 2) = 2.5
    np.testing.assert_allclose(iterated_window_mean(windows)[0, :, 0], [2.0, 2.5])


def test_with_target_rebuilds_without_touching_the_input():
    data = _toy()
    other = with_target(data, "f1")
    assert (data.target, other.target) == ("f0", "f1")
    np.testing.assert_array_equal(other.target_values, data.values[:, :, 1])


def test_plan_and_bad_names():
    jobs = plan("nyc_crime", ["persistence"])
    assert [j.category for j in jobs] == ["burglary", "larceny", "robbery", "assault"]
    assert plan("los_loop", ["persistence"])[-1] == Job("persistence", 12)
    with pytest.raises(CityfocusError, match="no forecast benchmark"):
        plan("atlantis")
    with pytest.raises(CityfocusError, match="unknown model 'oracle'"):
        plan("synthetic", ["persistence", "oracle"])


def test_replace_section_appends_once_and_refuses_broken_markers():
    text = "# results\n\nintro\n"
    once = replace_section(text, "forecast:x", "table 1")
    twice = replace_section(once, "forecast:x", "table 2")
    assert twice.count("<!-- forecast:x:start -->") == 1
    assert "table 1" not in twice and "table 2" in twice
    assert twice.startswith(text)
    broken = once + "<!-- forecast:x:start -->\n"
    with pytest.raises(CityfocusError, match="markers"):
        replace_section(broken, "forecast:x", "table 3")


def test_cli_quick_run_writes_json_and_replaces_only_its_section(tmp_path):
    results = tmp_path / "RESULTS.md"
    allocation = "<!-- allocation:start -->\nallocation table, keep me\n<!-- allocation:end -->\n"
    los = "<!-- forecast:los_loop:start -->\nlos table, keep me\n<!-- forecast:los_loop:end -->\n"
    stale = "<!-- forecast:synthetic:start -->\nSTALE\n<!-- forecast:synthetic:end -->\n"
    results.write_text(f"# Results\n\n{allocation}\n{stale}\n{los}")
    out = tmp_path / "synthetic.json"
    args = ("benchmark", "forecast", "--data", "synthetic", "--json", str(out), "--quick",
            "--models", BASELINES, "--results", str(results))
    for again in ((), ("--force",)):
        result = run_here(*args, *again)
        assert result.returncode == 0, result.stderr
    text = results.read_text()
    assert "STALE" not in text
    assert text.count("<!-- forecast:synthetic:start -->") == 1
    assert text.count("<!-- forecast:synthetic:end -->") == 1
    assert allocation in text and los in text
    assert text.index("allocation table") < text.index("forecast:synthetic") < text.index("los t")
    assert "cityfocus benchmark forecast --data synthetic" in text
    assert "| historical_average |" in text and "| persistence |" in text

    report = json.loads(out.read_text())
    assert {"dataset", "protocol", "manifest", "runs", "references", "environment"} <= set(report)
    assert report["quick"] is True
    assert {"data", "split", "lookback", "horizon", "seed", "command", "metrics"} <= set(
        report["manifest"])
    assert [r["model"] for r in report["runs"]] == ["historical_average", "persistence"]
    for run in report["runs"]:
        assert len(run["metrics"]["per_step"]["mae"]) == 3
        assert run["metrics"]["manifest"]["command"] == report["manifest"]["command"]
        assert run["metrics_vs_truth_rate"]["all"]["mae"] > 0
        assert run["fit_seconds"] >= 0 and run["n_windows"] > 0


@pytest.mark.realdata
def test_los_loop_protocol_reproduces_the_quoted_window_mean_ha():
    """Our split, windows and metrics give T-GCN's HA figures as quoted in the README."""
    pytest.importorskip("cityfocus.data.readers")
    try:
        report = run_forecast_benchmark("los_loop", models=["persistence"])
    except CityfocusError as err:
        pytest.skip(f"Los-loop data not available: {err}")
    references = load_card("los_loop").references
    quoted = {r["horizon"]: r["metrics"] for r in references if "HA" in r["label"]}
    assert [c["horizon"] for c in report["protocol_check"]] == [3, 6, 9, 12]
    for check in report["protocol_check"]:
        for name, value in quoted[check["horizon"]].items():
            assert check["metrics"]["all"][name] == pytest.approx(value, abs=6e-5), name


@pytest.mark.realdata
def test_nyc_crime_runs_one_fit_per_category_and_pools_positive_entries():
    try:
        report = run_forecast_benchmark("nyc_crime", models=["persistence"], quick=True)
    except CityfocusError as err:
        pytest.skip(f"NYC crime data not available: {err}")
    (run,) = report["runs"]
    categories = forecast_protocol("nyc_crime").categories
    assert [t["category"] for t in run["timings"]] == list(categories)
    assert run["n_windows"] == 730 - 638  # one window per test day, inputs reach back
    counts = run["count_metrics"]
    per_category = [counts["per_category"][c]["all"] for c in categories]
    assert counts["all"]["entries"] == sum(p["entries"] for p in per_category) > 0
    pooled = sum(p["mae_pos"] * p["entries"] for p in per_category) / counts["all"]["entries"]
    assert counts["all"]["mae_pos"] == pytest.approx(pooled)


class _Recorder:
    """A model registered at test time: records what the runner gave it, forecasts zeros."""

    seen: list = []

    def __init__(self, lookback: int, horizon: int, seed: int = 0, epochs: int = 50) -> None:
        self.lookback, self.horizon, self.seed, self.epochs = lookback, horizon, seed, epochs

    def fit(self, train, val=None):
        _Recorder.seen.append((self.seed, self.epochs, train.shape[0], val.timestamps[0],
                               train.timestamps[-1] + train.freq))
        return self

    def predict_windows(self, windows):
        return np.zeros((len(windows), self.horizon, windows.data.shape[1]))


def test_models_registered_later_run_with_the_run_seed_and_quick_epochs(monkeypatch):
    from cityfocus.models.registry import MODELS

    monkeypatch.setitem(MODELS, "recorder", _Recorder)
    monkeypatch.setattr(_Recorder, "seen", [])
    assert "recorder" in [job.model for job in plan("synthetic")]
    report = run_forecast_benchmark("synthetic", models=["recorder"], quick=True, seed=7)
    ((seed, epochs, n_train, val_start, after_train),) = _Recorder.seen
    assert seed == 7 and report["manifest"]["seed"] == 7
    assert epochs == QUICK_EPOCHS
    assert val_start == after_train  # consecutive parts: Split.train then Split.val
    assert n_train == report["manifest"]["split"]["train"][1]
    assert report["runs"][0]["metrics"]["all"]["mae"] > 0

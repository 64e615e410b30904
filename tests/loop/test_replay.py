"""Replay: observation models, the policy's own store, refits, resume and crash safety."""

from __future__ import annotations

import json

import numpy as np
import pytest

from cityfocus.errors import CityfocusError
from cityfocus.loop import ReplayConfig, load_source, observe_probability, reveal, run_replay
from cityfocus.loop.checkpoint import LATEST, load_latest

TINY = {"synthetic_zones": 8, "synthetic_days": 14, "steps": 6, "budget": 3.0}
TIMING = ("retrain_seconds", "initial_fit_seconds", "retrain_seconds_total",
          "retrain_seconds_mean")


@pytest.fixture(scope="module")
def source():
    return load_source(ReplayConfig(**TINY).resolved())


def without_timing(result: dict) -> dict:
    """The result with wall-clock times removed (everything else must match exactly)."""
    out = json.loads(json.dumps(result))
    for record in out["records"]:
        record.pop("retrain_seconds")
    for key in TIMING:
        out["summary"].pop(key, None)
    return out


def test_attention_observes_with_the_coverage_probability():
    rng = np.random.default_rng(0)
    w = np.array([0.0, 1.0, 3.0])
    mask = reveal("attention", w, 0.5, np.ones((20000, 3, 2), bool), rng)
    np.testing.assert_allclose(mask[:, :, 0].mean(0), 1 - np.exp(-0.5 * w), atol=0.01)
    assert np.array_equal(mask[:, :, 0], mask[:, :, 1])  # a zone reveals all its features
    assert not mask[:, 0].any()
    assert np.array_equal(observe_probability("full", w, 0.5), np.ones(3))


def test_full_observation_reveals_what_the_data_holds():
    truth = np.random.default_rng(1).random((4, 5, 2)) > 0.3
    assert np.array_equal(reveal("full", np.zeros(5), 0.5, truth, np.random.default_rng(0)),
                          truth)


def test_store_holds_only_what_attention_revealed(source, tmp_path):
    config = ReplayConfig(policy="forecast", observe="attention", **TINY)
    result = run_replay(config, state_dir=tmp_path, source=source)
    resolved = config.resolved()
    T, N, _ = source.data.shape
    start = T - resolved.steps * resolved.horizon
    _, store, _ = load_latest(tmp_path, source.data.shape)
    assert np.array_equal(store[:start], source.data.mask[:start])
    assert not (store & ~source.data.mask).any()
    for k, record in enumerate(result["records"]):
        block = store[start + k * 24: start + (k + 1) * 24]
        unattended = np.asarray(record["allocation"]) == 0
        assert not block[:, unattended].any()
    assert store[start:].mean() < 0.5  # 3 units over 8 zones cannot see most of the city


def test_full_observation_scores_against_the_oracle(source):
    result = run_replay(ReplayConfig(policy="uniform", observe="full", **TINY), source=source)
    records = result["records"]
    assert all(r["regret"] >= -1e-9 and r["unseen_share"] == 0 for r in records)
    curve = result["curve"]
    assert curve[-1]["cumulative_regret"] == pytest.approx(sum(r["regret"] for r in records))


def test_frozen_model_is_never_refitted(source):
    online = run_replay(ReplayConfig(policy="forecast", retrain_every=2, **TINY), source=source)
    frozen = run_replay(ReplayConfig(policy="forecast", retrain_every=0, **TINY), source=source)
    assert [r["retrained"] for r in online["records"]] == [False, False, True, False, True,
                                                           False]
    assert frozen["summary"]["retrains"] == 0


@pytest.mark.parametrize("policy", ["explore", "proportional"])
def test_stop_and_resume_give_identical_results(source, tmp_path, policy):
    config = ReplayConfig(policy=policy, beta=1.0, revisit=2, **TINY)  # draws and revisits
    whole = run_replay(config, source=source)
    run_replay(config, state_dir=tmp_path, source=source, stop_after=2)
    assert (tmp_path / LATEST).read_text() == "step-000002"
    resumed = run_replay(config, state_dir=tmp_path, source=source)
    assert without_timing(resumed) == without_timing(whole)


class Crash(RuntimeError):
    pass


def crash_at(step_phase: str, on_call: int):
    calls = {"n": 0}

    def hook(phase: str) -> None:
        if phase == step_phase:
            calls["n"] += 1
            if calls["n"] == on_call:
                raise Crash(phase)

    return hook


@pytest.mark.parametrize("phase", ["observed", "saving"])
def test_crash_mid_step_leaves_the_last_complete_state(source, tmp_path, phase):
    config = ReplayConfig(policy="explore", **TINY)
    whole = run_replay(config, source=source)
    with pytest.raises(Crash):
        run_replay(config, state_dir=tmp_path, source=source, hook=crash_at(phase, 4))
    assert (tmp_path / LATEST).read_text() == "step-000003"
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        LATEST, "step-000003"]
    state, _, _ = load_latest(tmp_path, source.data.shape)
    assert state["step"] == 3 and len(state["records"]) == 3
    resumed = run_replay(config, state_dir=tmp_path, source=source)
    assert without_timing(resumed) == without_timing(whole)


def test_resume_refuses_another_configuration(source, tmp_path):
    run_replay(ReplayConfig(policy="forecast", **TINY), state_dir=tmp_path, source=source,
               stop_after=1)
    with pytest.raises(CityfocusError, match="another configuration"):
        run_replay(ReplayConfig(policy="explore", **TINY), state_dir=tmp_path, source=source)


def test_neural_policy_fine_tunes_and_resumes_identically(source, tmp_path):
    config = ReplayConfig(policy="forecast", model="seed_mlp", retrain_every=2,
                          model_params={"lookback": 12, "epochs": 1, "hidden": 16}, **TINY)
    whole = run_replay(config, source=source)
    run_replay(config, state_dir=tmp_path, source=source, stop_after=3)
    assert (tmp_path / "step-000003" / "policy" / "model.pt").is_file()
    resumed = run_replay(config, state_dir=tmp_path, source=source)
    assert without_timing(resumed) == without_timing(whole)
    assert whole["summary"]["retrains"] == 2


def test_bad_settings_fail_in_one_line(source):
    with pytest.raises(CityfocusError, match="unknown policy"):
        run_replay(ReplayConfig(policy="greedy", **TINY), source=source)
    with pytest.raises(CityfocusError, match="do not fit"):
        run_replay(ReplayConfig(**{**TINY, "steps": 400}), source=source)
    with pytest.raises(CityfocusError, match="neural model"):
        run_replay(ReplayConfig(policy="decide", **TINY), source=source)

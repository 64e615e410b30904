"""The decision benchmark: rows, JSON, targets from the numbers, RESULTS.md section."""

import json

import numpy as np
import pytest

from cityfocus.errors import CityfocusError
from cityfocus.evaluate.bootstrap import ratio_interval
from cityfocus_bench.aims import check_targets
from cityfocus_bench.decide import (
    BASELINES,
    DecisionJob,
    plan,
    run_decision_benchmark,
)
from cityfocus_bench.decide_markdown import decision_section_markdown
from tests.conftest import run_here


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    """A quick CLI run on the synthetic city (baselines + seed_mlp in two modes), then a
    baselines-only run into the same RESULTS file."""
    tmp = tmp_path_factory.mktemp("decide")
    results = tmp / "RESULTS.md"
    keep = "<!-- forecast:synthetic:start -->\nforecast table, keep me\n" \
           "<!-- forecast:synthetic:end -->\n"
    results.write_text(f"# Results\n\n{keep}\n<!-- decide:synthetic:start -->\nSTALE\n"
                       "<!-- decide:synthetic:end -->\n")
    out = tmp / "synthetic.json"
    args = ("benchmark", "decide", "--data", "synthetic", "--json", str(out), "--quick",
            "--models", "seed_mlp", "--modes", "forecast,decide", "--threads", "1",
            "--results", str(results))
    first = run_here(*args)
    assert first.returncode == 0, first.stderr
    first_text, report = results.read_text(), json.loads(out.read_text())
    second = run_here("benchmark", "decide", "--data", "synthetic", "--json", str(out),
                     "--quick", "--models", "", "--results", str(results), "--force")
    assert second.returncode == 0, second.stderr
    return report, first_text, results.read_text(), keep


def test_plan_and_bad_names():
    jobs = plan("nyc_crime", ["lstm"], ["decide"])
    assert [j.target for j in jobs] == [t for t in
                                        ("burglary", "larceny", "robbery", "assault", "total")
                                        for _ in range(2)]
    assert jobs[:2] == [DecisionJob("burglary", "historical_average"),
                        DecisionJob("burglary", "lstm", "decide")]
    assert len(plan("synthetic")) == 1 + 3 * 3
    with pytest.raises(CityfocusError, match="no decision benchmark"):
        plan("los_loop")
    with pytest.raises(CityfocusError, match="unknown model 'persistence'"):
        plan("synthetic", ["persistence"])
    with pytest.raises(CityfocusError, match="unknown mode 'guess'"):
        plan("synthetic", None, ["decide", "guess"])


def test_json_has_manifest_every_row_and_an_exact_oracle(quick_run):
    report, _, _, _ = quick_run
    assert {"dataset", "quick", "protocol", "task", "manifest", "environment",
            "targets"} <= set(report)
    assert report["quick"] is True and report["environment"]["torch_threads"] == 1
    manifest = report["manifest"]
    assert {"data", "split", "lookback", "horizon", "seed", "command", "metrics"} <= set(manifest)
    assert (manifest["lookback"], manifest["horizon"]) == (24, 24)
    assert manifest["extra"]["task"] == report["task"]
    assert report["task"]["family"] == "coverage" and report["task"]["budget"] == 10
    assert "benchmark decide --data synthetic" in manifest["command"]
    (target,) = report["targets"]
    names = [(r["name"], r["mode"]) for r in target["rows"]]
    assert names == [(b, None) for b in BASELINES] + [("seed_mlp", "forecast"),
                                                      ("seed_mlp", "decide")]
    rows = {r["name"] if r["mode"] is None else r["mode"]: r for r in target["rows"]}
    for row in target["rows"]:
        for key in ("metrics", "metrics_on_counts"):
            m = row[key]
            assert m["decisions"] == target["n_decisions"] > 0
            assert m["regret"] >= -1e-9
            assert m["realized_objective"] <= m["oracle_objective"] + 1e-9
    oracle = rows["oracle"]["metrics"]
    assert oracle["regret"] == pytest.approx(0.0, abs=1e-9)
    assert oracle["normalized_regret"] == pytest.approx(0.0, abs=1e-12)
    # scored on counts, the rate oracle is no longer the hindsight optimum
    assert rows["oracle"]["metrics_on_counts"]["regret"] > 0
    assert rows["uniform"]["metrics"]["regret"] > 0
    for mode in ("forecast", "decide"):
        row = rows[mode]
        assert row["rmse"] > 0 and row["epochs"] == 2
        assert [h["epoch"] for h in row["history"] if h["epoch"] >= 1] == [1, 2]
        assert row["seconds_per_epoch"] > 0 and row["params"]["mode"] == mode
    assert rows["historical_average + solver"]["rmse"] > 0
    assert rows["historical_average rule"]["rmse"] is None


def test_results_section_replaced_not_duplicated(quick_run):
    report, first, second, keep = quick_run
    for text in (first, second):
        assert "STALE" not in text and keep in text
        assert text.count("<!-- decide:synthetic:start -->") == 1
        assert text.count("<!-- decide:synthetic:end -->") == 1
        assert text.count("### Decision benchmark: synthetic") == 1
    assert report["manifest"]["command"] in first
    assert "| seed_mlp (decide) |" in first and "| oracle |" in first
    assert "seed_mlp" not in second and "| oracle |" in second  # the baselines-only run
    assert "--models ''" in second


def _fake(nregrets: dict[tuple[str, str | None], float], hit: float = 0.5,
          seconds: dict[str, float] | None = None) -> dict:
    rows = []
    for (name, mode), value in nregrets.items():
        kind = "model" if mode else "rule"
        row = {"name": name, "mode": mode, "kind": kind,
               "metrics": {"normalized_regret": value, "hit_rate": hit if mode else 0.4}}
        if mode:
            row |= {"epochs": 4, "seconds_per_epoch": (seconds or {}).get(mode, 1.0)}
        rows.append(row)
    return {"dataset": "nyc_crime", "targets": [{"target": "total", "rows": rows}]}


def test_targets_follow_the_numbers():
    good = _fake({("historical_average rule", None): 0.5, ("lstm", "imitate"): 0.4,
                  ("lstm", "forecast"): 0.3, ("lstm", "decide"): 0.2}, hit=0.45,
                 seconds={"forecast": 1.0, "decide": 1.9})
    verdicts = {c["key"]: c["met"] for c in check_targets(good)}
    assert verdicts == {"decide_beats_forecast": True, "beat_imitate_and_rule": True,
                        "decide_aim": True, "hit_rate": True, "epoch_cost": True}
    bad = _fake({("historical_average rule", None): 0.25, ("lstm", "imitate"): 0.4,
                 ("lstm", "forecast"): 0.3, ("lstm", "decide"): 0.29}, hit=0.43,
                seconds={"forecast": 1.0, "decide": 2.1})
    verdicts = {c["key"]: c["met"] for c in check_targets(bad)}
    assert verdicts == {"decide_beats_forecast": True, "beat_imitate_and_rule": False,
                        "decide_aim": False, "hit_rate": False, "epoch_cost": False}
    rules_only = _fake({("historical_average rule", None): 0.5})
    assert all(c["met"] is None for c in check_targets(rules_only))


def test_markdown_states_each_target_verdict(quick_run):
    report, _, _, _ = quick_run
    text = decision_section_markdown(report)
    for check in check_targets(report):
        assert check["statement"] in text
    ratio = report["targets"][0]["rows"]
    decide = next(r for r in ratio if r["mode"] == "decide")
    assert f"{decide['metrics']['normalized_regret']:.4f}" in text


def test_baselines_only_run_in_process():
    report = run_decision_benchmark("synthetic", models=[], quick=True)
    (target,) = report["targets"]
    assert [r["name"] for r in target["rows"]] == list(BASELINES)
    realized = {r["name"]: r["metrics"]["realized_objective"] for r in target["rows"]}
    assert realized["oracle"] == max(realized.values())
    assert np.isfinite(list(realized.values())).all()


def test_ratio_interval_separates_real_differences_from_noise():
    rng = np.random.default_rng(3)
    base = rng.gamma(2.0, 1.0, 400)
    assert ratio_interval(base, base, 7) == (1.0, 1.0)
    low, high = ratio_interval(0.7 * base + rng.normal(0, 0.05, 400), base, 7)
    assert low < 0.7 < high and high < 1  # a 30 % cut is told apart
    twin = rng.gamma(2.0, 1.0, 400)  # same distribution, independent draws
    low, high = ratio_interval(twin, base, 7)
    assert low < 1 < high
    # when the ratio drifts slowly, runs of 24 keep the drift: a wider interval than runs of 1
    a, b = base * (1.1 + 0.5 * np.sin(np.arange(400) / 12.0)), base
    narrow, wide = ratio_interval(a, b, 1), ratio_interval(a, b, 24)
    assert wide[1] - wide[0] > narrow[1] - narrow[0]
    assert ratio_interval([], [], 7) is None and ratio_interval([1.0], [0.0], 1) is None


def test_markdown_gives_intervals_for_decide_vs_forecast(quick_run):
    report, first, _, _ = quick_run
    (target,) = report["targets"]
    rows = {(r["name"], r["mode"]): r for r in target["rows"]}
    for row in target["rows"]:  # per-decision regrets add up to the table's figure
        assert len(row["per_decision"]["regret"]) == target["n_decisions"]
        assert sum(row["per_decision"]["regret"]) == pytest.approx(
            row["metrics"]["regret"] * target["n_decisions"], rel=1e-5, abs=1e-6)
    (case,) = next(c for c in check_targets(report)
                   if c["key"] == "decide_beats_forecast")["cases"]
    forecast, decide = rows["seed_mlp", "forecast"], rows["seed_mlp", "decide"]
    expected = ratio_interval(decide["per_decision"]["regret"],
                              forecast["per_decision"]["regret"], report["protocol"]["block"])
    assert case["interval"] == pytest.approx(expected)
    assert "Paired comparisons" in first and "| decide / forecast |" in first


def test_poisson_floor_is_the_regret_of_counting_noise():
    from cityfocus.allocate.task import DecisionTask
    from cityfocus_bench.decide import poisson_floor

    task = DecisionTask("coverage", 3, True, params={"alpha": 1.0})
    sure = np.tile([400.0, 300.0, 200.0, 0.01, 0.01], (30, 1))  # ranking beyond doubt
    even = np.full((30, 5), 2.0)  # any ranking is luck
    assert poisson_floor(task, sure, 0)["normalized_regret"] < 0.01
    noisy = poisson_floor(task, even, 0)
    assert noisy["normalized_regret"] > 0.1 and noisy["draws"] == 20 and noisy["sd"] > 0
    assert poisson_floor(task, even, 0) == noisy  # seeded


@pytest.mark.realdata
def test_nyc_baselines_carry_the_noise_floor():
    try:
        report = run_decision_benchmark("nyc_crime", models=[], quick=True)
    except CityfocusError as err:
        pytest.skip(f"NYC crime data not available: {err}")
    for target in report["targets"]:
        solved = next(r for r in target["rows"] if r["name"] == "historical_average + solver")
        assert 0 < solved["noise_floor"]["normalized_regret"] < 1
    assert "Counting noise alone" in decision_section_markdown(report)


def test_ratio_of_ratios_interval_brackets_the_pooled_ratio():
    from cityfocus.evaluate.bootstrap import ratio_of_ratios_interval

    rng = np.random.default_rng(3)
    hits_a, zones_a = rng.poisson(6, 300).astype(float), np.full(300, 4.0)
    hits_b, zones_b = rng.poisson(3, 300).astype(float), np.full(300, 4.0)
    low, high = ratio_of_ratios_interval(hits_a, zones_a, hits_b, zones_b, 7)
    point = (hits_a.sum() / zones_a.sum()) / (hits_b.sum() / zones_b.sum())
    assert low < point < high and low > 1.5
    assert ratio_of_ratios_interval(hits_a, zones_a, hits_b, zones_b * 0, 7) is None
    same = ratio_of_ratios_interval(hits_a, zones_a, hits_a, zones_a, 7)
    assert same == pytest.approx((1.0, 1.0))

"""Dataset cards: the built-in ones hold the published protocols, a user's card runs the
benchmarks and the replay on a new city with no code change, and a bad card is one line."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cityfocus.data.cards import SplitRule, built_in_cards, card_path, load_card
from cityfocus.errors import CityfocusError, DataError
from cityfocus_bench.decide import decision_protocol
from cityfocus_bench.protocols import forecast_protocol
from tests.cli.test_user_mistakes import _run

CATEGORIES = ("theft", "vandalism", "noise")

CARD = """
name = "riverton"
description = "a generated city laid out like nyc_crime: 5 x 6 cells, 3 categories, daily"
units = "reports/cell/day"

[forecast]
lookback = 7
horizons = [1]
split = { rule = "fixed", train_end = 80, val_end = 95, text = "{SPLIT}" }
categories = ["theft", "vandalism", "noise"]

[forecast.models]
seed_mlp = { epochs = 2, progress = false }

[decision]
lookback = 7
horizon = 1
split = { rule = "fixed", train_end = 80, val_end = 95, text = "{SPLIT}" }
categories = ["theft", "vandalism", "noise"]
task = { family = "coverage", budget = 5, units = true, params = { alpha = 1.0 } }
targets = ["theft", "total"]
block = 7
decision = "every test day, 5 whole units over the cells"
aims = { decide_vs_forecast_ratio = 0.9, hit_rate_gain = 1.05, epoch_cost = 3.0 }

[decision.models]
seed_mlp = { epochs = 2, patience = 2, progress = false }

[replay]
horizon = 1
budget = 5.0
alpha = 1.0
""".replace("{SPLIT}", "days 0-79 train, 80-94 validation, 95-119 test")


def generated_city(root: Path) -> Path:
    """A folder laid out like nyc_crime (another size, other category names) with a card."""
    rng = np.random.default_rng(7)
    rows, cols, days = 5, 6, 120
    hot = rng.gamma(1.0, 0.6, size=(rows, cols, 1, len(CATEGORIES)))
    weekly = 1 + 0.5 * np.sin(2 * np.pi * np.arange(days) / 7)[None, None, :, None]
    counts = rng.poisson(hot * weekly).astype(np.int64)
    counts[0, 0] = 0  # an empty cell, dropped as nyc_crime's are
    folder = root / "riverton"
    folder.mkdir()
    np.savez(folder / "nyc_crime_counts.npz", counts=counts, categories=np.array(CATEGORIES),
             start=np.array("2023-01-01"))
    (folder / "card.toml").write_text(CARD)
    return folder


def test_built_in_cards_hold_the_published_protocols():
    assert {"synthetic", "los_loop", "nyc_crime", "beijing_air_prsa"} <= set(built_in_cards())
    los = forecast_protocol("los_loop")
    assert (los.lookback, los.horizons, los.rule.rule, los.tgcn_windows) == (
        12, (3, 6, 9, 12), "tgcn", True)
    assert [r["horizon"] for r in los.card.references if "HA" in r["label"]] == [3, 6, 9, 12]
    nyc = decision_protocol("nyc_crime")
    assert nyc.task.to_config()["budget"] == 20 and nyc.spec.block == 7
    assert nyc.spec.targets == ("burglary", "larceny", "robbery", "assault", "total")
    assert nyc.forecast.rule == SplitRule("fixed", train_end=608, val_end=638,
                                          text=nyc.forecast.rule.text)
    assert load_card("synthetic").replay.horizon == 24


def test_a_path_without_a_card_gets_the_default_card_and_a_clear_benchmark_error(tmp_path):
    city = tmp_path / "city.csv"
    city.write_text("timestamp,zone,value\n2024-01-01 00:00,a,1\n")
    card = load_card(str(city))
    assert card.forecast is None and card.replay.budget == 10.0 and card.source == str(city)
    with pytest.raises(CityfocusError, match=r"city\.card\.toml.*docs/cards\.md"):
        forecast_protocol(str(city))
    (tmp_path / "city.card.toml").write_text('[replay]\nbudget = 4\n')
    assert card_path(str(city)) == tmp_path / "city.card.toml"
    assert load_card(str(city)).replay.budget == 4.0


@pytest.mark.parametrize(("text", "words"), [
    ("lookback = 3\n", ["unknown field lookback"]),
    ("[forecast]\nhorizons = [1]\n", ["missing field forecast.lookback"]),
    ("[forecast]\nlookback = 'x'\nhorizons = [1]\n", ["forecast.lookback", "int"]),
    ("[forecast]\nlookback = 2\nhorizons = [1]\nsplit = { rule = 'random' }\n",
     ["split rule 'random'"]),
    ("[replay\n", ["not a readable TOML"]),
])
def test_a_bad_card_is_one_line_naming_the_card_and_field(tmp_path, text, words):
    (tmp_path / "city.card.toml").write_text(text)
    with pytest.raises(DataError) as info:
        load_card(str(tmp_path / "city.csv"))
    message = str(info.value)
    assert "\n" not in message and "city.card.toml" in message
    for word in words:
        assert word in message


def test_a_new_city_runs_both_benchmarks_and_the_replay_with_no_code_change(tmp_path):
    folder = generated_city(tmp_path)
    from cityfocus.data.readers import load_dataset

    data = load_dataset(str(folder))  # named after its folder
    assert data.name == "riverton" and list(data.features) == [*CATEGORIES, "total"]
    assert data.shape[1] == 29 and data.timestamps[0] == pd.Timestamp("2023-01-01")

    code, _, err = _run(["benchmark", "forecast", "--data", str(folder),
                         "--models", "historical_average,seed_mlp", "--json", "f.json"],
                        tmp_path)
    assert code == 0, err
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "f.json", "riverton"]  # no Markdown unless --results names a file
    forecast = json.loads((tmp_path / "f.json").read_text())
    assert forecast["protocol"]["categories"] == list(CATEGORIES)
    assert forecast["protocol"]["split_rule"].startswith("days 0-79 train")
    for run in forecast["runs"]:
        assert run["n_windows"] == 120 - 95
        assert set(run["count_metrics"]["per_category"]) == set(CATEGORIES)

    code, _, err = _run(["benchmark", "decide", "--data", str(folder), "--quick",
                         "--models", "seed_mlp", "--modes", "forecast,decide", "--threads",
                         "1", "--json", "d.json"], tmp_path)
    assert code == 0, err
    decide = json.loads((tmp_path / "d.json").read_text())
    assert [t["target"] for t in decide["targets"]] == ["theft", "total"]
    assert decide["task"]["budget"] == 5
    assert decide["protocol"]["aims"]["hit_rate_gain"] == 1.05
    assert {c["key"] for c in decide["checks"]} >= {"decide_aim", "hit_rate", "epoch_cost"}
    for target in decide["targets"]:
        oracle = next(r for r in target["rows"] if r["kind"] == "oracle")
        assert oracle["metrics"]["regret"] == pytest.approx(0.0, abs=1e-9)

    code, _, err = _run(["replay", "--data", str(folder), "--steps", "4", "--policy",
                         "forecast,uniform", "--json", "r.json"], tmp_path)
    assert code == 0, err
    replay = json.loads((tmp_path / "r.json").read_text())
    for run in replay["runs"]:
        assert run["config"]["budget"] == 5.0 and run["config"]["horizon"] == 1
        assert len(run["records"]) == 4
        assert all(sum(r["allocation"]) == 5 for r in run["records"])

"""Short (300 s simulated) SUMO runs of every controller on a 2x2 grid, and the user errors."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from cityfocus.errors import CityfocusError
from cityfocus.signals import CONTROLLERS, prepare, run_many, simulate
from cityfocus.signals.allocation_control import ArrivalHistory, CityfocusController
from cityfocus.signals.controllers import MaxPressure
from cityfocus.signals.env import SignalEnv
from cityfocus.signals.light import Light, is_green
from cityfocus.signals.scenarios import sumo_home

DURATION = 300.0


@pytest.fixture(scope="module")
def workdir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("signals")


@pytest.fixture(scope="module")
def runs(workdir) -> list[dict]:
    """Every controller on seed 1, and fixed/cityfocus again on seed 1 and on seed 2."""
    first = run_many(["gen2x2"], list(CONTROLLERS), [1], workdir / "a", DURATION,
                     history_days=1, workers=1)
    again = run_many(["gen2x2"], ["fixed", "cityfocus"], [1, 2], workdir / "b", DURATION,
                     history_days=1, workers=1)
    return first + again


def _metrics(runs, controller, seed, which=0):
    found = [r["metrics"] for r in runs if r["controller"] == controller and r["seed"] == seed]
    return found[which]


def test_every_controller_gives_finite_metrics_and_vehicles_arrive(runs):
    assert {r["controller"] for r in runs} == set(CONTROLLERS)
    for run in runs:
        m = run["metrics"]
        assert all(math.isfinite(v) for v in m.values()), run
        assert m["throughput"] > 0 and m["vehicles"] >= m["throughput"]
        assert m["delay"] >= 0 and m["travel_time"] > 0


def test_controllers_differ_and_adaptive_beats_fixed(runs):
    delays = {c: _metrics(runs, c, 1)["delay"] for c in CONTROLLERS}
    assert len(set(delays.values())) == len(CONTROLLERS)
    assert delays["max_pressure"] < delays["fixed"]


def test_same_seed_same_results_other_seed_other_demand(runs):
    for controller in ("fixed", "cityfocus"):
        assert _metrics(runs, controller, 1, 0) == _metrics(runs, controller, 1, 1)
    assert _metrics(runs, "fixed", 1) != _metrics(runs, "fixed", 2)


def test_demand_is_seeded_and_shared(workdir):
    one = prepare("gen2x2", 7, workdir / "d1", DURATION)
    same = prepare("gen2x2", 7, workdir / "d2", DURATION)
    other = prepare("gen2x2", 8, workdir / "d3", DURATION)

    def routes(scenario) -> str:  # the vehicles, without the dated header comment
        text = scenario.routes[0].read_text()
        return text[text.index("<routes"):]

    assert routes(one).count("<vehicle") > 20
    assert routes(one) == routes(same) != routes(other)


def test_pool_gives_the_same_runs_as_one_process(workdir, runs):
    pooled = run_many(["gen2x2"], ["max_pressure", "webster"], [1], workdir / "p", DURATION,
                      workers=2)
    for run in pooled:
        assert run["metrics"] == _metrics(runs, run["controller"], 1)


def test_switches_pass_through_the_programmes_yellow(workdir):
    import libsumo

    shown: list[str] = []

    def record(env: SignalEnv) -> str:
        state = libsumo.trafficlight.getRedYellowGreenState("A0")
        shown.append(state)
        return state

    scenario = prepare("gen2x2", 1, workdir / "y", DURATION)
    env = SignalEnv(scenario, workdir / "y" / "trip.xml", observation=record)
    env.reset()
    run_controller = MaxPressure()
    run_controller.reset(env)
    done = False
    while not done:
        _, reward, done, _, _ = env.step(run_controller.act(env))
        assert reward <= 0
    env.close()
    changes = [(a, b) for a, b in zip(shown, shown[1:], strict=False) if a != b]
    assert changes, "the light never switched"
    for before, after in changes:
        for was, now in zip(before, after, strict=True):
            # no movement loses right of way without a yellow in between
            assert not (was in "Gg" and now in "rs"), (before, after)
        if is_green(before):
            assert "y" in after, (before, after)


def test_green_split_follows_demand_within_bounds():
    history = ArrivalHistory(["l0"], 60.0, 0.0, [np.zeros((5, 1))])
    controller = CityfocusController(history, min_green=5.0, max_green=60.0)
    seconds = controller.split_green(np.array([900.0, 300.0]), cycle=90.0, lost=6.0)
    assert seconds.sum() == pytest.approx(84.0)
    assert seconds[0] > seconds[1] >= 5.0 - 1e-9
    assert seconds[0] <= 60.0 + 1e-9
    # the busy phase gets at least its flow ratio of the cycle
    assert seconds[0] >= 900.0 / 1800.0 * 90.0


def test_discharge_stops_at_the_first_vehicle_the_green_holds_back():
    links = [[("a_0", "left_0")], [("a_0", "ahead_0")], [("a_0", "right_0")]]
    light = Light("J", ["GGr", "yyr", "rrG", "rry"], [30.0, 3.0, 30.0, 3.0], links)
    queue = [("ahead", np.inf), ("right", np.inf), ("left", np.inf)]  # stop line first
    assert light.discharge(0, "a_0", queue) == 1  # the right-turner blocks the left-turner
    assert light.discharge(1, "a_0", queue) == 0  # the vehicle at the line cannot go
    moving = [("left", 1.5), ("ahead", 4.0)]
    assert light.discharge(0, "a_0", moving) == 0  # nobody halting
    assert light.discharge(0, "a_0", moving, within=2.0) == 1  # one due at the line in 1.5 s


def test_missing_scenario_file_is_a_clear_error(tmp_path, cli):
    with pytest.raises(CityfocusError, match="does not exist"):
        prepare(str(tmp_path / "nothing.sumocfg"), 1, tmp_path)
    result = cli("signals", "run", "--scenario", str(tmp_path / "nothing.sumocfg"))
    assert result.returncode == 2
    assert "nothing.sumocfg does not exist" in result.stderr
    assert "Traceback" not in result.stderr


def test_network_without_traffic_lights_is_a_clear_error(tmp_path):
    import subprocess

    net = tmp_path / "plain.net.xml"
    subprocess.run([str(sumo_home() / "bin" / "netgenerate"), "--grid", "--grid.number", "2",
                    "-o", str(net)], check=True, capture_output=True)
    cfg = tmp_path / "plain.sumocfg"
    cfg.write_text('<configuration><input><net-file value="plain.net.xml"/></input>'
                   '<time><begin value="0"/><end value="60"/></time></configuration>')
    with pytest.raises(CityfocusError, match="has no traffic lights"):
        simulate(str(cfg), "max_pressure", 1, tmp_path / "w")


def test_cli_writes_json_summary(tmp_path, cli):
    out = tmp_path / "signals.json"
    result = cli("signals", "run", "--scenario", "gen2x2", "--controller", "fixed,actuated",
                 "--seeds", "2", "--duration", "300", "--workers", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert [row["controller"] for row in data["summary"]] == ["fixed", "actuated"]
    assert all(len(row["seeds"]) == 2 for row in data["summary"])
    assert data["manifest"]["command"].startswith("cityfocus signals run")
    assert "| gen2x2 | fixed | 2 |" in result.stdout

"""Energy: a small SimBench grid as CityData, one AC power flow, one allocation judged end to
end, the exactness of the scenario plan, the rules, and one-line user mistakes."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("pandapower", reason="the energy extra is not installed")
pytest.importorskip("simbench", reason="the energy extra is not installed")

from cityfocus.data.readers import load_dataset  # noqa: E402
from cityfocus.energy.flexibility import (  # noqa: E402
    RULES,
    plan_day,
    relief,
    rule_day,
    scenarios_of,
)
from cityfocus.energy.grid import GridCase, day_steps, load_grid  # noqa: E402
from tests.conftest import run_here  # noqa: E402

LV = "1-LV-rural1--2-sw"
AUGUST_1 = 213  # day of 2016, 0-based


@pytest.fixture(scope="module")
def case() -> GridCase:
    return load_grid(LV, numba=False)  # a few power flows: compiling them would cost more


@pytest.fixture(scope="module")
def lv_data():
    return load_dataset("simbench_lv")  # 10-25 s here: SimBench builds the grid and profiles


def test_reader_turns_the_grid_into_city_data(lv_data):
    data = lv_data
    assert data.shape == (153 * 96, 13, 5)
    assert list(data.features) == ["load", "pv", "wind", "other_gen", "net_load"]
    assert data.target == "net_load"
    v = data.values.astype(np.float64)
    np.testing.assert_allclose(v[..., 4], v[..., 0] - v[..., 1] - v[..., 2] - v[..., 3],
                               atol=1e-6)
    assert str(data.timestamps[0]) == "2016-04-01 00:00:00"
    assert np.isfinite(data.zones[["lat", "lon"]].to_numpy()).all()
    adjacency = data.adjacency
    assert adjacency is not None and (adjacency == adjacency.T).all()
    reach = np.linalg.matrix_power(adjacency + np.eye(13), 13) > 0
    assert reach.all()  # one connected grid


def test_card_split_is_chronological_with_four_test_weeks(lv_data):
    from cityfocus_bench.energy import day_windows
    from cityfocus_bench.protocols import forecast_protocol

    protocol = forecast_protocol("simbench_lv")
    data = lv_data
    split = protocol.split(data)
    train, val, test = (split.bounds(p) for p in ("train", "val", "test"))
    assert train[1] == val[0] and val[1] == test[0]
    windows = day_windows(split, protocol.lookback)
    assert len(windows) >= 28
    assert (windows.target_times().hour == 0).all()


def test_one_power_flow_matches_the_radial_model_and_curtailing_removes_the_overload(case):
    noon = AUGUST_1 * 96 + 13 * 4  # 13:00 on 1 August
    result = case.run(noon)
    trafo = len(case.ratings) - 1
    assert result.converged and result.overload_mva[trafo] > 0
    net_load = case.net_load(np.array([noon]))[0]
    linear = -case.flows(net_load)[trafo]  # reverse flow through the transformer, MW
    assert linear > case.ratings[trafo]
    everything = case.run(noon, np.full(case.n_zones, np.inf))
    assert not everything.violated


def test_one_allocation_end_to_end_judged_by_power_flow(case):
    steps = day_steps(0, AUGUST_1)
    realized = case.net_load(steps)
    budget = 0.05
    plan = plan_day(case, realized, budget)
    assert plan.shape == (24, case.n_zones) and (plan >= 0).all()
    assert plan.sum() == pytest.approx(budget)
    hours = np.nonzero(plan.sum(axis=1))[0]
    before = after = 0.0
    for hour in hours:
        for step in steps[hour * 4:(hour + 1) * 4]:
            before += case.run(int(step)).overload_mva.sum()
            after += case.run(int(step), plan[hour]).overload_mva.sum()
    assert after < before


def _tiny_case(rng: np.random.Generator) -> GridCase:
    """Three elements over four zones: a transformer over all, two feeders."""
    downstream = np.array([[1, 1, 1, 1], [1, 1, 0, 0], [0, 0, 1, 1]], dtype=float)
    return GridCase("tiny", None, None, np.array([1.0, 0.6, 0.7]), downstream,  # type: ignore[arg-type]
                    ["t", "a", "b"])


def test_scenario_plan_is_the_exact_optimum_of_the_expected_relief():
    from scipy.optimize import linprog

    rng = np.random.default_rng(3)
    case = _tiny_case(rng)
    forecast = -rng.uniform(0.0, 0.6, size=(96, 4))
    errors = rng.normal(0.0, 0.15, size=(5, 96, 4))
    scenarios = scenarios_of(forecast, errors)
    budget = 0.8
    plan = plan_day(case, scenarios, budget)
    parts = [relief(case, s) for s in scenarios]  # per quarter-hour: [96, 4] each

    def pieces(a: np.ndarray) -> np.ndarray:  # [S, 96, N] -> [S * 4, 24 * N]
        return a.reshape(len(scenarios), 24, 4, 4).transpose(0, 2, 1, 3).reshape(-1, 24 * 4)

    d = pieces(np.stack([p[0] for p in parts]))
    cap = pieces(np.stack([p[1] for p in parts]))
    S, Z = d.shape

    def value(w: np.ndarray) -> float:
        return float((d * np.minimum(w[None], cap)).sum() / S)

    # LP: w [Z], t [S, Z] <= w, t <= cap, sum w <= budget; maximise sum d t / S
    c = np.concatenate([np.zeros(Z), -(d / S).ravel()])
    rows, rhs = [], []
    for s in range(S):
        for z in range(Z):
            row = np.zeros(Z + S * Z)
            row[z], row[Z + s * Z + z] = -1.0, 1.0
            rows.append(row)
            rhs.append(0.0)
    rows.append(np.concatenate([np.ones(Z), np.zeros(S * Z)]))
    rhs.append(budget)
    bounds = [(0, None)] * Z + [(0, float(cp)) for cp in cap.ravel()]
    lp = linprog(c, A_ub=np.array(rows), b_ub=np.array(rhs), bounds=bounds, method="highs")
    assert lp.status == 0
    assert value(plan.ravel()) == pytest.approx(-lp.fun, rel=1e-9, abs=1e-12)
    assert plan.sum() <= budget + 1e-9


def test_rules_spend_the_budget_where_infeed_is_forecast():
    rng = np.random.default_rng(0)
    forecast = np.zeros((96, 6))
    forecast[40:64] = -rng.uniform(0.1, 1.0, size=(24, 6))
    for rule in RULES:
        plan = rule_day(rule, forecast, 2.0)
        assert plan.shape == (24, 6) and (plan >= 0).all()
        if rule == "no action":
            assert plan.sum() == 0
            continue
        assert plan.sum() == pytest.approx(2.0)
        assert plan[:10].sum() == 0 and plan[16:].sum() == 0  # no infeed forecast there
    largest = rule_day("largest nodes", forecast, 2.0)
    assert (largest.sum(axis=0) > 0).sum() == 1  # 20 % of 6 zones, rounded


@pytest.mark.parametrize(("args", "message"), [
    (["--data", "simbench_hv"], "unknown energy dataset 'simbench_hv'"),
    (["--models", "gpt"], "unknown model 'gpt' for the energy benchmark"),
    (["--data", ""], "--data is empty"),
])
def test_user_mistakes_are_one_line(tmp_path, args, message):
    result = run_here("benchmark", "energy", "--json", "out.json", *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
    assert not (tmp_path / "out.json").exists()


def test_voltage_model_fitted_on_a_few_flows_follows_the_ac_voltages(case):
    from cityfocus.energy.flexibility import constraints

    calibration = np.array([(AUGUST_1 - 30) * 96 + slot for slot in (24, 48, 52, 72)])
    case.calibrate_voltage(calibration)
    try:
        noon = np.array([AUGUST_1 * 96 + 52])
        linear = case.voltages(case.net_load(noon))[0]
        measured = case.run(int(noon[0])).vm_zone
        assert np.abs(linear - measured).max() < 0.02
        excess, sensitivity = constraints(case, case.net_load(day_steps(0, AUGUST_1)))
        assert excess.shape == (96, len(case.ratings) + case.n_zones)
        assert sensitivity.shape == (len(case.ratings) + case.n_zones, case.n_zones)
        assert (sensitivity >= 0).all() and (sensitivity <= 1 + 1e-9).all()
    finally:
        case.voltage_offset = None

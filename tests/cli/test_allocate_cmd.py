"""``cityfocus allocate``: the real command in a subprocess, and the library functions it
calls (the demand-file reader, the allocation file text, a dataset's last-day demand)."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from cityfocus.allocate import AllocationProblem, solve
from cityfocus.allocate.files import format_allocation, read_demand_file
from cityfocus.errors import CityfocusError, DataError


def test_units_from_a_csv_to_a_csv(cli, tmp_path):
    demand = tmp_path / "demand.csv"
    demand.write_text("zone,demand\nA,3\nB,1\nC,0\nD,6\n")
    out = tmp_path / "plan.csv"
    run = cli("allocate", "--demand", str(demand), "--budget", "4", "--units", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "shadow price" in run.stdout and "marginal value" in run.stdout
    rows = list(csv.DictReader(out.open()))
    assert [r["zone"] for r in rows] == ["A", "B", "C", "D"]
    # coverage, alpha 1: unit gains D 3.79, A 1.90, D 1.39, A 0.70, B 0.63 -> A 2, D 2
    assert [float(r["units"]) for r in rows] == [2.0, 0.0, 0.0, 2.0]


def test_shares_from_plain_numbers_to_json(cli, tmp_path):
    demand = tmp_path / "demand.txt"
    demand.write_text("4\n1\n2.5\n")
    out = tmp_path / "plan.json"
    run = cli(
        "allocate",
        "--demand",
        str(demand),
        "--budget",
        "1.5",
        "--family",
        "variance",
        "--alpha",
        "2",
        "--upper",
        "1",
        "--out",
        str(out),
    )
    assert run.returncode == 0, run.stderr
    plan = json.loads(out.read_text())
    shares = np.array([z["share"] for z in plan["zones"]])
    assert shares.sum() == pytest.approx(1.5) and (shares <= 1).all()
    assert plan["sense"] == "min" and plan["shadow_price"] > 0
    free = (shares > 0) & (shares < 1)  # KKT: equal marginal value where not at a bound
    marginals = np.array([z["marginal"] for z in plan["zones"]])[free]
    assert np.ptp(marginals) <= 1e-9 * marginals.max()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--family", "fairness"], "valid families: coverage, log, variance, linear, delay"),
        (["--lower", "2"], "below the sum of lower bounds"),
        (["--alpha", "1", "--family", "linear"], "linear: unknown parameter(s) ['alpha']"),
    ],
)
def test_user_errors_end_in_one_line_and_exit_2(cli, tmp_path, args, message):
    demand = tmp_path / "d.txt"
    demand.write_text("1\n2\n")
    run = cli("allocate", "--demand", str(demand), "--budget", "1", *args)
    assert run.returncode == 2 and message in run.stderr
    assert run.stderr.strip().count("\n") == 0 and "Traceback" not in run.stderr


def test_demand_file_reader_names_the_line(tmp_path):
    bad = tmp_path / "d.csv"
    bad.write_text("zone,demand\nA,1\nB,lots\n")
    with pytest.raises(DataError, match=r"d.csv, line 3, column 'demand': 'lots' is not a number"):
        read_demand_file(bad)
    bad.write_text("zone,need\nA,1\n")
    with pytest.raises(DataError, match="no 'demand' column"):
        read_demand_file(bad)
    with pytest.raises(DataError, match="file not found"):
        read_demand_file(tmp_path / "missing.csv")
    good = tmp_path / "n.txt"
    good.write_text("# counts\n1.5\n\n2\n")
    zones, demand = read_demand_file(good)
    assert zones == ["0", "1"] and demand.tolist() == [1.5, 2.0]


def test_allocation_text_is_what_the_command_writes(cli, tmp_path):
    demand = tmp_path / "demand.csv"
    demand.write_text("zone,demand\nA,3\nB,1\nC,0\nD,6\n")
    zones, values = read_demand_file(demand)
    allocation = solve(AllocationProblem(values, 4, "coverage", units=True))
    for suffix in ("csv", "json"):
        out = tmp_path / f"plan.{suffix}"
        run = cli("allocate", "--demand", str(demand), "--budget", "4", "--units",
                  "--out", str(out))
        assert run.returncode == 0, run.stderr
        assert out.read_bytes() == format_allocation(zones, values, allocation, 4.0,
                                                     suffix).encode()
    with pytest.raises(CityfocusError, match="unknown allocation format 'xml'"):
        format_allocation(zones, values, allocation, 4.0, "xml")


def test_last_day_demand_is_the_mean_observed_target_of_the_last_day():
    from cityfocus.data.recent_demand import last_day_demand
    from cityfocus.data.synthetic import synthetic_city

    data = synthetic_city(seed=0).data
    mask = data.mask.copy()
    mask[-24:, 0, data.target_index] = False  # zone 0 unobserved over the last day
    mask[-1, 1, data.target_index] = False  # zone 1 misses its last step
    data = data.replace(mask=mask)
    zones, demand, note = last_day_demand(data)
    assert zones == data.zones["id"].tolist() and demand.dtype == np.float64
    assert demand[0] == 0.0 and "1 zones unobserved there get demand 0" in note
    assert demand[1] == pytest.approx(data.target_values[-24:-1, 1].mean())
    assert demand[2] == pytest.approx(data.target_values[-24:, 2].mean())

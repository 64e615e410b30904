import json

import numpy as np
import pandas as pd

from tests.conftest import run_cli


def test_demo_writes_a_report(tmp_path):
    out = tmp_path / "report"
    result = run_cli("demo", "--units", "12", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Patrol plan" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["units"] == 12
    table = pd.read_csv(out / "allocation.csv")
    assert len(table) == 24 and table["units"].sum() == 12
    assert table["proportional_units"].sum() == 12

    # the exact plan is at least as good as the proportional rule on the forecast it used
    def covered(units):
        return float((table["forecast"] * (1 - np.exp(-0.5 * units))).sum())

    assert covered(table["units"]) >= covered(table["proportional_units"]) - 1e-9
    assert summary["true_incidents_intercepted_engine"] > 0
    assert (out / "report.md").read_text().startswith("# cityfocus demo")


def test_bad_option_is_one_line_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "report"
    result = run_cli("demo", "--units", "-3", "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not out.exists()

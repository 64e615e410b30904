import json

from tests.conftest import run_cli


def test_demo_writes_a_report(tmp_path):
    out = tmp_path / "report"
    result = run_cli("demo", "--units", "12", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "Patrol plan" in result.stdout
    summary = json.loads((out / "summary.json").read_text())
    assert summary["units"] == 12
    assert 0 < summary["share_of_true_expected_incidents_in_patrolled_zones"] <= 1
    lines = (out / "allocation.csv").read_text().splitlines()
    assert len(lines) == 1 + 24
    units = [int(line.split(",")[3]) for line in lines[1:]]
    assert sum(units) == 12
    assert (out / "report.md").read_text().startswith("# cityfocus demo")


def test_bad_option_is_one_line_exit_2_and_writes_nothing(tmp_path):
    out = tmp_path / "report"
    result = run_cli("demo", "--units", "-3", "--out", str(out))
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert not out.exists()

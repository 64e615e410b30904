"""The energy benchmark end to end on a quick slice (slow: about a minute of power flows)."""

from __future__ import annotations

import json

import pytest

pytest.importorskip("pandapower", reason="the energy extra is not installed")
pytest.importorskip("simbench", reason="the energy extra is not installed")

from tests.conftest import run_here  # noqa: E402


@pytest.mark.slow
def test_quick_energy_benchmark_writes_json_and_a_results_section(tmp_path):
    result = run_here("benchmark", "energy", "--data", "simbench_lv", "--models", "",
                      "--quick", "--threads", "1", "--json", "energy.json", "--results",
                      "results.md", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads((tmp_path / "energy.json").read_text())
    grid = data["grids"][0]
    rows = {r["row"]: r for r in grid["decisions"]}
    assert {"no action", "uniform", "proportional", "largest nodes",
            "oracle (hindsight)"} <= set(rows)
    assert rows["no action"]["curtailed_mwh"] == 0
    assert rows["oracle (hindsight)"]["overload_mwh"] <= rows["no action"]["overload_mwh"]
    assert grid["screening_check"]["mismatches"] == 0
    text = (tmp_path / "results.md").read_text()
    assert "<!-- energy:simbench_lv:start -->" in text and "Quick smoke run" in text

"""Scenarios given as paths: an absolute ``.sumocfg`` runs, a network file or another XML file
is one ``error:`` line (exit 2, no traceback), and no run prints libsumo's pyarrow notice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from cityfocus.errors import CityfocusError
from cityfocus.signals import prepare
from cityfocus.signals.scenarios import folder_name
from tests.conftest import run_cli


@pytest.fixture(scope="module")
def config(tmp_path_factory) -> Path:
    """A ``.sumocfg`` in its own folder naming a 2x2 grid and 120 s of its demand."""
    folder = tmp_path_factory.mktemp("user")
    base = prepare("gen2x2", 1, folder / "built", 120.0)
    cfg = folder / "mine.sumocfg"
    cfg.write_text(f'<configuration><input><net-file value="{base.net}"/>'
                   f'<route-files value="{base.routes[0]}"/></input>'
                   '<time><begin value="0"/><end value="120"/></time></configuration>')
    return cfg


def _one_error_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == 2, result.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_absolute_sumocfg_path_runs_and_prints_no_pyarrow_notice(config, tmp_path):
    assert config.is_absolute()
    out = tmp_path / "out.json"
    # the installed command: the notice came from loading libsumo at start-up
    result = run_cli("signals", "run", "--scenario", str(config), "--controller", "fixed",
                     "--seeds", "1", "--workers", "1", "--json", str(out))
    assert result.returncode == 0, result.stderr
    assert "pyarrow" not in result.stdout + result.stderr
    summary = json.loads(out.read_text())["summary"]
    assert [row["scenario"] for row in summary] == [str(config)]
    assert all(row["vehicles"]["mean"] > 0 for row in summary)


def test_two_configs_of_one_name_get_their_own_run_folders(tmp_path):
    one, other = tmp_path / "a" / "city.sumocfg", tmp_path / "b" / "city.sumocfg"
    assert folder_name(str(one)) != folder_name(str(other))
    assert os.sep not in folder_name(str(one)) and folder_name(str(one)).startswith("city-")
    assert folder_name("cologne1") == "cologne1"


def test_network_file_says_to_give_a_sumocfg(config, cli):
    net = next(config.parent.glob("built/*.net.xml"))
    with pytest.raises(CityfocusError, match="is a network file; give a .sumocfg"):
        prepare(str(net), 1, config.parent / "w")
    line = _one_error_line(cli("signals", "run", "--scenario", str(net), "--seeds", "1"))
    assert "network file" in line and ".sumocfg" in line and "<net-file>" in line
    assert "no <net-file>" not in line


def test_other_xml_given_as_a_configuration_is_named_as_such(config, cli):
    routes = next(config.parent.glob("built/*.rou.xml"))
    line = _one_error_line(cli("signals", "run", "--scenario", str(routes), "--seeds", "1"))
    assert "not a SUMO configuration" in line and "<routes>" in line


def test_libsumo_loads_silently_and_leaves_traci_and_the_environment_alone():
    code = ("import os; from cityfocus.signals.scenarios import load_libsumo; "
            "lib = load_libsumo(); import traci; "
            "print(lib.__name__, 'LIBSUMO_AS_TRACI' in os.environ, hasattr(traci, 'connect'))")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "LIBSUMO_AS_TRACI"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["libsumo", "False", "True"]
    assert done.stderr == ""

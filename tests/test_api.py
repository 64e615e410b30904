"""The public API: docs/api.md runs as written, and ``import cityfocus`` stays light and
changes nothing (the OpenMP wait policy is the command's business, not the import's)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from importlib import import_module
from pathlib import Path

import pytest

import cityfocus
from cityfocus.cli import main

API_DOC = Path(__file__).resolve().parents[1] / "docs" / "api.md"


def _python(code: str, cwd: Path, env: dict[str, str] | None = None
            ) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter (a user's program) and capture its output."""
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=300)


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}


def test_the_api_page_runs_as_written(tmp_path):
    blocks = re.findall(r"^```python\n(.*?)^```", API_DOC.read_text(), re.S | re.M)
    assert blocks, "docs/api.md has no python example"
    run = _python("\n".join(blocks), tmp_path, env=_clean_env())
    assert run.returncode == 0, run.stderr
    assert "units, forecast rank 1 of 24" in run.stdout  # the top zone's one-line reason
    assert list(tmp_path.iterdir()) == []  # the example writes nothing


def test_import_cityfocus_loads_no_torch_and_sets_nothing(tmp_path):
    run = _python(
        "import os, sys, cityfocus, cityfocus.cli\n"
        "print('torch' in sys.modules, os.environ.get('OMP_WAIT_POLICY'))\n"
        "cityfocus.CityData, cityfocus.solve, cityfocus.explain_allocation\n"
        "print('torch' in sys.modules)\n",
        tmp_path, env=_clean_env())
    assert run.returncode == 0, run.stderr
    # the command modules load no torch either, so main() sets the policy before torch loads
    assert run.stdout.split() == ["False", "None", "False"]


def test_every_public_name_resolves():
    for name in cityfocus.__all__:
        assert getattr(cityfocus, name) is not None, name
    assert set(cityfocus.__all__) <= set(dir(cityfocus))
    for name, module in cityfocus._LAZY.items():  # each name is its defining module's
        assert getattr(cityfocus, name) is getattr(import_module(module), name), name
    assert issubclass(cityfocus.DataError, cityfocus.CityfocusError)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _ = cityfocus.nothing


@pytest.mark.parametrize("mine, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_the_command_prefers_a_passive_wait_and_a_user_setting_wins(monkeypatch, mine,
                                                                   expected):
    if mine is None:
        monkeypatch.delenv("OMP_WAIT_POLICY", raising=False)
    else:
        monkeypatch.setenv("OMP_WAIT_POLICY", mine)
    monkeypatch.setattr(sys, "argv", ["cityfocus", "--version"])
    with pytest.raises(SystemExit) as done:
        main()
    assert done.value.code == 0
    assert os.environ["OMP_WAIT_POLICY"] == expected

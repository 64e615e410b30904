"""The layers of docs/design.md hold: import-linter's contracts (pyproject.toml) pass, and the
numpy-only modules load without torch in a fresh interpreter."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def _fresh(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=ROOT, timeout=120)


def test_import_contracts_are_kept():
    lint = Path(sys.executable).parent / "lint-imports"
    if not lint.exists():
        pytest.fail(f"{lint} missing: install the dev extra (pip install -e '.[dev]')")
    run = subprocess.run([str(lint), "--no-cache"], capture_output=True, text=True, cwd=ROOT,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr


@pytest.mark.parametrize("modules", [
    ["cityfocus.evaluate.decisions", "cityfocus.evaluate.metrics"],
    ["cityfocus.allocate.task", "cityfocus.allocate"],
])
def test_numpy_modules_import_no_torch(modules):
    run = _fresh("import sys\n" + "".join(f"import {m}\n" for m in modules)
                 + "print('torch' in sys.modules)")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "False", f"{modules} loaded torch"


def test_every_data_and_allocate_module_but_the_torch_layer_imports_no_torch():
    code = """
import importlib, pkgutil, sys
import cityfocus.allocate, cityfocus.data
for package in (cityfocus.data, cityfocus.allocate):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if info.name != "cityfocus.allocate.torch_layer":
            importlib.import_module(info.name)
            assert "torch" not in sys.modules, info.name
"""
    run = _fresh(code)
    assert run.returncode == 0, run.stderr


def test_models_load_without_decision_learning():
    run = _fresh("import sys\nimport cityfocus.models.registry\n"
                 "print(sorted(m for m in sys.modules if m.startswith('cityfocus.learn')))")
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"

"""The catalogue of user mistakes: every verb, run through the ``cityfocus`` entry point.

Each case must end with exit code 2 and one line on stderr that starts with ``error:`` and
names the file, row, column or option at fault; no traceback; and every file in the working
folder (the user's data, folders, earlier outputs) byte-identical afterwards, nothing added.
The whole catalogue runs in-process through ``cityfocus.cli.main`` (the console script's
target); a sample per verb also runs as a real subprocess to show the installed command
behaves the same.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import run_cli, run_in_process

GOOD_CITY = "\n".join(
    ["timestamp,zone,value"]
    + [f"2024-01-01 {h:02d}:00,{z},{(h * 7 + ord(z)) % 11}" for h in range(24) for z in "abc"]
) + "\n"
DEMAND = "zone,demand\na,3\nb,1.5\nc,0\n"
BAD_FILES = {
    "semi.csv": "zone;demand\na;1\n",
    "tab.csv": "zone\tdemand\na\t1\n",
    "dup.csv": "zone,demand\na,1\nb,2\na,3\n",
    "neg.csv": "zone,demand\na,1\nb,-2\n",
    "nonnum.csv": "zone,demand\na,1\nb,lots\n",
    "nocol.csv": "zone,need\na,1\n",
    "empty.csv": "",
    "header_only.csv": "zone,demand\n",
    "offgrid.csv": "timestamp,zone,value\n" + "".join(
        f"2024-01-01 {h:02d}:{30 if h == 5 else 0:02d},a,{h}\n" for h in range(12)),
    "semi_city.csv": "timestamp;zone;value\n2024-01-01 00:00;a;1\n2024-01-01 01:00;a;2\n",
    "case_city.csv": "timestamp,zone,Zone,value\n2024-01-01 00:00,a,a,1\n",
    "dupcols.csv": "timestamp,a,b,a\n2024-01-01 00:00,1,2,3\n2024-01-01 01:00,1,2,3\n",
    "letters_city.csv": "timestamp,zone,value\n2024-01-01 00:00,a,1\n2024-01-01 01:00,a,x\n",
    "sheet.xlsx": "not really a spreadsheet\n",
    "zones.csv": "id,name,lat,lon\na,Alpha,40.70,-74.00\nb,Beta,40.71,-74.01\n",
}


@pytest.fixture(scope="module")
def workspace(tmp_path_factory) -> Path:
    """A user's working folder: their files, a folder of theirs, data, bad files, an earlier
    cityfocus report and a small trained checkpoint."""
    from cityfocus.data.synthetic import synthetic_city
    from cityfocus.models.registry import make_forecaster

    ws = tmp_path_factory.mktemp("workspace")
    (ws / "notes.txt").write_text("my notes\n")
    (ws / "plan.csv").write_text("zone,units\nmine,1\n")
    (ws / "model.pt").write_text("not a checkpoint, the user's own file\n")
    (ws / "results.md").write_text("# my results\n")
    (ws / "mine").mkdir()
    (ws / "mine" / "keep.txt").write_text("keep me\n")
    (ws / "empty_dir").mkdir()
    (ws / "tables.csv").mkdir()
    data = ws / "data"
    data.mkdir()
    (data / "city.csv").write_text(GOOD_CITY)
    (data / "demand.csv").write_text(DEMAND)
    bad = ws / "bad"
    bad.mkdir()
    for name, text in BAD_FILES.items():
        (bad / name).write_text(text)
    (bad / "binary.csv").write_bytes(bytes(range(256)) * 4)
    model = make_forecaster("seed_mlp", 6, 2, epochs=1, progress=False, seed=0)
    model.fit(synthetic_city(seed=0).data)
    model.save(ws / "tiny.pt")
    code, _, err = _run(["demo", "--units", "3", "--out", str(ws / "earlier")], ws)
    assert code == 0, err
    (ws / "earlier_touched").mkdir()
    for f in (ws / "earlier").iterdir():
        (ws / "earlier_touched" / f.name).write_bytes(f.read_bytes())
    (ws / "earlier_touched" / "my_edit.txt").write_text("added by the user\n")
    return ws


def _run(args: list[str], cwd: Path) -> tuple[int, str, str]:
    return run_in_process(args, cwd)


def snapshot(root: Path) -> dict[str, bytes | None]:
    """Every file (bytes) and folder (None) under ``root``."""
    return {str(p.relative_to(root)): (p.read_bytes() if p.is_file() else None)
            for p in sorted(root.rglob("*"))}


# (case id, arguments, words the one line must contain)
CASES: list[tuple[str, list[str], list[str]]] = [
    # demo
    ("demo-out-cwd", ["demo", "--out", "."], ["--out .", "working directory"]),
    ("demo-out-parent", ["demo", "--out", ".."], ["--out ..", "working directory"]),
    ("demo-out-user-folder", ["demo", "--out", "mine"], ["--out mine", "keep.txt"]),
    ("demo-out-earlier-no-force", ["demo", "--out", "earlier"], ["--out earlier", "--force"]),
    ("demo-out-earlier-touched-force", ["demo", "--out", "earlier_touched", "--force"],
     ["earlier_touched", "my_edit.txt"]),
    ("demo-out-user-file", ["demo", "--out", "notes.txt"], ["--out notes.txt", "is a file"]),
    ("demo-out-under-file", ["demo", "--out", "notes.txt/report"], ["notes.txt", "not a folder"]),
    ("demo-out-special", ["demo", "--out", "/proc/cityfocus-report"], ["/proc", "cannot write"]),
    ("demo-out-holds-input", ["demo", "--out", "/"], ["--out /"]),
    ("demo-units-zero", ["demo", "--units", "0"], ["--units"]),
    ("demo-units-text", ["demo", "--units", "many"], ["--units"]),
    ("demo-alpha-negative", ["demo", "--alpha", "-1"], ["--alpha"]),
    ("demo-unknown-option", ["demo", "--unit", "3"], ["--unit"]),
    ("unknown-verb", ["demoo"], ["demoo"]),
    # allocate
    ("allocate-demand-missing", ["allocate", "--demand", "nope.csv", "--budget", "3"],
     ["nope.csv", "not found"]),
    ("allocate-demand-folder", ["allocate", "--demand", "data", "--budget", "3"],
     ["data", "folder"]),
    ("allocate-no-source", ["allocate", "--budget", "3"], ["--demand", "--data"]),
    ("allocate-two-sources", ["allocate", "--demand", "data/demand.csv", "--data",
                              "synthetic", "--budget", "3"], ["--demand", "--data"]),
    ("allocate-no-budget", ["allocate", "--demand", "data/demand.csv"], ["--budget"]),
    ("allocate-negative-budget", ["allocate", "--demand", "data/demand.csv", "--budget", "-1"],
     ["budget"]),
    ("allocate-budget-text", ["allocate", "--demand", "data/demand.csv", "--budget", "ten"],
     ["--budget"]),
    ("allocate-family", ["allocate", "--demand", "data/demand.csv", "--budget", "3",
                         "--family", "coverag"], ["coverag"]),
    ("allocate-semicolon", ["allocate", "--demand", "bad/semi.csv", "--budget", "3"],
     ["semi.csv", "line 1", "';'"]),
    ("allocate-tab", ["allocate", "--demand", "bad/tab.csv", "--budget", "3"],
     ["tab.csv", "line 1", "tab"]),
    ("allocate-duplicate-zone", ["allocate", "--demand", "bad/dup.csv", "--budget", "3"],
     ["dup.csv", "line 4", "'a'", "twice"]),
    ("allocate-negative-demand", ["allocate", "--demand", "bad/neg.csv", "--budget", "3"],
     ["neg.csv", "line 3", "'b'"]),
    ("allocate-not-a-number", ["allocate", "--demand", "bad/nonnum.csv", "--budget", "3"],
     ["nonnum.csv", "line 3", "'lots'"]),
    ("allocate-no-demand-column", ["allocate", "--demand", "bad/nocol.csv", "--budget", "3"],
     ["nocol.csv", "'demand'"]),
    ("allocate-empty-file", ["allocate", "--demand", "bad/empty.csv", "--budget", "3"],
     ["empty.csv"]),
    ("allocate-header-only", ["allocate", "--demand", "bad/header_only.csv", "--budget", "3"],
     ["header_only.csv"]),
    ("allocate-binary", ["allocate", "--demand", "bad/binary.csv", "--budget", "3"],
     ["binary.csv"]),
    ("allocate-out-is-input", ["allocate", "--demand", "data/demand.csv", "--budget", "3",
                               "--out", "data/demand.csv"], ["data/demand.csv", "input"]),
    ("allocate-out-suffix", ["allocate", "--demand", "data/demand.csv", "--budget", "3",
                             "--out", "plan.txt"], ["--out plan.txt", ".csv"]),
    ("allocate-out-user-file", ["allocate", "--demand", "data/demand.csv", "--budget", "3",
                                "--out", "plan.csv"], ["--out plan.csv", "exists"]),
    ("allocate-out-user-file-force", ["allocate", "--demand", "data/demand.csv", "--budget",
                                      "3", "--out", "plan.csv", "--force"],
     ["--out plan.csv", "not written by cityfocus"]),
    ("allocate-out-folder", ["allocate", "--demand", "data/demand.csv", "--budget", "3",
                             "--out", "tables.csv"], ["--out tables.csv", "is a folder"]),
    ("allocate-out-through-file", ["allocate", "--demand", "data/demand.csv", "--budget", "3",
                                   "--out", "notes.txt/plan.csv"], ["notes.txt", "not a folder"]),
    ("allocate-fractional-units", ["allocate", "--demand", "data/demand.csv", "--budget",
                                   "2.5", "--units"], ["2.5"]),
    ("allocate-bounds-crossed", ["allocate", "--demand", "data/demand.csv", "--budget", "3",
                                 "--lower", "2", "--upper", "1"], ["bound"]),
    ("allocate-unknown-dataset", ["allocate", "--data", "los_lop", "--budget", "3"],
     ["los_lop"]),
    # data info
    ("data-missing", ["data", "info", "nope.csv"], ["nope.csv", "not found"]),
    ("data-unknown-name", ["data", "info", "nyc_crim"], ["nyc_crim"]),
    ("data-no-argument", ["data", "info"], ["source"]),
    ("data-semicolon", ["data", "info", "bad/semi_city.csv"], ["semi_city.csv", "';'"]),
    ("data-header-twice", ["data", "info", "bad/case_city.csv"],
     ["case_city.csv", "'zone', 'Zone'"]),
    ("data-zones-missing-zone", ["data", "info", "data/city.csv", "--zones", "bad/zones.csv"],
     ["zones.csv", "'c'"]),
    ("data-zones-built-in", ["data", "info", "synthetic", "--zones", "bad/zones.csv"],
     ["'zones'", "synthetic"]),
    ("data-adjacency-missing", ["data", "info", "data/city.csv", "--adjacency", "adj.csv"],
     ["adj.csv", "not found"]),
    ("data-target-unknown", ["data", "info", "data/city.csv", "--target", "speed"],
     ["'speed'"]),
    ("data-off-grid", ["data", "info", "bad/offgrid.csv"], ["offgrid.csv", "line 7", "05:30"]),
    ("data-duplicate-columns", ["data", "info", "bad/dupcols.csv"], ["dupcols.csv", "'a'"]),
    ("data-not-a-number", ["data", "info", "bad/letters_city.csv"],
     ["letters_city.csv", "line 3", "'x'"]),
    ("data-suffix", ["data", "info", "bad/sheet.xlsx"], ["sheet.xlsx", ".csv"]),
    ("data-empty", ["data", "info", "bad/empty.csv"], ["empty.csv"]),
    # train
    ("train-model", ["train", "--model", "gpt", "--out", "new.pt"], ["'gpt'"]),
    ("train-mode", ["train", "--model", "seed_mlp", "--mode", "guess", "--out", "new.pt"],
     ["guess"]),
    ("train-family", ["train", "--model", "seed_mlp", "--mode", "decide", "--family", "nope",
                      "--out", "new.pt"], ["'nope'"]),
    ("train-data-missing", ["train", "--model", "seed_mlp", "--data", "nope.csv",
                            "--out", "new.pt"], ["nope.csv", "not found"]),
    ("train-out-user-file", ["train", "--model", "seed_mlp", "--out", "model.pt"],
     ["--out model.pt", "exists"]),
    ("train-out-user-file-force", ["train", "--model", "seed_mlp", "--out", "model.pt",
                                   "--force"], ["--out model.pt", "not written by cityfocus"]),
    ("train-out-folder", ["train", "--model", "seed_mlp", "--out", "mine"], ["--out mine"]),
    ("train-out-suffix", ["train", "--model", "seed_mlp", "--out", "model.txt"],
     ["--out model.txt", ".pt"]),
    ("train-epochs-zero", ["train", "--epochs", "0"], ["--epochs"]),
    ("train-max-minutes-negative", ["train", "--max-minutes", "-1"], ["--max-minutes"]),
    ("train-bad-data", ["train", "--model", "seed_mlp", "--data", "bad/offgrid.csv",
                        "--out", "new.pt"], ["offgrid.csv", "line 7"]),
    # predict
    ("predict-model-missing", ["predict", "--model", "nope.pt", "--data", "synthetic"],
     ["nope.pt"]),
    ("predict-model-not-checkpoint", ["predict", "--model", "model.pt", "--data", "synthetic"],
     ["model.pt"]),
    ("predict-at-not-time", ["predict", "--model", "tiny.pt", "--data", "synthetic",
                             "--at", "yesterday-ish"], ["--at", "yesterday-ish"]),
    ("predict-at-off-data", ["predict", "--model", "tiny.pt", "--data", "synthetic",
                             "--at", "1999-01-01 00:00"], ["--at", "1999-01-01"]),
    ("predict-other-schema", ["predict", "--model", "tiny.pt", "--data", "data/city.csv"],
     ["city", "does not match the model", "zones"]),
    ("predict-out-user-file", ["predict", "--model", "tiny.pt", "--data", "synthetic",
                               "--out", "plan.csv"], ["--out plan.csv", "exists"]),
    ("predict-out-suffix", ["predict", "--model", "tiny.pt", "--data", "synthetic",
                            "--out", "forecast.txt"], ["--out forecast.txt", ".csv"]),
    ("predict-no-model", ["predict", "--data", "synthetic"], ["--model"]),
    ("predict-model-and-onnx", ["predict", "--model", "tiny.pt", "--onnx", "tiny.onnx",
                                "--data", "synthetic"], ["--model", "--onnx", "exactly one"]),
    ("predict-onnx-not-onnx", ["predict", "--onnx", "model.pt", "--data", "synthetic"],
     ["model.pt", "not a readable ONNX file"]),
    ("predict-onnx-missing", ["predict", "--onnx", "nope.onnx", "--data", "synthetic"],
     ["nope.onnx", "not found"]),
    # export
    ("export-model-missing", ["export", "--model", "nope.pt", "--out", "m.onnx"], ["nope.pt"]),
    ("export-not-checkpoint", ["export", "--model", "model.pt", "--out", "m.onnx"],
     ["model.pt", "checkpoint"]),
    ("export-out-suffix", ["export", "--model", "tiny.pt", "--out", "m.txt"],
     ["--out m.txt", ".onnx"]),
    ("export-out-user-file", ["export", "--model", "tiny.pt", "--out", "notes.txt"],
     ["--out notes.txt"]),
    ("export-no-out", ["export", "--model", "tiny.pt"], ["--out"]),
    # explain
    ("explain-out-cwd", ["explain", "--model", "tiny.pt", "--data", "synthetic", "--at",
                         "2024-02-20 08:00", "--out", "."], ["--out .", "working directory"]),
    ("explain-out-holds-input", ["explain", "--model", "tiny.pt", "--data", "data/city.csv",
                                 "--at", "2024-01-01 10:00", "--out", "data"],
     ["--out data", "input"]),
    ("explain-out-user-folder", ["explain", "--model", "tiny.pt", "--data", "synthetic",
                                 "--at", "2024-02-20 08:00", "--out", "mine"],
     ["--out mine", "keep.txt"]),
    ("explain-family", ["explain", "--model", "tiny.pt", "--data", "synthetic", "--at",
                        "2024-02-20 08:00", "--out", "why", "--family", "nope"], ["'nope'"]),
    ("explain-no-at", ["explain", "--model", "tiny.pt", "--data", "synthetic", "--out", "why"],
     ["--at"]),
    ("explain-budget-negative", ["explain", "--model", "tiny.pt", "--data", "synthetic",
                                 "--at", "2024-02-20 08:00", "--out", "why", "--budget", "-2"],
     ["--budget"]),
    # replay
    ("replay-policy", ["replay", "--policy", "greedy", "--steps", "2"], ["greedy"]),
    ("replay-observe", ["replay", "--observe", "some", "--steps", "2"], ["some"]),
    ("replay-steps-zero", ["replay", "--steps", "0"], ["--steps"]),
    ("replay-json-user-file", ["replay", "--steps", "2", "--json", "notes.json"],
     ["--json notes.json"]),
    ("replay-json-suffix", ["replay", "--steps", "2", "--json", "notes.txt"],
     ["--json notes.txt", ".json"]),
    ("replay-png-suffix", ["replay", "--steps", "2", "--png", "curve.jpg"],
     ["--png curve.jpg", ".png"]),
    ("replay-state-user-folder", ["replay", "--steps", "2", "--state", "mine"],
     ["--state mine", "keep.txt"]),
    ("replay-unknown-data", ["replay", "--data", "citty", "--steps", "2"], ["citty"]),
    # benchmark
    ("benchmark-data", ["benchmark", "forecast", "--data", "nope", "--json", "b.json"],
     ["nope"]),
    ("benchmark-models", ["benchmark", "forecast", "--data", "synthetic", "--json", "b.json",
                          "--models", "persistence,oracle"], ["oracle"]),
    ("benchmark-modes", ["benchmark", "decide", "--data", "synthetic", "--json", "b.json",
                         "--modes", "forecast,psychic"], ["psychic"]),
    ("benchmark-json-user-file", ["benchmark", "forecast", "--data", "synthetic", "--json",
                                  "notes.json", "--quick"], ["--json notes.json"]),
    ("benchmark-results-user-file", ["benchmark", "forecast", "--data", "synthetic",
                                     "--json", "b.json", "--quick", "--models", "persistence",
                                     "--results", "results.md"], ["--results results.md"]),
    ("benchmark-no-json", ["benchmark", "forecast", "--data", "synthetic"], ["--json"]),
    ("benchmark-robust-data", ["benchmark", "robust", "--data", "nope", "--json", "r.json"],
     ["nope"]),
    ("benchmark-robust-epsilon", ["benchmark", "robust", "--data", "synthetic", "--json",
                                  "r.json", "--epsilon", "0"], ["--epsilon 0"]),
    ("benchmark-robust-json-user-file", ["benchmark", "robust", "--data", "synthetic",
                                         "--json", "notes.json"], ["--json notes.json"]),
    # signals
    ("signals-scenario", ["signals", "run", "--scenario", "grid9", "--seeds", "1"], ["grid9"]),
    ("signals-controller", ["signals", "run", "--scenario", "single", "--controller",
                            "smart", "--seeds", "1"], ["smart"]),
    ("signals-json-user-file", ["signals", "run", "--scenario", "single", "--seeds", "1",
                                "--json", "notes.json"], ["--json notes.json"]),
    ("signals-workdir-user-folder", ["signals", "run", "--scenario", "single", "--seeds", "1",
                                     "--workdir", "mine"], ["--workdir mine", "keep.txt"]),
]


@pytest.fixture(scope="module", autouse=True)
def _user_json(workspace):
    (workspace / "notes.json").write_text('{"mine": true}\n')


@pytest.mark.parametrize(("args", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_mistake_is_one_line_exit_2_and_changes_nothing(workspace, args, words):
    before = snapshot(workspace)
    code, _, err = _run(args, workspace)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert snapshot(workspace) == before


def test_catalogue_covers_every_verb():
    verbs = {c[1][0] for c in CASES}
    assert {"demo", "allocate", "data", "train", "predict", "export", "explain", "replay",
            "benchmark", "signals"} <= verbs
    assert len(CASES) >= 60


# the installed command runs the same code as the in-process entry point; a few verbs check it
SUBPROCESS_SAMPLE = ["demo-out-cwd", "data-off-grid", "predict-at-not-time",
                     "replay-state-user-folder", "signals-controller"]


@pytest.mark.parametrize("case", SUBPROCESS_SAMPLE)
def test_installed_command_says_the_same(workspace, case):
    args = next(c[1] for c in CASES if c[0] == case)
    before = snapshot(workspace)
    code, _, err = _run(args, workspace)
    result = run_cli(*args, cwd=workspace)
    assert result.returncode == code == 2
    assert result.stderr.strip() == err.strip()
    assert snapshot(workspace) == before


def test_demo_out_dot_keeps_the_working_directory(tmp_path):
    """The original data-loss report: ``demo --out .`` deleted the working directory."""
    (tmp_path / "city.csv").write_text(GOOD_CITY)
    result = run_cli("demo", "--out", ".", cwd=tmp_path)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert (tmp_path / "city.csv").read_text() == GOOD_CITY
    assert sorted(p.name for p in tmp_path.iterdir()) == ["city.csv"]


def test_force_replaces_only_an_earlier_output(tmp_path):
    out = tmp_path / "plan.csv"
    demand = tmp_path / "demand.csv"
    demand.write_text(DEMAND)
    args = ["allocate", "--demand", str(demand), "--budget", "3", "--out", str(out)]
    assert _run(args, tmp_path)[0] == 0
    first = out.read_bytes()
    assert _run(args, tmp_path)[0] == 2 and out.read_bytes() == first
    assert _run([*args[:-2], "--budget", "4", "--out", str(out), "--force"], tmp_path)[0] == 0
    table = pd.read_csv(out)
    assert np.isclose(table["share"].sum(), 4)

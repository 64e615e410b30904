"""The ``cityfocus replay`` command, run as a user would."""

from __future__ import annotations

import json


def test_replay_writes_json_and_png(cli, tmp_path):
    out, png = tmp_path / "replay.json", tmp_path / "regret.png"
    done = cli("replay", "--policy", "uniform,explore", "--observe", "attention", "--steps", "3",
               "--retrain-every", "1", "--json", str(out), "--png", str(png),
               "--state", str(tmp_path / "state"))
    assert done.returncode == 0, done.stderr
    runs = json.loads(out.read_text())["runs"]
    assert [r["config"]["policy"] for r in runs] == ["uniform", "explore"]
    assert all(len(r["curve"]) == 3 for r in runs)
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "state" / "explore" / "LATEST").is_file()


def test_replay_bad_option_is_one_line(cli, tmp_path):
    done = cli("replay", "--observe", "sometimes", "--json", str(tmp_path / "x.json"))
    assert done.returncode == 2
    assert "unknown observation model" in done.stderr and "Traceback" not in done.stderr
    assert not (tmp_path / "x.json").exists()

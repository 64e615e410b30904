"""``cityfocus explain`` end to end: files written, nothing written on failure, and the report
checked in real headless Chromium at 1400x900 (no console errors, no requests, figures and
table drawn, summary and map in the first screen)."""

from __future__ import annotations

import io
import json
import shutil

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest

from cityfocus.outputs import MANIFEST
from tests.conftest import run_cli, run_in_process

FIGURES = ["allocation.png", "forecast.png", "attention.png", "drivers.png"]
SCREEN = (1400, 900)  # the duty officer's first screen, CSS pixels


@pytest.fixture(scope="module")
def report(tiny, tmp_path_factory):
    city, _, checkpoint, data_path = tiny
    out = tmp_path_factory.mktemp("explain") / "report"
    at = str(city.data.timestamps[250])
    result = run_cli("explain", "--model", str(checkpoint), "--data", str(data_path),
                     "--at", at, "--out", str(out), "--budget", "5", "--alpha", "0.5")
    assert result.returncode == 0, result.stderr
    return out, result, city


def test_report_files_and_contents(report):
    out, result, city = report
    assert sorted(p.name for p in out.iterdir()) == sorted(
        [MANIFEST, "report.html", "summary.json", "zones.csv", *FIGURES])
    zones = pd.read_csv(out / "zones.csv")
    assert len(zones) == 6 and zones["w"].sum() == 5
    assert zones["w"].is_monotonic_decreasing  # most attention first
    assert zones["explanation"].str.contains(" of 5 units: forecast ").all()
    page = (out / "report.html").read_text()
    assert page.count('src="data:image/png;base64,') == len(FIGURES)
    assert "<script" not in page.lower()
    assert "http://" not in page and "https://" not in page
    summary = json.loads((out / "summary.json").read_text())
    assert summary["budget"] == 5 and summary["units"] is True
    assert "Zone" in result.stdout and "Report:" in result.stdout


def test_mistakes_exit_2_with_one_line_and_write_nothing(tiny, tmp_path):
    city, _, checkpoint, data_path = tiny
    out = tmp_path / "never"
    cases = [
        (["--model", str(checkpoint), "--at", "2031-01-01 00:00"], "not a time step"),
        (["--model", str(checkpoint), "--at", str(city.data.timestamps[2])],
         "cannot forecast from step 2"),
        (["--model", str(tmp_path / "missing.pt"), "--at", str(city.data.timestamps[250])],
         "checkpoint not found"),
        (["--model", str(checkpoint), "--at", str(city.data.timestamps[250]), "--family",
          "magic"], "unknown"),
    ]
    for args, message in cases:  # in this process: the catalogue checks the installed command
        code, _, err = run_in_process(["explain", *args, "--data", str(data_path), "--out",
                                       str(out)], tmp_path)
        assert code == 2, err
        lines = err.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], err
        assert not out.exists() and list(tmp_path.iterdir()) == []


def test_report_renders_in_headless_chromium(report):
    from tests.explain.chromium import CHROMIUM, Browser

    if shutil.which(CHROMIUM) is None:
        pytest.fail("chromium is not installed: apt-get install -y chromium (see .ci/run)")
    out, _, city = report
    url = (out / "report.html").resolve().as_uri()
    with Browser() as browser:
        browser.viewport(*SCREEN)
        browser.open(url)
        assert browser.errors() == []
        assert browser.requests(url) == []
        widths = browser.evaluate("[...document.images].map(i => i.complete ? i.naturalWidth"
                                  " : 0)")
        assert len(widths) == len(FIGURES) and min(widths) > 100
        rows = browser.evaluate("document.querySelectorAll('#zones tbody tr').length")
        assert rows == city.data.shape[1]
        boxes = browser.evaluate(
            "Object.fromEntries(['#summary', '#map', '#map img', '#zones'].map(s => {"
            " const r = document.querySelector(s).getBoundingClientRect();"
            " return [s, {top: r.top, bottom: r.bottom, left: r.left, right: r.right}]; }))")
        first = browser.screenshot(whole_page=False)
        (out.parent / "first-screen.png").write_bytes(first)  # for a person to look at
        # the detectors work: a page with an error and an outside request is caught
        bad = out.parent / "bad.html"
        bad.write_text('<img src="http://127.0.0.1:9/x.png"><script>console.error(1)</script>')
        browser.open(bad.as_uri())
        assert browser.errors() and browser.requests(bad.as_uri())
    # the first screen holds the summary and the whole map; the table comes later
    width, height = SCREEN
    assert 0 <= boxes["#summary"]["top"] < height, boxes
    assert 0 <= boxes["#map"]["top"] < height, boxes
    assert boxes["#map img"]["bottom"] <= height and boxes["#map img"]["right"] <= width, boxes
    assert boxes["#summary"]["top"] < boxes["#map"]["top"] + 1 < boxes["#zones"]["top"]
    shot = mpimg.imread(io.BytesIO(first), format="png")[..., :3]
    assert shot.shape[:2] == (height, width)
    ink = (shot < 0.9).any(axis=-1)  # not near-white
    colour = shot.max(axis=-1) - shot.min(axis=-1) > 0.25  # saturated: markers, colour bar
    img = boxes["#map img"]
    drawn = colour[int(img["top"]):int(img["bottom"]), int(img["left"]):int(img["right"])]
    assert ink.mean() > 0.05, "first screen is nearly blank"
    assert drawn.mean() > 0.02, "no coloured map in the first screen"
    assert np.isfinite(shot).all()

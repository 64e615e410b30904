"""RESCO's delay: the formula on a written trip file, and a real SUMO run whose entry road
cannot take its demand, checked against the route file."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from cityfocus.signals import prepare, simulate
from cityfocus.signals.metrics import trip_metrics

TRIPS = """<tripinfos>
  <tripinfo id="a" depart="10.00" departDelay="2.00" arrival="60.00" duration="50.00"
            timeLoss="12.00" waitingTime="5.00"/>
  <tripinfo id="b" depart="30.00" departDelay="20.00" arrival="-1" duration="70.00"
            timeLoss="40.00" waitingTime="30.00"/>
</tripinfos>
"""


def test_resco_delay_charges_entry_delays_and_trips_kept_out(tmp_path):
    path = tmp_path / "tripinfo.xml"
    path.write_text(TRIPS)
    m = trip_metrics(path, backlog=[15.0, 75.0], teleports=0, max_queue=3)
    # (12 + 2) + (40 + 20) for the trips that entered, 15 + 75 for the two kept out, over 4
    assert m["resco_delay"] == pytest.approx((14.0 + 60.0 + 15.0 + 75.0) / 4)
    assert m["never_entered"] == 2 and m["vehicles"] == 2 and m["throughput"] == 1
    assert m["max_wait"] == 75.0  # the trip kept out longest
    assert m["delay"] == pytest.approx(26.0)  # timeLoss of the trips that entered only
    assert m["travel_time"] == 50.0 and m["teleports"] == 0


def test_without_a_backlog_the_longest_wait_is_inside(tmp_path):
    path = tmp_path / "tripinfo.xml"
    path.write_text(TRIPS)
    m = trip_metrics(path, backlog=[], teleports=0, max_queue=0)
    assert m["resco_delay"] == pytest.approx(74.0 / 2)
    assert m["max_wait"] == 50.0  # b: 20 s to enter, 30 s halted


def _jammed_entry(tmp_path: Path) -> Path:
    """A 2x2 grid whose first route gets 120 vehicles in its first 20 seconds: more than its
    entry lanes take in a minute."""
    base = prepare("gen2x2", 1, tmp_path / "base", 120.0)
    root = ET.parse(base.routes[0]).getroot()
    edges = root.find("vehicle/route").get("edges")  # type: ignore[union-attr]
    lines = [f'<vehicle id="v{k}" depart="{k / 6:.2f}"><route edges="{edges}"/></vehicle>'
             for k in range(120)]
    (tmp_path / "jam.rou.xml").write_text("<routes>\n" + "\n".join(lines) + "\n</routes>\n")
    cfg = tmp_path / "jam.sumocfg"
    cfg.write_text(f'<configuration><input><net-file value="{base.net}"/>'
                   '<route-files value="jam.rou.xml"/></input>'
                   '<time><begin value="0"/><end value="60"/></time></configuration>')
    return cfg


def test_trips_kept_out_are_counted_from_sumos_backlog_as_the_route_file_says(tmp_path):
    cfg = _jammed_entry(tmp_path)
    run = simulate(str(cfg), "fixed", 1, tmp_path / "run")
    m = run["metrics"]
    scheduled = {v.get("id"): float(v.get("depart", "nan"))
                 for v in ET.parse(tmp_path / "jam.rou.xml").getroot().iter("vehicle")}
    tripinfo = next((tmp_path / "run").glob("fixed-1-*/tripinfo.xml"))
    entered = {t.get("id"): float(t.get("timeLoss", "nan")) + float(t.get("departDelay", "nan"))
               for t in ET.parse(tripinfo).getroot().iter("tripinfo")}
    kept_out = [60.0 - depart for vid, depart in scheduled.items() if vid not in entered]
    assert len(kept_out) > 10  # the entry road really was full
    assert m["never_entered"] == len(kept_out)
    assert m["vehicles"] + m["never_entered"] == len(scheduled)
    expected = (sum(entered.values()) + sum(kept_out)) / len(scheduled)
    assert m["resco_delay"] == pytest.approx(expected, abs=1e-6)
    assert m["teleports"] == 0
    assert m["max_wait"] >= max(kept_out) and math.isfinite(m["delay"])

"""Run metrics from SUMO's trip records, with RESCO's definition of delay.

Delay (RESCO): the mean ``timeLoss`` (seconds lost against driving at the desired speed) over
every vehicle that entered the network, those still driving at the end included (SUMO writes
them with ``--tripinfo-output.write-unfinished``). Travel time: mean ``duration`` of the
vehicles that arrived. Waiting time: mean ``waitingTime`` (seconds at speed < 0.1 m/s) over all
written vehicles. Throughput: vehicles that arrived. Max queue: the largest number of vehicles
halting at once on all controlled incoming lanes (measured by the environment each second).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np

METRICS = ("delay", "travel_time", "waiting_time", "throughput", "max_queue", "vehicles")


def trip_metrics(tripinfo: str | Path, max_queue: float) -> dict[str, float]:
    """The metrics of one run from its ``tripinfo`` file; see the module docstring."""
    loss, duration, waiting = [], [], []
    arrived = 0
    for _, node in ET.iterparse(tripinfo):
        if node.tag != "tripinfo":
            continue
        loss.append(float(node.get("timeLoss", "nan")))
        waiting.append(float(node.get("waitingTime", "nan")))
        if float(node.get("arrival", "-1")) >= 0 and not node.get("vaporized"):
            arrived += 1
            duration.append(float(node.get("duration", "nan")))
        node.clear()

    def mean(values: list[float]) -> float:
        return float(np.mean(values)) if values else math.nan

    return {"delay": mean(loss), "travel_time": mean(duration), "waiting_time": mean(waiting),
            "throughput": float(arrived), "max_queue": float(max_queue),
            "vehicles": float(len(loss))}

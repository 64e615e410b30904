"""Run metrics from SUMO's trip records, with RESCO's definition of delay.

RESCO delay (``resco_delay``), as RESCO scores its controllers (Ault & Sharon 2021;
``resco_benchmark/utils/readXML.py``, lines 38-47 sum ``timeLoss + departDelay`` over the
tripinfo records, lines 53-74 add ``end_time - scheduled depart`` for every scheduled trip
that never departed and count those trips too, line 76 divides; SUMO runs with
``--time-to-teleport -1`` and ``--tripinfo-output.write-unfinished``, ``multi_signal.py``
lines 127-129)::

    resco_delay = ( sum over trips that entered (timeLoss + departDelay)
                  + sum over scheduled trips that never entered (end - scheduled depart) )
                  / (trips that entered + trips that never entered)

A trip that entered is every vehicle in the tripinfo file, those still driving at the end
included. A scheduled trip that never entered is one SUMO still holds in its insertion
backlog at the end of the run (its departure time passed, but its entry lane had no room).
RESCO's script finds those from the route file as the trips scheduled after the last one
that entered; here they are read from SUMO's backlog, which also counts a trip held back on
one blocked entry road while later ones entered elsewhere. A controller that keeps an entry
road backed up is thus charged for every vehicle it kept out.

Also: ``never_entered`` (that backlog), ``teleports`` (zero when teleporting is off),
``max_wait`` (the longest any single trip waited: ``departDelay + waitingTime`` of a trip that
entered, ``end - scheduled depart`` of one that never did), and, for continuity with earlier
results, ``delay`` (mean ``timeLoss`` of the trips that entered), ``travel_time`` (mean
``duration`` of those that arrived), ``waiting_time`` (mean ``waitingTime`` of those that
entered), ``throughput`` (trips that arrived), ``max_queue`` (most vehicles halting at once on
the controlled incoming lanes, measured each second) and ``vehicles`` (trips that entered).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from pathlib import Path

import numpy as np

METRICS = ("resco_delay", "never_entered", "teleports", "max_wait", "delay", "travel_time",
           "waiting_time", "throughput", "max_queue", "vehicles")


def trip_metrics(tripinfo: str | Path, *, backlog: Sequence[float], teleports: int,
                 max_queue: float) -> dict[str, float]:
    """The metrics of one run; see the module docstring.

    Args:
        tripinfo: SUMO's tripinfo file, written with ``--tripinfo-output.write-unfinished``.
        backlog: for each scheduled trip that never entered, the seconds from its scheduled
            departure to the end of the run.
        teleports: vehicles SUMO teleported during the run.
        max_queue: most vehicles halting at once on the controlled incoming lanes.
    """
    loss, charged, duration, waiting, waits = [], [], [], [], []
    arrived = 0
    for _, node in ET.iterparse(tripinfo):
        if node.tag != "tripinfo":
            continue
        time_loss = float(node.get("timeLoss", "nan"))
        depart_delay = float(node.get("departDelay", "nan"))
        waited = float(node.get("waitingTime", "nan"))
        loss.append(time_loss)
        charged.append(time_loss + depart_delay)
        waiting.append(waited)
        waits.append(depart_delay + waited)
        if float(node.get("arrival", "-1")) >= 0 and not node.get("vaporized"):
            arrived += 1
            duration.append(float(node.get("duration", "nan")))
        node.clear()

    def mean(values: Sequence[float]) -> float:
        return float(np.mean(values)) if len(values) else math.nan

    outside = [float(s) for s in backlog]
    return {"resco_delay": mean([*charged, *outside]), "never_entered": float(len(outside)),
            "teleports": float(teleports), "max_wait": max([*waits, *outside], default=math.nan),
            "delay": mean(loss), "travel_time": mean(duration), "waiting_time": mean(waiting),
            "throughput": float(arrived), "max_queue": float(max_queue),
            "vehicles": float(len(loss))}

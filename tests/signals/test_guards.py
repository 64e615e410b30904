"""The cityfocus controller's guards: no movement left red past ``max_red`` with a vehicle
waiting, no vehicle counted as served into a full lane, and spillback bounds on the green
split."""

from __future__ import annotations

import numpy as np
import pytest

from cityfocus.signals.allocation_control import ArrivalHistory, CityfocusController
from cityfocus.signals.light import Light

# One approach lane a_0 with a left (signal 0) and a through movement (signal 1), and a
# side lane b_0 (signal 2). Greens: 0 = through only, 1 = left only, 2 = side street.
LINKS = [[("a_0", "left_0")], [("a_0", "ahead_0")], [("b_0", "ahead_0")]]
STATES = ["rGr", "ryr", "Grr", "yrr", "rrG", "rry"]


def _light() -> Light:
    return Light("J", STATES, [30.0, 3.0, 10.0, 3.0, 20.0, 3.0], LINKS)


def test_a_waiting_vehicle_whose_movement_had_no_green_for_max_red_is_starved():
    light = _light()
    queue = {"a_0": [("left", np.inf)], "b_0": []}
    green_at = [0.0, 150.0, 150.0]  # the left turn last had green at 0 s
    assert light.starved(queue, green_at, now=150.0, max_red=120.0) == [1]
    assert light.starved(queue, green_at, now=100.0, max_red=120.0) == []
    # a moving head vehicle is not waiting; an empty lane has nobody to starve
    assert light.starved({"a_0": [("left", 4.0)]}, green_at, 150.0, 120.0) == []
    assert light.starved({"b_0": [("ahead", np.inf)]}, [150.0, 150.0, 0.0], 150.0, 120.0) == [2]


def test_no_vehicle_is_counted_as_served_into_a_full_lane():
    light = _light()
    queue = [("ahead", np.inf), ("ahead", np.inf)]
    assert light.discharge(0, "a_0", queue) == 2
    assert light.discharge(0, "a_0", queue, full={"ahead_0"}) == 0
    assert light.discharge(0, "a_0", queue, full={"left_0"}) == 2


def test_spillback_bounds_shape_the_green_split():
    history = ArrivalHistory(["l0"], 60.0, 0.0, [np.zeros((5, 1))])
    controller = CityfocusController(history, min_green=5.0, max_green=60.0)
    demand = np.array([900.0, 300.0])
    free = controller.split_green(demand, cycle=90.0, lost=6.0)
    # a queue to clear on the quiet phase's lanes raises its green to the clearing time
    cleared = controller.split_green(demand, 90.0, 6.0, clear=np.array([0.0, 30.0]),
                                     room=np.array([1e9, 1e9]))
    assert free[1] < 30.0 - 1e-6 and cleared[1] >= 30.0 - 1e-6
    # little room downstream of the busy phase caps its green
    capped = controller.split_green(np.array([900.0, 900.0, 300.0]), 90.0, 6.0,
                                    clear=np.zeros(3), room=np.array([12.0, 1e9, 1e9]))
    assert capped[0] <= 12.0 + 1e-6 and capped.sum() == pytest.approx(84.0)
    # bounds that cannot all hold with the whole budget are dropped, not violated
    blocked = controller.split_green(demand, 90.0, 6.0, clear=np.zeros(2),
                                     room=np.array([1.0, 1.0]))
    assert blocked.sum() == pytest.approx(84.0)


def test_max_red_defaults_to_the_longest_cycle():
    history = ArrivalHistory(["l0"], 60.0, 0.0, [np.zeros((5, 1))])
    assert CityfocusController(history, max_cycle=100.0).max_red == 100.0
    assert CityfocusController(history, max_red=90.0).max_red == 90.0

"""Signal controllers behind one interface, and the ones that need no plan of their own.

A controller says how the environment is built (``env_options``), is told when a run starts
(``reset``) and is asked every simulated second for an action (``act``): a mapping from light
id to the green it should show, or None to leave the lights alone.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, ClassVar

from cityfocus.signals.env import SignalEnv
from cityfocus.signals.light import is_green
from cityfocus.signals.scenarios import Scenario

Action = dict[str, int] | None
ACTUATED_PROGRAM = "cityfocus_actuated"


class Controller:
    """The controller interface (also the base of every controller)."""

    name: ClassVar[str] = "controller"
    controlled: ClassVar[bool] = True

    def __init__(self, min_green: float = 5.0, max_green: float = 60.0) -> None:
        self.min_green = min_green
        self.max_green = max_green

    def env_options(self, scenario: Scenario, workdir: Path) -> dict[str, Any]:
        """Keyword arguments for ``SignalEnv`` (besides scenario and tripinfo)."""
        return {"controlled": self.controlled, "min_green": self.min_green}

    def reset(self, env: SignalEnv) -> None:
        """A run has started (``env.reset()`` has been called)."""

    def act(self, env: SignalEnv) -> Action:
        """The action for the coming second."""
        return None


class FixedTime(Controller):
    """The network's own static programme, untouched."""

    name = "fixed"
    controlled = False


class Actuated(Controller):
    """SUMO's own gap-based actuated logic on the programme's phases.

    Every light gets a copy of its programme as type ``actuated`` with green phases between
    ``min_green`` and ``max_green``; SUMO places the detectors and extends greens itself.
    """

    name = "actuated"
    controlled = False

    def env_options(self, scenario: Scenario, workdir: Path) -> dict[str, Any]:
        path = workdir / f"{Path(scenario.net).stem}.actuated.add.xml"
        write_actuated_programs(scenario.net, path, self.min_green, self.max_green)
        return {**super().env_options(scenario, workdir), "program": ACTUATED_PROGRAM,
                "additional": [path]}


def write_actuated_programs(net: Path, out: Path, min_green: float, max_green: float) -> None:
    """Write an additional file with an actuated copy of every static programme of ``net``."""
    root = ET.Element("additional")
    for logic in ET.parse(net).getroot().iter("tlLogic"):
        copy = ET.SubElement(root, "tlLogic", id=logic.get("id", ""), type="actuated",
                             programID=ACTUATED_PROGRAM, offset=logic.get("offset", "0"))
        for phase in logic.iter("phase"):
            attrs = {"duration": phase.get("duration", "1"), "state": phase.get("state", "")}
            if is_green(attrs["state"]):
                attrs |= {"minDur": f"{min_green:g}", "maxDur": f"{max_green:g}"}
            ET.SubElement(copy, "phase", attrs)
    ET.ElementTree(root).write(out)


class MaxPressure(Controller):
    """Max pressure: show the green whose movements have the most queue in minus queue out.

    Every ``interval`` seconds, for each light not in a transition, the pressure of a green
    is the sum over the (incoming, outgoing) lane pairs it serves of the halting vehicles on
    the incoming lane minus those on the outgoing lane (lane counts, as RESCO's max
    pressure); the light switches (through the programme's own yellow) to the highest once
    the current green has run ``min_green``.
    """

    name = "max_pressure"

    def __init__(self, min_green: float = 5.0, max_green: float = 60.0,
                 interval: float = 5.0) -> None:
        super().__init__(min_green, max_green)
        self.interval = interval

    def reset(self, env: SignalEnv) -> None:
        self._next = env.now
        self._links = {tls: [light.served_links(g) for g in range(len(light.greens))]
                       for tls, light in env.lights.items()}

    def act(self, env: SignalEnv) -> Action:
        if env.now < self._next:
            return None
        self._next = env.now + self.interval
        action = {}
        for tls, light in env.lights.items():
            if light.green is None:
                continue
            pressure = [self.pressure(env, tls, g) for g in range(len(light.greens))]
            best = max(range(len(pressure)), key=pressure.__getitem__)
            if pressure[best] > pressure[light.green]:
                action[tls] = best
        return action

    def pressure(self, env: SignalEnv, tls: str, green: int) -> float:
        return sum(env.lane_halting(i) - env.lane_halting(o) for i, o in self._links[tls][green])

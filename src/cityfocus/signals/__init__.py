"""Traffic-signal control in Eclipse SUMO: green time at a junction as attention to allocate.

``run_many(scenarios, controllers, seeds, workdir)`` runs controllers (``fixed``, ``webster``,
``actuated``, ``max_pressure``, ``cityfocus``) on scenarios (``prepare``) over ``SignalEnv``,
a gymnasium-style environment on libsumo; ``summarize`` gives mean and std over seeds.
Needs the ``signals`` extra (``pip install -e '.[signals]'``).
"""

from cityfocus.signals.runner import CONTROLLERS, make_controller, run_many, simulate, summarize
from cityfocus.signals.scenarios import Scenario, prepare, scenario_names

__all__ = ["CONTROLLERS", "Scenario", "make_controller", "prepare", "run_many",
           "scenario_names", "simulate", "summarize"]

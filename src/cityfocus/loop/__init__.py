"""Closing the loop: replay a period, allocate, observe only where attention went, learn again.

``run_replay(ReplayConfig(...))`` runs one policy over a held-out period; see
``docs/replay.md`` for the protocol and ``benchmarks/replay.py`` for the published runs.
"""

from cityfocus.learn.policies import POLICIES, make_policy
from cityfocus.loop.observe import OBSERVATIONS, observe_probability, reveal
from cityfocus.loop.replay import ReplayConfig, ReplaySource, load_source, run_replay

__all__ = [
    "OBSERVATIONS",
    "POLICIES",
    "ReplayConfig",
    "ReplaySource",
    "load_source",
    "make_policy",
    "observe_probability",
    "reveal",
    "run_replay",
]

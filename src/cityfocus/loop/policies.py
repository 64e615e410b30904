"""Shim: the replay policies moved to ``cityfocus.learn.policies`` (the one home of
policies, with the benchmarks' ``decide_windows``); import them from there. Kept until
``loop/replay.py`` switches."""

from cityfocus.learn.policies import (
    POLICIES,
    DecidePolicy,
    ExplorePolicy,
    ForecastPolicy,
    Policy,
    ProportionalPolicy,
    UniformPolicy,
    make_policy,
)

__all__ = ["POLICIES", "DecidePolicy", "ExplorePolicy", "ForecastPolicy", "Policy",
           "ProportionalPolicy", "UniformPolicy", "make_policy"]

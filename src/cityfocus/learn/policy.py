"""Shim: ``decide_windows`` and ``forecast_demand`` moved to ``cityfocus.learn.policies``
(the one home of policies); import them from there. Kept until the benchmarks switch."""

from cityfocus.learn.policies import decide_windows, forecast_demand

__all__ = ["decide_windows", "forecast_demand"]

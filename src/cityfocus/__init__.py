"""cityfocus: decide where a city spends its limited attention.

The main types and functions are importable from here (see docs/api.md)::

    import cityfocus as cf

    data = cf.load_dataset("synthetic")
    split = cf.chronological_split(data)
    model = cf.make_forecaster("historical_average", lookback=24, horizon=24).fit(split.train)
    forecast = model.predict(data, at=split.test_start)
    problem = cf.AllocationProblem(forecast.mean.sum(axis=0), 10, "coverage", units=True)
    allocation = cf.solve(problem)

Names load on first use, so ``import cityfocus`` stays light and never imports torch (only
``make_forecaster`` and ``load_forecaster`` do, when called).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from cityfocus.errors import CityfocusError, DataError

if TYPE_CHECKING:
    from cityfocus.allocate.errors import AllocationError
    from cityfocus.allocate.problem import Allocation, AllocationProblem
    from cityfocus.allocate.solve import solve
    from cityfocus.data.citydata import CityData
    from cityfocus.data.readers import load_dataset
    from cityfocus.data.split import Split, chronological_split
    from cityfocus.explain.explanation import CityExplanation, explain_allocation
    from cityfocus.learn.registry import load_forecaster, make_forecaster
    from cityfocus.models.forecast import Forecast

__version__ = "0.1.0"

# public name -> the module that defines it
_LAZY: dict[str, str] = {
    "load_dataset": "cityfocus.data.readers",
    "CityData": "cityfocus.data.citydata",
    "Split": "cityfocus.data.split",
    "chronological_split": "cityfocus.data.split",
    "make_forecaster": "cityfocus.learn.registry",
    "load_forecaster": "cityfocus.learn.registry",
    "Forecast": "cityfocus.models.forecast",
    "AllocationProblem": "cityfocus.allocate.problem",
    "Allocation": "cityfocus.allocate.problem",
    "solve": "cityfocus.allocate.solve",
    "AllocationError": "cityfocus.allocate.errors",
    "explain_allocation": "cityfocus.explain.explanation",
    "CityExplanation": "cityfocus.explain.explanation",
}

__all__ = [
    "Allocation",
    "AllocationError",
    "AllocationProblem",
    "CityData",
    "CityExplanation",
    "CityfocusError",
    "DataError",
    "Forecast",
    "Split",
    "__version__",
    "chronological_split",
    "explain_allocation",
    "load_dataset",
    "load_forecaster",
    "make_forecaster",
    "solve",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use (PEP 562) and keep the name here."""
    if name not in _LAZY:
        raise AttributeError(f"module 'cityfocus' has no attribute {name!r}")
    value = getattr(import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})

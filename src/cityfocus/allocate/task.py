"""DecisionTask: the allocation a model is judged by (numpy; no torch).

Demand for a decision is the target summed over the forecast horizon (e.g. tomorrow's
incidents per cell). The realized objective of an allocation ``w`` is
``F(w; y) = sum_i p_i gain_i(w_i; y_i)`` on the realized demand ``y``; the oracle is the
best ``w`` for ``y``; regret is their difference (>= 0, in gain units; for cost families
such as ``variance`` the extra cost paid).

Evaluation solves the task as stated (whole units if ``units``). Training goes through the
continuous relaxation (shares) in torch, which lives with decision learning
(``cityfocus.learn.decision``), so numpy-only code such as the regret metrics reaches the
solver without importing torch.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from cityfocus.allocate.problem import AllocationProblem
from cityfocus.allocate.solve import solve
from cityfocus.allocate.utilities import Utility, make_utility
from cityfocus.errors import CityfocusError


@dataclass(frozen=True)
class DecisionTask:
    """An allocation to make from each forecast.

    Attributes:
        family: utility family (``coverage``, ``log``, ``variance``, ``linear``, ``delay``).
        budget: units (or total share) to allocate per decision.
        units: allocate whole units at evaluation (training uses the continuous relaxation).
        lower, upper: per-zone bounds (scalar or ``[N]``).
        params: family parameters (``alpha``, ``cap``, ...).
    """

    family: str = "coverage"
    budget: float = 10.0
    units: bool = True
    lower: float | np.ndarray = 0.0
    upper: float | np.ndarray = math.inf
    params: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_config(cls, config: dict[str, Any] | DecisionTask) -> DecisionTask:
        if isinstance(config, DecisionTask):
            return config
        known = {"family", "budget", "units", "lower", "upper", "params"}
        extra = {k: v for k, v in config.items() if k not in known}
        base = {k: v for k, v in config.items() if k in known}
        base["params"] = {**base.get("params", {}), **extra}
        return cls(**base)

    def to_config(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def utility(self) -> Utility:
        return make_utility(self.family, **self.params)

    def problem(self, demand: np.ndarray) -> AllocationProblem:
        """The numpy problem for ``[N]`` or ``[B, N]`` demand."""
        return AllocationProblem(np.asarray(demand, dtype=np.float64), self.budget, self.family,
                                 lower=self.lower, upper=self.upper, units=self.units,
                                 **self.params)

    def check(self, n_zones: int) -> None:
        """Fail before training if the budget, bounds or parameters do not fit ``n_zones``."""
        try:
            self.problem(np.ones(n_zones))
        except ValueError as err:
            raise CityfocusError(f"decision task does not fit {n_zones} zones: {err}") from None

    def decide(self, demand: np.ndarray) -> np.ndarray:
        """Optimal ``w`` ``[B, N]`` for forecast demand ``[B, N]`` (units if ``units``)."""
        return np.asarray(solve(self.problem(np.clip(demand, 0.0, None))).w, dtype=np.float64)

    def gain(self, w: np.ndarray, realized: np.ndarray) -> np.ndarray:
        """``[B]`` realized objective (as a gain) of ``w`` on realized demand."""
        return np.asarray(self.problem(realized).gain(w))

    def oracle_gain(self, realized: np.ndarray) -> np.ndarray:
        """``[B]`` best achievable objective (as a gain) on realized demand."""
        return np.asarray(solve(self.problem(realized)).gain)

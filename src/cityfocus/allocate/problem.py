"""The allocation problem (validated input) and the allocation (solver output).

Problem, for each row of a batch::

    maximise  sum_i p_i gain_i(w_i)        (or minimise sum_i p_i cost_i(w_i))
    s.t.      sum_i w_i = B,   l_i <= w_i <= u_i        (w_i integer when ``units``)

Shapes: ``N`` zones; a single problem has ``demand [N]`` and a scalar budget, a batch has
``demand [B, N]`` and budget ``[B]`` (or one budget for all rows).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cityfocus.allocate.errors import AllocationError, where
from cityfocus.allocate.utilities import Utility, make_utility

# Slack allowed when comparing a budget with the sum of the bounds (float rounding).
_FEASIBILITY_RTOL = 1e-12


def _first_bad(bad: np.ndarray) -> tuple[int | None, int]:
    """``(row, zone)`` of the first True entry of a ``[N]`` or ``[B, N]`` mask."""
    idx = np.argwhere(bad)[0]
    return (None, int(idx[0])) if bad.ndim == 1 else (int(idx[0]), int(idx[1]))


def _per_zone(name: str, value: Any, shape: tuple[int, ...]) -> np.ndarray:
    """Broadcast a scalar, ``[N]`` or ``[B, N]`` argument to the demand's shape."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim and arr.shape[-1] != shape[-1]:
        raise AllocationError(f"{name} has {arr.shape[-1]} values but demand has {shape[-1]} zones")
    try:
        return np.broadcast_to(arr, shape)
    except ValueError:
        raise AllocationError(f"{name} shape {arr.shape} does not fit demand {shape}") from None


def _rounded(bound: np.ndarray, rule: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """``rule(bound)``; a bound shared by every zone stays one broadcast value (the solvers
    then treat it as a number)."""
    if bound.ndim and not any(bound.strides):
        return np.broadcast_to(rule(bound.reshape(-1)[:1])[0], bound.shape)
    return rule(bound)


class AllocationProblem:
    """A validated allocation problem (one, or a batch of rows sharing a family).

    Args:
        demand: ``[N]`` or ``[B, N]`` need per zone, finite and >= 0.
        budget: the total to split (a scalar, or ``[B]`` per row); with ``units`` a whole
            number of indivisible units.
        utility: a family name (``coverage``, ``log``, ``variance``, ``linear``, ``delay``)
            or a ``Utility``; default ``coverage``.
        lower: per-zone lower bounds (scalar, ``[N]`` or ``[B, N]``), >= 0. Default 0.
        upper: per-zone upper bounds, >= lower; ``inf`` allowed. Default ``inf``.
        weights: per-zone priority weights ``p_i >= 0``. Default 1.
        units: allocate whole units (greedy on marginal gains) instead of shares.
        **params: family parameters when ``utility`` is a name (``alpha``, ``cap``,
            ``saturation``, ``cycle``), scalars or ``[N]``.

    Raises:
        AllocationError: (a ``ValueError``) on NaN/negative demand (naming the zone),
            upper < lower (naming the zone), a budget outside ``[sum lower, sum upper]``,
            an unknown family, or lengths that do not match.
    """

    def __init__(
        self,
        demand: Any,
        budget: Any,
        utility: str | Utility = "coverage",
        *,
        lower: Any = 0.0,
        upper: Any = np.inf,
        weights: Any = None,
        units: bool = False,
        **params: Any,
    ) -> None:
        self.utility = make_utility(utility, **params)
        self.units = bool(units)
        self.demand = self._check_demand(demand)
        shape = self.demand.shape
        for name, val in params.items():
            if np.ndim(val) and np.shape(val)[-1] != shape[-1]:
                raise AllocationError(
                    f"{name} has {np.shape(val)[-1]} values but demand has {shape[-1]} zones"
                )
        self.lower = _per_zone("lower", lower, shape)
        self.upper = _per_zone("upper", upper, shape)
        self.weights = _per_zone("weights", 1.0 if weights is None else weights, shape)
        self._check_bounds()
        self.budget = self._check_budget(budget)
        if self.units:
            self._to_whole_units()
        self._check_feasible()
        self.utility.check_demand(self.demand)

    # -- shape ---------------------------------------------------------------------------
    @property
    def batched(self) -> bool:
        return self.demand.ndim == 2

    @property
    def n_zones(self) -> int:
        return int(self.demand.shape[-1])

    def rows(self) -> np.ndarray:
        """``demand`` as ``[B, N]`` (a single problem is one row)."""
        return self.demand.reshape(-1, self.n_zones)

    # -- validation ----------------------------------------------------------------------
    def _check_demand(self, demand: Any) -> np.ndarray:
        try:
            d = np.array(demand, dtype=np.float64)
        except (TypeError, ValueError):
            raise AllocationError("demand must be numbers, one per zone") from None
        if d.ndim not in (1, 2) or d.shape[-1] == 0:
            raise AllocationError(f"demand must be [N] or [B, N] with N >= 1, got {d.shape}")
        bad = ~np.isfinite(d)
        if bad.any():
            row, zone = _first_bad(bad)
            raise AllocationError(
                f"{where(zone, row)}: demand is {d[bad][0]} (give a finite demand >= 0)"
            )
        if (d < 0).any():
            row, zone = _first_bad(d < 0)
            raise AllocationError(
                f"{where(zone, row)}: demand {d[d < 0][0]:g} is negative (demand must be >= 0)"
            )
        return d

    def _check_bounds(self) -> None:
        lo, hi, p = self.lower, self.upper, self.weights
        for name, bad in (
            ("lower bound", ~np.isfinite(lo) | (lo < 0)),
            ("weight", ~np.isfinite(p) | (p < 0)),
            ("upper bound", np.isnan(hi)),
        ):
            if bad.any():
                row, zone = _first_bad(bad)
                shown = {"lower bound": lo, "weight": p, "upper bound": hi}[name][bad][0]
                raise AllocationError(
                    f"{where(zone, row)}: {name} {shown} is invalid (must be finite and >= 0)"
                )
        if (hi < lo).any():
            row, zone = _first_bad(hi < lo)
            idx = (zone,) if row is None else (row, zone)
            raise AllocationError(
                f"{where(zone, row)}: upper bound {hi[idx]:g} < lower bound {lo[idx]:g}"
            )

    def _check_budget(self, budget: Any) -> np.ndarray:
        b = np.asarray(budget, dtype=np.float64)
        rows = self.demand.shape[:-1]
        if b.ndim > 1 or (b.ndim == 1 and b.shape != rows):
            raise AllocationError(
                f"budget must be a number or one per problem row {rows}, got shape {b.shape}"
            )
        if not np.isfinite(b).all() or (b < 0).any():
            raise AllocationError(f"budget {b.ravel()[0]} must be finite and >= 0")
        return np.broadcast_to(b, rows).copy()

    def _to_whole_units(self) -> None:
        """Round bounds inward to whole units; the budget must be a whole number."""
        b = self.budget
        if (np.abs(b - np.round(b)) > 1e-9 * np.maximum(1.0, b)).any():
            raise AllocationError(f"with units the budget must be a whole number, got {b}")
        self.budget = np.round(b)
        lo = _rounded(self.lower, lambda v: np.ceil(v - 1e-9) + 0.0)  # + 0.0: no -0.0
        hi = _rounded(self.upper, lambda v: np.floor(v + 1e-9))
        if (hi < lo).any():
            row, zone = _first_bad(hi < lo)
            idx = (zone,) if row is None else (row, zone)
            raise AllocationError(
                f"{where(zone, row)}: no whole number of units between lower "
                f"{self.lower[idx]:g} and upper {self.upper[idx]:g}"
            )
        self.lower, self.upper = lo, hi

    def _check_feasible(self) -> None:
        lo_sum, hi_sum = self.lower.sum(axis=-1), self.upper.sum(axis=-1)
        tol = _FEASIBILITY_RTOL * np.maximum(1.0, np.abs(self.budget))
        row_note = (lambda r: f"problem {r}: ") if self.batched else (lambda r: "")
        low = np.flatnonzero(np.atleast_1d(lo_sum > self.budget + tol))
        if low.size:
            r = int(low[0])
            raise AllocationError(
                f"{row_note(r)}budget {np.atleast_1d(self.budget)[r]:g} is below the sum of "
                f"lower bounds {np.atleast_1d(lo_sum)[r]:g} (infeasible: lower the bounds or "
                "raise the budget)"
            )
        high = np.flatnonzero(np.atleast_1d(hi_sum < self.budget - tol))
        if high.size:
            r = int(high[0])
            raise AllocationError(
                f"{row_note(r)}budget {np.atleast_1d(self.budget)[r]:g} exceeds the sum of "
                f"upper bounds {np.atleast_1d(hi_sum)[r]:g} (infeasible: raise the bounds or "
                "lower the budget)"
            )

    def with_demand(self, demand: Any, *, check: bool = True) -> AllocationProblem:
        """The same problem (family, budget, bounds, weights, units) for other demand.

        Args:
            demand: same shape as this problem's demand.
            check: validate it (finite, >= 0, and what the family needs, e.g. flow below
                saturation for ``delay``). ``check=False`` is the fast path for trusted
                callers re-solving one problem with fresh forecasts (the service, a training
                loop): it only converts ``demand`` to float64 and reuses the validated budget,
                bounds and weights; bad demand then gives undefined results, not an error.
                Solving gives bit-identical results to the checked path on valid demand.
        """
        if np.shape(demand) != self.demand.shape:
            raise AllocationError(
                f"demand shape {np.shape(demand)} != the problem's {self.demand.shape}"
            )
        if check:
            return self._rebuild(demand, self.budget, ...)
        trusted = copy.copy(self)  # shares the (read-only) bounds, weights and budget
        trusted.demand = np.asarray(demand, dtype=np.float64)
        return trusted

    def row(self, r: int) -> AllocationProblem:
        """Problem ``r`` of a batch, as a single problem."""
        return self._rebuild(self.demand[r], self.budget[r], r)

    def _rebuild(self, demand: Any, budget: Any, index: Any) -> AllocationProblem:
        return AllocationProblem(
            demand,
            budget,
            self.utility,
            lower=self.lower[index],
            upper=self.upper[index],
            weights=self.weights[index],
            units=self.units,
        )

    # -- evaluation ----------------------------------------------------------------------
    def objective(self, w: np.ndarray, demand: np.ndarray | None = None) -> np.ndarray:
        """``sum_i p_i value_i(w_i)`` per row (natural sense), optionally for other demand."""
        d = self.demand if demand is None else np.asarray(demand, dtype=np.float64)
        return (self.weights * self.utility.value(np.asarray(w, dtype=np.float64), d)).sum(-1)

    def gain(self, w: np.ndarray, demand: np.ndarray | None = None) -> np.ndarray:
        """The objective as a gain (negated for cost families), higher is better."""
        obj = self.objective(w, demand)
        return obj if self.utility.sense == "max" else -obj

    def marginal(self, w: np.ndarray) -> np.ndarray:
        """``[..., N]`` weighted marginal gain ``p_i gain_i'(w_i)`` (right derivative)."""
        return self.weights * self.utility.marginal(np.asarray(w, dtype=np.float64), self.demand)

    def __repr__(self) -> str:
        return (
            f"AllocationProblem({self.utility.name}, shape={self.demand.shape}, "
            f"budget={self.budget.tolist()}, units={self.units})"
        )


@dataclass
class Allocation:
    """A solved allocation.

    Attributes:
        w: ``[N]`` (or ``[B, N]``) shares, or whole units when ``units``.
        objective: ``sum_i p_i value_i(w_i)`` in the family's natural sense (a cost for
            ``variance`` and ``delay``); ``[B]`` for a batch.
        shadow_price: value of one more unit of budget, ``lam`` in the KKT conditions
            ``p_i gain_i'(w_i) = lam`` for zones strictly between their bounds (for units:
            the best gain of one more unit); ``[B]`` for a batch.
        marginal: ``[N]`` weighted marginal gain of each zone at its share.
        family: the utility family name.
        sense: ``"max"`` or ``"min"`` (how to read ``objective``).
        units: whether ``w`` counts indivisible units.
        gap: the oracle gap (hindsight-optimal minus this objective, as a gain), when known.
    """

    w: np.ndarray
    objective: Any
    shadow_price: Any
    marginal: np.ndarray
    family: str
    sense: str
    units: bool = False
    gap: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def gain(self) -> Any:
        """The objective as a gain (higher is better)."""
        return self.objective if self.sense == "max" else -self.objective

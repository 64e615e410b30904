"""Utility families: what a zone's share ``w`` of a budget is worth, given its demand ``d``.

Every family is separable and concave in the share when written as a *gain* (a cost to
minimise is turned into the gain ``-cost``), with value, marginal gain and inverse marginal
in closed form, vectorised over zones. All methods broadcast: ``w`` and ``d`` are ``[..., N]``
and per-zone parameters (``alpha``, ``cap``, ``saturation``) are scalars or ``[N]``.
The formulas run on numpy arrays and on torch tensors alike (the namespace is taken from the
argument), so the torch layer reuses them without this module importing torch.

============  =====================================  =========  ===========================
family        value per zone                         sense      marginal gain
============  =====================================  =========  ===========================
coverage      d (1 - exp(-alpha w))                  maximise   d alpha exp(-alpha w)
log           d log(1 + alpha w)                     maximise   d alpha / (1 + alpha w)
variance      d / (1 + alpha w)                      minimise   d alpha / (1 + alpha w)^2
linear        d min(w, cap)                          maximise   d [w < cap]
delay         d C (1 - w)_+^2 / (2 (1 - d / s))      minimise   d C (1 - w)_+ / (1 - d / s)
============  =====================================  =========  ===========================

Water-filling form: for a zone with priority weight ``p`` and ``p d > 0``, every smooth
family's inverse marginal is affine in a monotone transform ``phi`` of the price ``lam``::

    inf{w : p * marginal(w) <= lam} = a + b * phi(lam),   b > 0,  phi decreasing in lam,

which turns the budget equation into a piecewise-linear one in ``t = phi(lam)`` (see
``continuous.py``). ``linear`` is piecewise linear and solved by a sorted greedy instead.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from cityfocus.allocate.arrays import Array, like, namespace, quiet
from cityfocus.allocate.errors import AllocationError, where


def _check_positive(name: str, family: str, value: Any, allow_inf: bool = False) -> Any:
    """Validate a per-zone parameter (scalar or ``[N]``, > 0); return a float or float array."""
    arr = np.asarray(value, dtype=np.float64)
    if arr.ndim > 1:
        raise AllocationError(f"{family}: {name} must be a number or one value per zone")
    ok = (arr > 0) & (np.isfinite(arr) | allow_inf)
    if not ok.all():
        zone = int(np.flatnonzero(~np.atleast_1d(ok))[0])
        at = f" at {where(zone)}" if arr.ndim else ""
        limit = "> 0" if allow_inf else "> 0 and finite"
        raise AllocationError(
            f"{family}: {name} = {float(np.atleast_1d(arr)[zone])}{at} must be {limit}"
        )
    return float(arr) if arr.ndim == 0 else arr


@dataclass(frozen=True, eq=False)  # eq=False: parameters may be arrays
class Utility:
    """A separable utility family; subclasses hold the per-zone parameters.

    Attributes:
        name: registry name (``"coverage"``, ...).
        sense: ``"max"`` if ``value`` is to be maximised, ``"min"`` if it is a cost.
        phi: which monotone transform the water-filling form uses (``None`` if piecewise
            linear): ``"neg_log"`` (-log lam), ``"inv"`` (1/lam), ``"inv_sqrt"``
            (lam^-1/2) or ``"neg"`` (-lam).
    """

    name: ClassVar[str] = ""
    sense: ClassVar[str] = "max"
    phi: ClassVar[str | None] = None

    # -- to implement --------------------------------------------------------------------
    def value(self, w: Array, d: Array) -> Array:
        """``[..., N]`` natural value per zone (a gain if ``sense == "max"``, else a cost)."""
        raise NotImplementedError

    def marginal(self, w: Array, d: Array) -> Array:
        """``[..., N]`` right derivative of the gain in ``w`` (>= 0, non-increasing)."""
        raise NotImplementedError

    def increment(self, w: Array, d: Array, step: Array | float = 1.0) -> Array:
        """``gain(w + step) - gain(w)``, computed without cancellation."""
        raise NotImplementedError

    def _water(self, d: Array, p: Array) -> tuple[Array, Array]:
        """``(a, b)`` of the water-filling form for zones with ``p d > 0``."""
        raise NotImplementedError

    def unit_gains(self, x: Array, d: Array) -> tuple[Array, Array]:
        """``(increment(x, d), increment(x - 1, d))`` for whole units ``x``: each zone's gain
        from one more unit and from the last unit it was given (meaningless where ``x < 1``;
        callers mask it). Families override it to share the work between the two."""
        xp = namespace(x)
        return self.increment(x, d, 1.0), self.increment(xp.maximum(x - 1.0, 0.0), d, 1.0)

    # -- shared --------------------------------------------------------------------------
    def gain(self, w: Array, d: Array) -> Array:
        """``[..., N]`` the concave, non-decreasing quantity the solvers maximise."""
        v = self.value(w, d)
        return v if self.sense == "max" else -v

    def value_and_marginal(self, w: Array, d: Array) -> tuple[Array, Array]:
        """``(value(w, d), marginal(w, d))``; families override it to share the work."""
        return self.value(w, d), self.marginal(w, d)

    def marginal_left(self, w: Array, d: Array) -> Array:
        """Left derivative of the gain; equals ``marginal`` for the smooth families."""
        return self.marginal(w, d)

    def water(self, d: Array, p: Array) -> tuple[Array, Array]:
        """``(a, b)`` with ``inf{w: p marginal(w) <= lam} = a + b phi(lam)``; ``b = 0`` where
        ``p d = 0`` (a zone nobody gains from stays at its lower bound)."""
        xp = namespace(d)
        active = (p * d) > 0
        if bool(active.all()):  # every zone gains: no stand-ins to mask
            with quiet(xp):
                return self._water(d, p)
        with quiet(xp):
            # a safe stand-in demand where inactive keeps torch gradients free of NaN
            d_safe = xp.where(active, d, self._stand_in_demand(d))
            a, b = self._water(d_safe, xp.where(active, p, 1.0 + 0 * p))
            zero = xp.zeros_like(a * d)
        return xp.where(active, a + zero, zero), xp.where(active, b + zero, zero)

    def _stand_in_demand(self, d: Array) -> Array:
        """A demand every formula accepts, used in place of zero demand."""
        return namespace(d).ones_like(d)

    def t_max(self) -> float:
        """``phi(0+)``: the largest meaningful ``t`` (all zones sated)."""
        return 0.0 if self.phi == "neg" else float("inf")

    def inverse_marginal(self, lam: Array, d: Array) -> Array:
        """``inf{w >= 0 : marginal(w) <= lam}``, the share at which the gain's slope falls to
        ``lam`` (0 if it starts below ``lam``; ``inf`` if it never gets there)."""
        if self.phi is None:
            raise NotImplementedError  # piecewise-linear families override this
        lam = np.asarray(lam, dtype=np.float64)
        d = np.asarray(d, dtype=np.float64)
        a, b = self.water(d, np.ones_like(d))
        t = phi(self.phi, lam)
        with np.errstate(invalid="ignore"):
            h = np.where(b > 0, a + b * np.minimum(t, self.t_max()), 0.0)
        return np.maximum(h, 0.0)

    def check_demand(self, d: np.ndarray) -> None:
        """Raise ``AllocationError`` if the family cannot take this demand (beyond d >= 0)."""

    def params(self) -> dict[str, Any]:
        """The family parameters: numbers or ``[N]`` arrays."""
        return {}

    def params_per_zone(self) -> bool:
        """Whether any parameter differs per zone (is an ``[N]`` array)."""
        return any(isinstance(v, np.ndarray) for v in self.params().values())

    def take(self, zones: Any) -> Utility:
        """The same family restricted to ``zones`` (per-zone parameters indexed)."""
        sliced = {
            k: np.asarray(v)[zones] if isinstance(v, np.ndarray) else v
            for k, v in self.params().items()
        }
        return type(self)(**sliced)

    def to_config(self) -> dict[str, Any]:
        """``{"family": name, **params}``; ``make_utility(**config)`` rebuilds it."""
        out: dict[str, Any] = {"family": self.name}
        for key, val in self.params().items():
            out[key] = val.tolist() if isinstance(val, np.ndarray) else val
        return out

    def _p(self, name: str, ref: Array) -> Array:
        return like(getattr(self, name), ref)


def phi(kind: str, lam: Array) -> Array:
    """The water-filling transform ``phi(lam)`` (decreasing; ``lam = 0`` maps to ``t_max``)."""
    xp = namespace(lam)
    with quiet(xp):
        if kind == "neg_log":
            return -xp.log(lam)
        if kind == "inv":
            return 1.0 / lam
        if kind == "inv_sqrt":
            return 1.0 / xp.sqrt(lam)
        if kind == "neg":
            return -lam
    raise ValueError(f"unknown transform {kind!r}")


def _one_minus(kept: Array, rate: Array) -> Array:
    """``1 - kept`` for ``kept = exp(-rate)``, ``rate >= 0``, to full relative accuracy:
    ``1 - kept`` is exact to a few ulps while ``kept <= 1/2``; ``-expm1(-rate)`` is taken
    only where it is above (and ``rate > 0``), on those entries alone when they are few."""
    if namespace(kept) is not np:
        return -namespace(kept).expm1(-rate)
    out = 1.0 - kept
    near = np.flatnonzero((kept > 0.5) & (rate > 0))
    if len(near) > kept.size // 4:  # gathering would cost more than expm1 everywhere
        return -np.expm1(-rate)
    if len(near):
        out.reshape(-1)[near] = -np.expm1(-rate.reshape(-1)[near])  # a fresh array
    return out


@dataclass(frozen=True, eq=False)  # eq=False: parameters may be arrays
class Coverage(Utility):
    """Expected incidents intercepted, ``d (1 - exp(-alpha w))`` (Koopman's random search).

    Use when ``d`` is the expected number of events in a zone and effort ``w`` finds each
    one independently at rate ``alpha`` (patrols, inspections, searches): returns diminish
    exponentially, and a zone is never fully covered.
    """

    alpha: Any = 1.0
    name: ClassVar[str] = "coverage"
    phi: ClassVar[str] = "neg_log"

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _check_positive("alpha", self.name, self.alpha))

    def value(self, w: Array, d: Array) -> Array:
        return -d * namespace(w).expm1(-self._p("alpha", w) * w)

    def marginal(self, w: Array, d: Array) -> Array:
        alpha = self._p("alpha", w)
        return d * alpha * namespace(w).exp(-alpha * w)

    def value_and_marginal(self, w: Array, d: Array) -> tuple[Array, Array]:
        # one exp per zone: the value is d (1 - exp(-alpha w)) (see ``_one_minus``)
        xp, alpha = namespace(w), self._p("alpha", w)
        rate = alpha * w
        kept = xp.exp(-rate)
        return d * _one_minus(kept, rate), d * alpha * kept

    def increment(self, w: Array, d: Array, step: Array | float = 1.0) -> Array:
        xp, alpha = namespace(w), self._p("alpha", w)
        return -d * xp.exp(-alpha * w) * xp.expm1(-alpha * step)

    def unit_gains(self, x: Array, d: Array) -> tuple[Array, Array]:
        # one exp per zone: a unit gains exp(-alpha) times what the unit before it gained
        xp, alpha = namespace(x), self._p("alpha", x)
        if float(alpha.max()) > 700.0:  # exp(-alpha) would underflow
            return super().unit_gains(x, d)
        ratio = xp.exp(-alpha)
        nxt = d * _one_minus(ratio, alpha) * xp.exp(-alpha * x)
        return nxt, nxt / ratio

    def _water(self, d: Array, p: Array) -> tuple[Array, Array]:
        alpha = self._p("alpha", d)
        return namespace(d).log(p * d * alpha) / alpha, 1.0 / alpha + 0 * d

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@dataclass(frozen=True, eq=False)  # eq=False: parameters may be arrays
class Log(Utility):
    """Proportional fairness, ``d log(1 + alpha w)``.

    Use when every zone should get something and doubling a zone's share should be worth
    the same wherever it happens (shares end up proportional to ``d`` once ``alpha w >> 1``).
    """

    alpha: Any = 1.0
    name: ClassVar[str] = "log"
    phi: ClassVar[str] = "inv"

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _check_positive("alpha", self.name, self.alpha))

    def value(self, w: Array, d: Array) -> Array:
        return d * namespace(w).log1p(self._p("alpha", w) * w)

    def marginal(self, w: Array, d: Array) -> Array:
        alpha = self._p("alpha", w)
        return d * alpha / (1.0 + alpha * w)

    def increment(self, w: Array, d: Array, step: Array | float = 1.0) -> Array:
        alpha = self._p("alpha", w)
        return d * namespace(w).log1p(alpha * step / (1.0 + alpha * w))

    def unit_gains(self, x: Array, d: Array) -> tuple[Array, Array]:
        xp, alpha = namespace(x), self._p("alpha", x)
        u = 1.0 + alpha * x  # 1 + alpha x is shared by both gains
        with quiet(xp):  # x = 0 may make the second one NaN (callers mask it)
            return d * xp.log1p(alpha / u), d * xp.log1p(alpha / (u - alpha))

    def _water(self, d: Array, p: Array) -> tuple[Array, Array]:
        return -1.0 / self._p("alpha", d) + 0 * d, p * d

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@dataclass(frozen=True, eq=False)  # eq=False: parameters may be arrays
class Variance(Utility):
    """Estimation variance left after monitoring, ``d / (1 + alpha w)``, to minimise.

    Use for sensors or samplers: ``d`` is a zone's prior variance (or its variance times its
    importance) and ``alpha`` the information one unit of monitoring adds.
    """

    alpha: Any = 1.0
    name: ClassVar[str] = "variance"
    sense: ClassVar[str] = "min"
    phi: ClassVar[str] = "inv_sqrt"

    def __post_init__(self) -> None:
        object.__setattr__(self, "alpha", _check_positive("alpha", self.name, self.alpha))

    def value(self, w: Array, d: Array) -> Array:
        return d / (1.0 + self._p("alpha", w) * w)

    def marginal(self, w: Array, d: Array) -> Array:
        alpha = self._p("alpha", w)
        return d * alpha / (1.0 + alpha * w) ** 2

    def increment(self, w: Array, d: Array, step: Array | float = 1.0) -> Array:
        alpha = self._p("alpha", w)
        return d * alpha * step / ((1.0 + alpha * w) * (1.0 + alpha * (w + step)))

    def unit_gains(self, x: Array, d: Array) -> tuple[Array, Array]:
        alpha = self._p("alpha", x)
        u = 1.0 + alpha * x
        shared = d * alpha / u  # both gains are d alpha / ((1 + alpha x)(1 + alpha (x +- 1)))
        with quiet(namespace(x)):  # x = 0 may divide by 0 in the second one (masked)
            return shared / (u + alpha), shared / (u - alpha)

    def _water(self, d: Array, p: Array) -> tuple[Array, Array]:
        alpha = self._p("alpha", d)
        return -1.0 / alpha + 0 * d, namespace(d).sqrt(p * d * alpha) / alpha

    def params(self) -> dict[str, Any]:
        return {"alpha": self.alpha}


@dataclass(frozen=True, eq=False)  # eq=False: parameters may be arrays
class Linear(Utility):
    """Demand served, ``d min(w, cap)``: each unit of share serves ``d`` until ``cap``.

    Use when a zone's need is met one-for-one up to a ceiling (e.g. calls answered by crews
    up to the zone's call volume). Piecewise linear: solved exactly by a sorted greedy.
    """

    cap: Any = float("inf")
    name: ClassVar[str] = "linear"

    def __post_init__(self) -> None:
        object.__setattr__(self, "cap", _check_positive("cap", self.name, self.cap, True))

    def value(self, w: Array, d: Array) -> Array:
        cap = self._p("cap", w)
        return d * namespace(w).where(w < cap, w, cap + 0 * w)

    def marginal(self, w: Array, d: Array) -> Array:
        return namespace(w).where(w < self._p("cap", w), d + 0 * w, 0 * w)

    def marginal_left(self, w: Array, d: Array) -> Array:
        return namespace(w).where(w <= self._p("cap", w), d + 0 * w, 0 * w)

    def value_and_marginal(self, w: Array, d: Array) -> tuple[Array, Array]:
        xp, cap = namespace(w), self._p("cap", w)
        return d * xp.minimum(w, cap), d * (w < cap)  # as value and marginal, fewer passes

    def increment(self, w: Array, d: Array, step: Array | float = 1.0) -> Array:
        return self.value(w + step, d) - self.value(w, d)

    def unit_gains(self, x: Array, d: Array) -> tuple[Array, Array]:
        # a unit from x serves d for the part of [x, x + 1] below the cap
        room = self._p("cap", x) - x
        xp = namespace(x)
        return d * xp.clip(room, 0.0, 1.0), d * xp.clip(room + 1.0, 0.0, 1.0)

    def inverse_marginal(self, lam: Array, d: Array) -> Array:
        cap = np.asarray(self.cap, dtype=np.float64)
        return np.where(np.asarray(lam) < np.asarray(d), cap, 0.0)

    def params(self) -> dict[str, Any]:
        return {"cap": self.cap}


@dataclass(frozen=True, eq=False)  # eq=False: parameters may be arrays
class Delay(Utility):
    """Webster's uniform delay of a signal approach, ``d C (1 - g)^2 / (2 (1 - d/s))``.

    ``d`` is the approach's arrival flow and ``s`` (``saturation``) its saturation flow in the
    same units (e.g. veh/h), ``C`` the cycle in seconds and ``w = g`` its effective green
    share of the cycle. The value is the flow times the first (uniform) term of Webster's
    delay, ``C (1 - g)^2 / (2 (1 - x g))`` with ``x g = d / s``, i.e. vehicle-seconds per
    unit time; minimise it. The formula is exact while the approach is undersaturated
    (``g >= d/s``); below that it keeps the same convex quadratic, which charges more than
    the capped formula, so set ``lower`` to ``d/s`` (plus a margin) when that matters.
    """

    saturation: Any = 1800.0
    cycle: float = 90.0
    name: ClassVar[str] = "delay"
    sense: ClassVar[str] = "min"
    phi: ClassVar[str] = "neg"

    def __post_init__(self) -> None:
        sat = _check_positive("saturation", self.name, self.saturation)
        object.__setattr__(self, "saturation", sat)
        object.__setattr__(self, "cycle", float(_check_positive("cycle", self.name, self.cycle)))

    def _scale(self, d: Array) -> Array:
        """``C / (1 - d/s)``: the delay weight of one vehicle of flow."""
        return self.cycle / (1.0 - d / self._p("saturation", d))

    def value(self, w: Array, d: Array) -> Array:
        slack = namespace(w).where(w < 1.0, 1.0 - w, 0 * w)
        return 0.5 * d * self._scale(d) * slack**2

    def marginal(self, w: Array, d: Array) -> Array:
        xp = namespace(w)
        slack = xp.where(w < 1.0, 1.0 - w, 0 * w)
        return d * self._scale(d) * slack

    def value_and_marginal(self, w: Array, d: Array) -> tuple[Array, Array]:
        slack = namespace(w).clip(1.0 - w, min=0.0)  # (1 - w)_+, as in value and marginal
        marginal = d * self._scale(d) * slack
        return 0.5 * marginal * slack, marginal

    def increment(self, w: Array, d: Array, step: Array | float = 1.0) -> Array:
        xp = namespace(w)
        before = xp.where(w < 1.0, 1.0 - w, 0 * w)
        after = xp.where(w + step < 1.0, 1.0 - w - step, 0 * w)
        return 0.5 * d * self._scale(d) * (before - after) * (before + after)

    def _water(self, d: Array, p: Array) -> tuple[Array, Array]:
        return 1.0 + 0 * d, 1.0 / (p * d * self._scale(d))

    def _stand_in_demand(self, d: Array) -> Array:
        return 0.5 * self._p("saturation", d) + 0 * d

    def check_demand(self, d: np.ndarray) -> None:
        ratio = d / np.asarray(self.saturation, dtype=np.float64)
        bad = ~(ratio < 1.0)
        if bad.any():
            idx = np.argwhere(bad)[0]
            row, zone = (int(idx[0]), int(idx[1])) if bad.ndim == 2 else (None, int(idx[0]))
            raise AllocationError(
                f"delay: {where(zone, row)} has flow/saturation = {float(ratio[tuple(idx)]):.3g}"
                " >= 1, oversaturated at any green share (raise saturation or lower demand)"
            )

    def params(self) -> dict[str, Any]:
        return {"saturation": self.saturation, "cycle": self.cycle}


FAMILIES: dict[str, type[Utility]] = {
    cls.name: cls for cls in (Coverage, Log, Variance, Linear, Delay)
}


def make_utility(family: str | Utility, **params: Any) -> Utility:
    """A utility by name with its parameters (``alpha``, ``cap``, ``saturation``, ``cycle``).

    Raises:
        AllocationError: unknown family (the message lists the valid ones) or a parameter
            the family does not take.
    """
    if isinstance(family, Utility):
        if params:
            raise AllocationError(f"{family.name}: parameters given twice ({sorted(params)})")
        return family
    cls = FAMILIES.get(str(family).lower())
    if cls is None:
        raise AllocationError(
            f"unknown utility family {family!r}; valid families: {', '.join(FAMILIES)}"
        )
    params = {k: v for k, v in params.items() if v is not None}
    allowed = {f for f in cls.__dataclass_fields__}
    extra = sorted(set(params) - allowed)
    if extra:
        raise AllocationError(
            f"{cls.name}: unknown parameter(s) {extra}; it takes {sorted(allowed) or 'none'}"
        )
    return cls(**params)

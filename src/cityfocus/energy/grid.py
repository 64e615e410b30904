"""A SimBench grid ready to judge decisions: its pandapower net, per-zone profiles, the
radial flow model the decisions plan with, and AC power flows on realized profiles.

A decision curtails infeed: ``curtail [S, N]`` MW per step and zone, taken from the zone's
generators in proportion to their infeed and never more than they feed in at that step.
"""

from __future__ import annotations

import warnings
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cityfocus.data.readers.simbench_grid import (
    STEPS_PER_DAY,
    NodeProfiles,
    _cached_net,
    node_profiles,
    simbench_net,
)
from cityfocus.errors import CityfocusError

STEP_HOURS = 0.25
_RECYCLE = {"trafo": False, "gen": False, "bus_pq": True}


@dataclass(frozen=True)
class StepResult:
    """Violations of one AC power flow.

    Attributes:
        overload_mva: ``[E]`` apparent power above rating per element (lines, then
            transformers), 0 where within rating.
        overvoltage, undervoltage: buses above their ``max_vm_pu`` / below ``min_vm_pu``.
        voltage_excess: summed p.u. outside the buses' limits.
        vm_zone: ``[N]`` voltage (p.u.) of each zone bus.
        loading_mva: ``[E]`` apparent power through each element (MVA, from its loading).
        converged: the power flow converged (a step that does not counts as a violation).
    """

    overload_mva: np.ndarray
    overvoltage: int
    undervoltage: int
    voltage_excess: float = 0.0
    vm_zone: np.ndarray | None = None
    loading_mva: np.ndarray | None = None
    converged: bool = True

    @property
    def violated(self) -> bool:
        return (not self.converged or bool((self.overload_mva > 0).any())
                or self.overvoltage > 0 or self.undervoltage > 0)


@dataclass
class GridCase:
    """A SimBench grid with its year of element profiles.

    Attributes:
        code: the SimBench grid code.
        net: the pandapower net the power flows run on (a private copy).
        profiles: per-element year profiles and the zone of each element.
        ratings: ``[E]`` element ratings in MVA (lines: sqrt(3) V I_max, then transformers).
        downstream: ``[E, N]`` 1 where a zone is fed through the element (from the slack).
        names: ``[E]`` element names for tables.
        resistance: ``[E]`` each element's R / V^2 (ohm / kV^2): the p.u. voltage change one
            MW through it makes.
        vmax: ``[N]`` upper voltage limit (p.u.) of each zone bus.
        numba: run pandapower's Newton-Raphson compiled by numba (when installed): several
            times faster per power flow once compiled, about 10 s to compile in a process;
            a handful of power flows is faster without it.
    """

    code: str
    net: Any
    profiles: NodeProfiles
    ratings: np.ndarray
    downstream: np.ndarray
    names: list[str]
    resistance: np.ndarray | None = None
    vmax: np.ndarray | None = None
    numba: bool = True
    voltage_offset: np.ndarray | None = None
    flow_scale: np.ndarray | None = None
    power_flows: int = 0
    _cache: dict[int, StepResult] = field(default_factory=dict)
    _extreme: dict[int, StepResult] = field(default_factory=dict)

    @property
    def n_zones(self) -> int:
        return len(self.profiles.buses)

    def infeed(self, steps: np.ndarray) -> np.ndarray:
        """``[S, N]`` net infeed of each zone's generators at ``steps`` (year indices), MW."""
        return self.profiles.by_zone(self.profiles.sgen_p[steps], self.profiles.sgen_zone)

    def curtailable(self, steps: np.ndarray) -> np.ndarray:
        """``[S, N]`` infeed that can be curtailed at ``steps``: the positive infeed of each
        zone's generators (a few SimBench generator profiles dip below zero), MW."""
        positive = np.maximum(self.profiles.sgen_p[steps], 0.0)
        return self.profiles.by_zone(positive, self.profiles.sgen_zone)

    def net_load(self, steps: np.ndarray) -> np.ndarray:
        """``[S, N]`` realized net load (loads minus generation) at ``steps``, MW."""
        p = self.profiles
        return p.by_zone(p.load_p[steps], p.load_zone) - self.infeed(steps)

    def flows(self, net_load: np.ndarray) -> np.ndarray:
        """``[..., E]`` active power through each element in the radial model (positive
        towards the zones it feeds), from net loads ``[..., N]``."""
        return net_load @ self.downstream.T

    @property
    def voltage_sensitivity(self) -> np.ndarray:
        """``[N, N]``: p.u. rise of zone k's voltage per MW injected at zone i (the summed
        R / V^2 of the elements their paths share; the radial linearisation, reactive power
        left out)."""
        if self.resistance is None:
            raise ValueError("this grid has no element resistances")
        return (self.downstream.T * self.resistance) @ self.downstream

    def calibrate_voltage(self, steps: np.ndarray) -> None:
        """Fit the linear model to the no-action AC power flows at ``steps`` (use training
        steps): each zone's voltage offset (the mean difference), and each element's ratio of
        AC apparent power to the model's active flow (reactive power and losses the model
        leaves out), over the steps where the model's flow is at least a fifth of the rating
        (1 where there are none)."""
        net_load = self.net_load(steps)
        linear = -net_load @ self.voltage_sensitivity.T
        results = [self.run(int(s)) for s in steps]
        measured = np.stack([r.vm_zone for r in results])  # type: ignore[misc]
        self.voltage_offset = (measured - linear).mean(axis=0)
        flows = np.abs(self.flows(net_load))  # [S, E]
        apparent = np.stack([r.loading_mva for r in results])  # type: ignore[misc]
        busy = flows >= 0.2 * self.ratings
        ratio = np.divide((apparent * busy).sum(axis=0), (flows * busy).sum(axis=0),
                          out=np.ones(len(self.ratings)), where=busy.any(axis=0))
        self.flow_scale = ratio

    @property
    def planning_ratings(self) -> np.ndarray:
        """``[E]`` the ratings the linear model's active flows are held to: the ratings over
        ``flow_scale`` once calibrated."""
        return self.ratings if self.flow_scale is None else self.ratings / self.flow_scale

    def voltages(self, net_load: np.ndarray) -> np.ndarray | None:
        """``[..., N]`` zone voltages (p.u.) of the calibrated linear model (None before
        ``calibrate_voltage``)."""
        if self.voltage_offset is None:
            return None
        return -net_load @ self.voltage_sensitivity.T + self.voltage_offset

    def run(self, step: int, curtail: np.ndarray | None = None) -> StepResult:
        """The AC power flow at year step ``step`` with ``curtail [N]`` MW taken off each
        zone's generators (None: no action; those results are cached)."""
        taken = self.taken(step, curtail)
        if taken is None:
            if step not in self._cache:
                self._cache[step] = self._solve(step, None)
            return self._cache[step]
        return self._solve(step, taken)

    def judge(self, step: int, curtail: np.ndarray | None) -> tuple[StepResult, bool]:
        """``run``, screened: when neither the no-action power flow nor the one with all of
        the step's infeed curtailed has a violation, the curtailed state has none either and
        is not run (returns that no-action result and True).

        Why: curtailing only raises net loads between those two states; in a radial grid an
        element's flow magnitude is convex in the curtailment (at most the larger of the two
        ends) and node voltages move monotonically with it. ``screening_mismatches`` checks
        this on sampled steps with real power flows."""
        taken = self.taken(step, curtail)
        base = self.run(step)
        if taken is None:
            return base, False
        if not base.violated:
            if step not in self._extreme:
                self._extreme[step] = self._solve(step, np.full(self.n_zones, np.inf))
            if not self._extreme[step].violated:
                return base, True
        return self._solve(step, taken), False

    def taken(self, step: int, curtail: np.ndarray | None) -> np.ndarray | None:
        """The curtailment really taken at ``step`` (``min(curtail, infeed)`` per zone; None
        when nothing is taken)."""
        if curtail is None:
            return None
        infeed = self.curtailable(np.array([step]))[0]
        taken = np.minimum(np.maximum(curtail, 0.0), infeed)
        return taken if np.any(taken > 0) else None

    def _solve(self, step: int, curtail: np.ndarray | None) -> StepResult:
        import pandapower as pp

        p, net = self.profiles, self.net
        sgen = p.sgen_p[step].copy()
        if curtail is not None:  # taken from the generators feeding in, in proportion
            positive = np.maximum(sgen, 0.0)
            infeed = np.zeros(self.n_zones)
            np.add.at(infeed, p.sgen_zone, positive)
            taken = np.minimum(np.maximum(curtail, 0.0), infeed)
            share = np.divide(taken, infeed, out=np.zeros_like(taken), where=infeed > 0)
            sgen -= positive * share[p.sgen_zone]
        net.load["p_mw"] = p.load_p[step]
        net.load["q_mvar"] = p.load_q[step]
        net.sgen["p_mw"] = sgen
        self.power_flows += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                # recycle: the grid's matrices are built once, each step only sets P and Q
                pp.runpp(net, numba=self.numba and _has_numba(), recycle=_RECYCLE)
        except pp.LoadflowNotConverged:
            return StepResult(np.zeros(len(self.ratings)), 0, 0, converged=False)
        loading = np.concatenate([net.res_line.loading_percent.to_numpy(),
                                  net.res_trafo.loading_percent.to_numpy()])
        overload = np.maximum(loading - 100.0, 0.0) / 100.0 * self.ratings
        vm = net.res_bus.vm_pu.to_numpy()
        high = vm - net.bus.max_vm_pu.to_numpy(dtype=float)
        low = net.bus.min_vm_pu.to_numpy(dtype=float) - vm
        over, under = int((high > 1e-9).sum()), int((low > 1e-9).sum())
        excess = float(np.maximum(high, 0.0).sum() + np.maximum(low, 0.0).sum())
        vm_zone = net.res_bus.vm_pu.loc[self.profiles.buses].to_numpy(dtype=float)
        return StepResult(np.nan_to_num(overload), over, under, excess, vm_zone,
                          np.nan_to_num(loading) / 100.0 * self.ratings)


def load_grid(code: str, numba: bool = True) -> GridCase:
    """The SimBench grid ``code`` ready for power flows (storage units out of service;
    ``numba``: see ``GridCase``).

    Raises:
        CityfocusError: simbench or pandapower is not installed.
        DataError: an unknown grid code.
    """
    try:
        import pandapower  # noqa: F401
    except ImportError:
        raise CityfocusError("the energy scenario needs pandapower; install the energy "
                             "extra: .venv/bin/pip install -e '.[energy]'") from None
    profiles = node_profiles(_cached_net(code))
    net = simbench_net(code)
    if len(net.storage):
        net.storage["in_service"] = False
    ratings = np.concatenate([
        np.sqrt(3) * net.bus.loc[net.line.from_bus, "vn_kv"].to_numpy(dtype=float)
        * net.line.max_i_ka.to_numpy(dtype=float) * net.line.df.to_numpy(dtype=float)
        * net.line.parallel.to_numpy(dtype=float),
        net.trafo.sn_mva.to_numpy(dtype=float),
    ])
    names = [f"line {n}" for n in net.line.name] + [f"trafo {n}" for n in net.trafo.name]
    line_kv = net.bus.loc[net.line.from_bus, "vn_kv"].to_numpy(dtype=float)
    resistance = np.concatenate([
        net.line.r_ohm_per_km.to_numpy(dtype=float) * net.line.length_km.to_numpy(dtype=float)
        / net.line.parallel.to_numpy(dtype=float) / line_kv**2,
        net.trafo.vkr_percent.to_numpy(dtype=float) / 100.0
        / net.trafo.sn_mva.to_numpy(dtype=float),
    ])
    vmax = net.bus.loc[profiles.buses, "max_vm_pu"].to_numpy(dtype=float)
    return GridCase(code, net, profiles, ratings, _downstream(net, profiles.buses), names,
                    resistance, vmax, numba)


def _downstream(net: Any, buses: np.ndarray) -> np.ndarray:
    """``[E, N]``: for each in-service line and transformer, the zones on its far side from
    the external grid (a breadth-first tree; in a meshed grid, the tree's paths)."""
    neighbours: dict[int, list[tuple[int, int]]] = {}
    edges = [*zip(net.line.from_bus, net.line.to_bus, strict=True),
             *zip(net.trafo.hv_bus, net.trafo.lv_bus, strict=True)]
    in_service = np.concatenate([net.line.in_service.to_numpy(bool),
                                 net.trafo.in_service.to_numpy(bool)])
    open_lines = set()
    if len(net.switch):
        sw = net.switch[(net.switch.et == "l") & ~net.switch.closed.astype(bool)]
        open_lines = {int(e) for e in sw.element}
    line_index = list(net.line.index)
    for k, (a, b) in enumerate(edges):
        if not in_service[k] or (k < len(line_index) and line_index[k] in open_lines):
            continue
        neighbours.setdefault(int(a), []).append((int(b), k))
        neighbours.setdefault(int(b), []).append((int(a), k))
    parent_edge: dict[int, int] = {}
    parent: dict[int, int] = {}
    roots = [int(b) for b in net.ext_grid.bus]
    seen, queue = set(roots), deque(roots)
    while queue:
        bus = queue.popleft()
        for nxt, k in neighbours.get(bus, ()):
            if nxt not in seen:
                seen.add(nxt)
                parent[nxt], parent_edge[nxt] = bus, k
                queue.append(nxt)
    downstream = np.zeros((len(edges), len(buses)))
    for i, bus in enumerate(int(b) for b in buses):
        node = bus
        while node in parent_edge:
            downstream[parent_edge[node], i] = 1.0
            node = parent[node]
    return downstream


def _has_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def day_steps(first_step: int, day: int) -> np.ndarray:
    """Year step indices of day ``day`` counted from ``first_step``."""
    start = first_step + day * STEPS_PER_DAY
    return np.arange(start, start + STEPS_PER_DAY)

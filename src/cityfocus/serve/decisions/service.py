"""Decisions as library functions: ``decide`` (forecast, allocate exactly, explain, store with
the SHA-256 of its inputs; an idempotency key returns the stored decision on retry),
``what_if`` (the same on the cached forecast, not stored), ``get_decision``,
``list_decisions``."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityfocus.allocate import Allocation, AllocationError, AllocationProblem, solve
from cityfocus.data.timestep import format_freq
from cityfocus.serve.cities.service import CityState, city_state, get_city
from cityfocus.serve.decisions.forecast import CityForecast, ForecastCache
from cityfocus.serve.decisions.schemas import DecisionRequest
from cityfocus.serve.errors import Conflict, NotFound, Unprocessable
from cityfocus.serve.store.group_commit import GroupCommit
from cityfocus.serve.store.tables import City, Decision


def sha256_json(value: Any) -> str:
    """SHA-256 of ``value`` as canonical JSON (sorted keys, no spaces)."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def default_horizon(city: City | CityState) -> int:
    decision = city.card.get("decision") if isinstance(city.card, dict) else None
    horizon = decision.get("horizon") if isinstance(decision, dict) else None
    return int(horizon) if isinstance(horizon, int) and horizon > 0 else 1


def normalized(request: DecisionRequest, city: City | CityState) -> dict[str, Any]:
    """The request with its defaults filled in (what the hashes cover)."""
    body = request.model_dump(mode="json")
    if body["horizon"] is None:
        body["horizon"] = default_horizon(city)
    body["family"] = body["family"].lower()
    return body


@dataclass(frozen=True)
class Solved:
    problem: AllocationProblem
    allocation: Allocation


def solve_on(cached: CityForecast, body: dict[str, Any]) -> Solved:
    """The exact allocation of ``body`` (a normalized request) on a forecast.

    Raises:
        Unprocessable: unknown zone in ``bounds``, or the problem is infeasible or malformed
            (the solver's one-line message).
    """
    position = cached.zone_position
    lower = np.zeros(len(position))
    upper = np.full(len(position), np.inf)
    for zone, bound in (body.get("bounds") or {}).items():
        if zone not in position:
            raise Unprocessable(f"unknown zone {zone!r}", ["body", "bounds", zone])
        lower[position[zone]] = bound["lower"]
        if bound["upper"] is not None:
            upper[position[zone]] = bound["upper"]
    try:
        problem = AllocationProblem(cached.demand, body["budget"], body["family"],
                                    lower=lower, upper=upper, units=body["units"],
                                    **(body.get("params") or {}))
        allocation = solve(problem)
    except AllocationError as err:
        raise Unprocessable(str(err), ["body"]) from None
    return Solved(problem, allocation)


def _quick_reasons(cached: CityForecast, solved: Solved) -> list[str]:
    """One short reason per zone from forecast rank and marginal value vs the shadow price."""
    alloc = solved.allocation
    price = float(alloc.shadow_price)
    rank = cached.ranks
    n = len(rank)
    reasons = []
    for i in range(n):
        given = float(alloc.w[i])
        head = f"forecast rank {rank[i]} of {n}"
        marginal = float(alloc.marginal[i])
        if given > 0:
            reasons.append(f"{given:g} given, {head}: marginal value {marginal:.3g} at the "
                           f"city-wide price {price:.3g}")
        else:
            reasons.append(f"none given, {head}: marginal value {marginal:.3g} below the "
                           f"city-wide price {price:.3g}")
    return reasons


def _explained_reasons(cached: CityForecast, solved: Solved) -> list[str]:
    """Each zone's one-line reason from ``cityfocus.explain`` (``ZoneExplanation.brief``,
    without the sensitivity thresholds only its paragraph uses; no torch on this path)."""
    from cityfocus.explain.explanation import zone_briefs

    return zone_briefs(cached.data, cached.forecast, solved.problem, solved.allocation)


def decision_body(cached: CityForecast, body: dict[str, Any], solved: Solved, *,
                  stored: bool, explain: bool) -> dict[str, Any]:
    """The JSON result of a decision (or what-if)."""
    alloc = solved.allocation
    data = cached.data
    reasons = (_explained_reasons if explain else _quick_reasons)(cached, solved)
    demand, w, marginal = (a.tolist() for a in (cached.demand, alloc.w, alloc.marginal))
    zones = [{"zone": z, "name": name, "demand": float(demand[i]), "rank": cached.ranks[i],
              "w": float(w[i]), "marginal": float(marginal[i]), "why": reasons[i]}
             for i, (z, name) in enumerate(zip(cached.zone_ids, cached.zone_names,
                                               strict=True))]
    times = cached.forecast.timestamps
    inputs: dict[str, Any] = {"request": body, "forecaster": cached.forecaster,
                              "data": cached.data_sha256}
    if cached.model_version is not None:  # the default forecaster's hashes stay as they were
        inputs["model_version"] = {"version": cached.model_version,
                                   "checkpoint_sha256": cached.checkpoint_sha256}
    return {
        "city": cached.city, "stored": stored, "request": body,
        "inputs_sha256": sha256_json(inputs),
        "forecast": {"forecaster": cached.forecaster, "start": times[0].isoformat(),
                     "end": times[-1].isoformat(), "horizon": cached.horizon,
                     "frequency": format_freq(data.freq), "data_sha256": cached.data_sha256,
                     "model_version": cached.model_version,
                     "checkpoint_sha256": cached.checkpoint_sha256,
                     "masked_readings": cached.masked_readings},
        "family": body["family"], "budget": float(body["budget"]), "units": body["units"],
        "objective": float(alloc.objective), "shadow_price": float(alloc.shadow_price),
        "zones": zones,
    }


def what_if(session: Session, cache: ForecastCache, city_name: str,
            request: DecisionRequest) -> dict[str, Any]:
    """The decision ``request`` would get now, not stored: re-solved on the cached forecast."""
    city = city_state(session, city_name)
    body = normalized(request, city)
    cached = cache.get_for(session, city, body["horizon"])
    return decision_body(cached, body, solve_on(cached, body), stored=False, explain=False)


def _out(decision: Decision, city: City | CityState) -> dict[str, Any]:
    return {**decision.result, "id": decision.id, "created_at": decision.created_at,
            "idempotency_key": decision.idempotency_key, "city": city.name, "stored": True}


def decide(session: Session, cache: ForecastCache, city_name: str, request: DecisionRequest,
           idempotency_key: str | None = None, token_id: int | None = None,
           writes: GroupCommit | None = None) -> tuple[dict[str, Any], bool]:
    """Decide and store; returns (the stored decision, whether it was created now).

    With ``idempotency_key``, a decision already stored under that key for the city is
    returned as it was (created False); the same key with a different request is a Conflict.
    Commits: in ``session``, or with ``writes`` (the store's group commit) in a transaction
    shared with the decisions other threads are storing at the same time.
    """
    city = city_state(session, city_name)
    body = normalized(request, city)
    request_sha = sha256_json(body)
    if idempotency_key is not None:
        earlier = _by_key(session, city, idempotency_key)
        if earlier is not None:
            return _replay(earlier, city, request_sha), False
    cached = cache.get_for(session, city, body["horizon"])
    result = decision_body(cached, body, solve_on(cached, body), stored=True, explain=True)
    decision = Decision(city_id=city.id, idempotency_key=idempotency_key, request=body,
                        request_sha256=request_sha, inputs_sha256=result["inputs_sha256"],
                        forecaster=cached.forecaster, result=result, token_id=token_id,
                        model_version_id=cached.model_version_id)
    try:
        if writes is None:
            session.add(decision)
            session.commit()
        else:  # committed with the other decisions being stored now
            session.rollback()  # first hand back this session's connection (only read):
            # the group's commit may need one, and the pool is finite
            writes.write(lambda shared: _store(shared, decision))
    except IntegrityError:  # a concurrent retry with the same key stored first
        session.rollback()  # (also ends the read snapshot, so the key's row is seen)
        earlier = _by_key(session, city, idempotency_key) if idempotency_key else None
        if earlier is None:
            raise
        return _replay(earlier, city, request_sha), False
    return _out(decision, city), True


def _store(session: Session, decision: Decision) -> None:
    session.add(decision)
    session.flush()


def _by_key(session: Session, city: City | CityState, key: str) -> Decision | None:
    return session.scalar(select(Decision).where(Decision.city_id == city.id,
                                                 Decision.idempotency_key == key))


def _replay(earlier: Decision, city: City | CityState, request_sha: str) -> dict[str, Any]:
    if earlier.request_sha256 != request_sha:
        raise Conflict(f"Idempotency-Key {earlier.idempotency_key!r} was used for decision "
                       f"{earlier.id} with a different request; use a new key")
    return _out(earlier, city)


def get_decision(session: Session, city_name: str, decision_id: int) -> dict[str, Any]:
    city = get_city(session, city_name)
    decision = session.get(Decision, decision_id)
    if decision is None or decision.city_id != city.id:
        raise NotFound(f"no decision {decision_id} for city {city.name!r}")
    return _out(decision, city)


def list_decisions(session: Session, city_name: str, limit: int = 20,
                   before: int | None = None) -> tuple[list[dict[str, Any]], int | None]:
    """The city's decisions, newest first, ``limit`` per page from ``before`` (an id);
    returns (summaries, the ``before`` of the next page or None)."""
    city = get_city(session, city_name)
    query = select(Decision).where(Decision.city_id == city.id)
    if before is not None:
        query = query.where(Decision.id < before)
    rows = list(session.scalars(query.order_by(Decision.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    items = [{"id": d.id, "created_at": d.created_at, "inputs_sha256": d.inputs_sha256,
              "family": d.request["family"], "budget": d.request["budget"],
              "units": d.request["units"], "horizon": d.request["horizon"],
              "objective": d.result["objective"], "shadow_price": d.result["shadow_price"]}
             for d in rows]
    return items, rows[-1].id if more and rows else None

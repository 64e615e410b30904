"""Outcomes as library functions: ``record_outcome`` (figures, then the retrain policy),
``performance`` (rolling per model version), the policy's ``get_policy``/``set_policy``."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from cityfocus.serve.cities.service import get_city
from cityfocus.serve.errors import Conflict, NotFound, Unprocessable
from cityfocus.serve.jobs.service import append_log, check_job, enqueue
from cityfocus.serve.models.service import active_version
from cityfocus.serve.outcomes.metrics import outcome_figures, task_of
from cityfocus.serve.outcomes.schemas import RetrainPolicyIn
from cityfocus.serve.store.tables import (
    City,
    Decision,
    Job,
    ModelVersion,
    Outcome,
    RetrainPolicy,
)


def record_outcome(session: Session, city_name: str, decision_id: int,
                   realized: dict[str, float]) -> dict[str, Any]:
    """Store what decision ``decision_id`` met and its figures; the city's retrain policy may
    then enqueue a retrain job (same transaction). Commits.

    Raises:
        NotFound: no such decision; Conflict: its outcome is already stored;
        Unprocessable: a zone unknown or missing, a value negative or not finite.
    """
    city = get_city(session, city_name)
    decision = session.get(Decision, decision_id)
    if decision is None or decision.city_id != city.id:
        raise NotFound(f"no decision {decision_id} for city {city.name!r}")
    zones = [z["zone"] for z in decision.result["zones"]]
    values = _realized_vector(realized, zones)
    w = np.array([z["w"] for z in decision.result["zones"]], dtype=np.float64)
    figures = outcome_figures(task_of(decision.request, zones), w, values)
    outcome = Outcome(decision_id=decision.id, city_id=city.id,
                      model_version_id=decision.model_version_id,
                      realized={z: float(v) for z, v in zip(zones, values, strict=True)},
                      regret=figures["regret"], oracle_objective=figures["oracle_objective"],
                      normalized_regret=figures["normalized_regret"],
                      hit_rate=figures["hit_rate"], pai=figures["pai"])
    session.add(outcome)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise Conflict(f"decision {decision_id} already has its outcome") from None
    job = _apply_policy(session, city)
    session.commit()
    return {**_outcome_out(outcome, city, _number(session, outcome.model_version_id)),
            "realized_objective": figures["realized_objective"],
            "retrain_job": None if job is None else job.id}


def _realized_vector(realized: dict[str, float], zones: list[str]) -> np.ndarray:
    known = set(zones)
    for zone, value in realized.items():
        if zone not in known:
            raise Unprocessable(f"unknown zone {zone!r}", ["body", "realized", zone])
        if not np.isfinite(value) or value < 0:
            raise Unprocessable("realized demand must be a finite number >= 0",
                                ["body", "realized", zone])
    missing = [z for z in zones if z not in realized]
    if missing:
        raise Unprocessable(f"every zone needs its realized demand; missing {missing[:5]}",
                            ["body", "realized", missing[0]])
    return np.array([realized[z] for z in zones], dtype=np.float64)


def _number(session: Session, version_id: int | None) -> int | None:
    if version_id is None:
        return None
    return session.scalar(select(ModelVersion.version).where(ModelVersion.id == version_id))


def _outcome_out(outcome: Outcome, city: City, version: int | None) -> dict[str, Any]:
    return {"id": outcome.id, "decision_id": outcome.decision_id, "city": city.name,
            "model_version": version, "realized": outcome.realized,
            "oracle_objective": outcome.oracle_objective,
            "realized_objective": outcome.oracle_objective - outcome.regret,
            "regret": outcome.regret, "normalized_regret": outcome.normalized_regret,
            "hit_rate": outcome.hit_rate, "pai": outcome.pai,
            "created_at": outcome.created_at}


def get_outcome(session: Session, city_name: str, decision_id: int) -> dict[str, Any]:
    city = get_city(session, city_name)
    outcome = session.scalar(select(Outcome).where(Outcome.decision_id == decision_id,
                                                   Outcome.city_id == city.id))
    if outcome is None:
        raise NotFound(f"decision {decision_id} of {city.name!r} has no outcome yet")
    return _outcome_out(outcome, city, _number(session, outcome.model_version_id))


def list_outcomes(session: Session, city_name: str, limit: int) -> list[dict[str, Any]]:
    """The city's last ``limit`` outcomes, newest first (without the per-zone realized
    demand: the history's rows)."""
    city = get_city(session, city_name)
    rows = _last(session, city, limit)
    numbers = {row.id: row.version for row in session.execute(
        select(ModelVersion.id, ModelVersion.version).where(ModelVersion.city_id == city.id))}
    return [{key: value for key, value in _outcome_out(
        o, city, None if o.model_version_id is None else numbers.get(o.model_version_id)
    ).items() if key != "realized"} for o in rows]


# -- rolling performance -----------------------------------------------------------------

def rolling(outcomes: list[Outcome]) -> dict[str, Any] | None:
    """The figures of ``outcomes`` pooled: mean regret, normalized regret (sum of regret over
    sum of |oracle objective|), mean hit rate and PAI (over those defined)."""
    if not outcomes:
        return None
    regret = sum(o.regret for o in outcomes)
    oracle = sum(abs(o.oracle_objective) for o in outcomes)
    hits = [o.hit_rate for o in outcomes if o.hit_rate is not None]
    pais = [o.pai for o in outcomes if o.pai is not None]
    return {"outcomes": len(outcomes), "mean_regret": regret / len(outcomes),
            "normalized_regret": regret / oracle if oracle > 0 else 0.0,
            "mean_hit_rate": sum(hits) / len(hits) if hits else None,
            "mean_pai": sum(pais) / len(pais) if pais else None,
            "first": min(o.created_at for o in outcomes),
            "last": max(o.created_at for o in outcomes)}


def _last(session: Session, city: City, window: int, **where: Any) -> list[Outcome]:
    query = select(Outcome).where(Outcome.city_id == city.id)
    if "version_id" in where:
        query = query.where(Outcome.model_version_id.is_(None) if where["version_id"] is None
                            else Outcome.model_version_id == where["version_id"])
    return list(session.scalars(query.order_by(Outcome.id.desc()).limit(window)))


def performance(session: Session, city_name: str, window: int) -> dict[str, Any]:
    """Rolling figures over the last ``window`` outcomes: the city's, and per model version
    (newest version first; the default forecaster's as version null, last)."""
    city = get_city(session, city_name)
    version_ids = list(session.scalars(select(Outcome.model_version_id)
                                       .where(Outcome.city_id == city.id).distinct()))
    numbers = {row_id: number for row_id, number in session.execute(
        select(ModelVersion.id, ModelVersion.version).where(ModelVersion.city_id == city.id))}
    versions = []
    for version_id in version_ids:
        figures = rolling(_last(session, city, window, version_id=version_id))
        if figures is not None:
            number = None if version_id is None else numbers.get(version_id)
            versions.append({"model_version": number, **figures})
    versions.sort(key=lambda v: -1 if v["model_version"] is None else v["model_version"],
                  reverse=True)
    overall = rolling(_last(session, city, window))
    return {"city": city.name, "window": window,
            "overall": None if overall is None else {"model_version": None, **overall},
            "versions": versions}


# -- the retrain policy ------------------------------------------------------------------

def _policy_out(policy: RetrainPolicy, city: City) -> dict[str, Any]:
    return {"city": city.name, "every": policy.every, "drift": policy.drift,
            "window": policy.window, "forecaster": policy.job.get("forecaster"),
            "params": policy.job.get("params", {}), "activate": policy.job.get("activate", True),
            "outcomes_at_last": policy.outcomes_at_last}


def get_policy(session: Session, city_name: str) -> dict[str, Any]:
    city = get_city(session, city_name)
    policy = session.get(RetrainPolicy, city.id)
    if policy is None:
        raise NotFound(f"city {city.name!r} has no retrain policy")
    return _policy_out(policy, city)


def set_policy(session: Session, city_name: str, body: RetrainPolicyIn) -> dict[str, Any]:
    """Set (replace) the city's retrain policy; counting starts from now. Commits."""
    city = get_city(session, city_name)
    if body.forecaster is not None:
        check_job(body.forecaster, body.params)
    count = _count(session, city)
    policy = session.get(RetrainPolicy, city.id)
    if policy is None:
        policy = RetrainPolicy(city_id=city.id)
        session.add(policy)
    policy.every, policy.drift, policy.window = body.every, body.drift, body.window
    policy.job = {"forecaster": body.forecaster, "params": body.params,
                  "activate": body.activate}
    policy.outcomes_at_last = count
    session.commit()
    return _policy_out(policy, city)


def _count(session: Session, city: City) -> int:
    return int(session.scalar(select(func.count()).select_from(Outcome)
                              .where(Outcome.city_id == city.id)) or 0)


def _apply_policy(session: Session, city: City) -> Job | None:
    """Enqueue a retrain job when the policy says so (``every`` outcomes since the last one,
    or drift: the normalized regret of the last ``window`` outcomes, all since the last
    retrain, above ``drift``); not committed."""
    policy = session.get(RetrainPolicy, city.id)
    if policy is None:
        return None
    count = _count(session, city)
    since = count - policy.outcomes_at_last
    reason = None
    if policy.every is not None and since >= policy.every:
        reason = f"{since} outcomes since the last retrain (every {policy.every})"
    elif policy.drift is not None and since >= policy.window:
        figures = rolling(_last(session, city, policy.window))
        if figures is not None and figures["normalized_regret"] > policy.drift:
            reason = (f"drift: normalized regret {figures['normalized_regret']:.4f} of the last "
                      f"{policy.window} outcomes exceeds {policy.drift}")
    if reason is None:
        return None
    forecaster, params = policy.job.get("forecaster"), dict(policy.job.get("params") or {})
    if forecaster is None:
        active = active_version(session, city)
        forecaster = "historical_average" if active is None else active.forecaster
        params = {} if active is None else _trainable(active.params)
    policy.outcomes_at_last = count
    job = enqueue(session, city, "retrain", forecaster, params,
                  bool(policy.job.get("activate", True)))
    job.log = append_log("", f"enqueued by the retrain policy: {reason}")
    return job


def _trainable(params: dict[str, Any]) -> dict[str, Any]:
    """A version's recorded params that a new training run takes again."""
    return {k: v for k, v in params.items() if v is not None and k != "task"}

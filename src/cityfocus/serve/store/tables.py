"""The store's tables (SQLAlchemy 2 declarative). The schema is owned by the Alembic
migrations in ``migrations/versions``: change a table here *and* add a revision there
(tests/serve/test_store.py checks the two agree).

Times are stored without an offset, on the city's own clock (an offset given by a client is
converted to UTC first; see docs/serve.md).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# BIGINT on PostgreSQL, INTEGER on SQLite (only INTEGER PRIMARY KEY autoincrements there)
BigId = BigInteger().with_variant(Integer(), "sqlite")


def utcnow() -> dt.datetime:
    """Now, in UTC, without an offset (how the store keeps wall-clock times)."""
    return dt.datetime.now(dt.UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class City(Base):
    """A city: its clock (``origin`` + k * ``freq_seconds``), features, target and card.

    ``data_version`` grows with every accepted observation batch, so a cached forecast knows
    when it is stale.
    """

    __tablename__ = "cities"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    freq_seconds: Mapped[int] = mapped_column(Integer)
    origin: Mapped[dt.datetime] = mapped_column(DateTime)
    features: Mapped[list[Any]] = mapped_column(JSON)
    target: Mapped[str] = mapped_column(String(128))
    edges: Mapped[list[Any]] = mapped_column(JSON)
    card: Mapped[dict[str, Any]] = mapped_column(JSON)
    data_version: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class Zone(Base):
    """A zone of a city; ``position`` is its index in the city's arrays."""

    __tablename__ = "zones"
    __table_args__ = (UniqueConstraint("city_id", "zone"), UniqueConstraint("city_id", "position"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    position: Mapped[int] = mapped_column(Integer)
    zone: Mapped[str] = mapped_column(String(128))
    name: Mapped[str] = mapped_column(String(256))
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)


class Observation(Base):
    """One value of one feature in one zone at one step; the key makes ingest idempotent
    (a re-sent row replaces the stored value)."""

    __tablename__ = "observations"

    city_id: Mapped[int] = mapped_column(
        ForeignKey("cities.id", ondelete="CASCADE"), primary_key=True)
    zone: Mapped[int] = mapped_column(Integer, primary_key=True)  # Zone.position
    feature: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # index in features
    time: Mapped[dt.datetime] = mapped_column(DateTime, primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    observed_by: Mapped[str] = mapped_column(String(16))  # "attention" | "full"
    received_at: Mapped[dt.datetime] = mapped_column(DateTime)


class Decision(Base):
    """A stored allocation with the request, the SHA-256 of every input it used, and its result."""

    __tablename__ = "decisions"
    __table_args__ = (UniqueConstraint("city_id", "idempotency_key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), nullable=True)
    request: Mapped[dict[str, Any]] = mapped_column(JSON)
    request_sha256: Mapped[str] = mapped_column(String(64))
    inputs_sha256: Mapped[str] = mapped_column(String(64), index=True)
    forecaster: Mapped[str] = mapped_column(String(64))
    result: Mapped[dict[str, Any]] = mapped_column(JSON)
    token_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # the model version the forecast came from (None: the default historical average)
    model_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Token(Base):
    """An API token: only the SHA-256 of its secret is kept."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    scope: Mapped[str] = mapped_column(String(16))  # "read" | "write" | "admin"
    cities: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)  # None: every city
    secret_sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)


class ModelVersion(Base):
    """A forecaster checkpoint registered for a city as version 1, 2, ... (per city).

    The checkpoint's bytes live in the row (``checkpoint``), so SQLite and PostgreSQL stores
    keep them alike and a version is written in the same transaction as its metadata; at most
    one version per city is ``active`` (a partial unique index).
    """

    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("city_id", "version"),
        Index("ux_model_versions_active", "city_id", unique=True,
              sqlite_where=text("active"), postgresql_where=text("active")),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    forecaster: Mapped[str] = mapped_column(String(64))
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    checkpoint: Mapped[bytes] = mapped_column(LargeBinary)
    checkpoint_sha256: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(32))  # "upload" | "job <id>"
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    active: Mapped[bool] = mapped_column(Boolean, default=False)


class Job(Base):
    """A background job (``train`` or ``retrain``) a worker process claims and runs."""

    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"),
                                         index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "train" | "retrain"
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)  # queued|running|done|failed
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    log: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    worker: Mapped[str | None] = mapped_column(String(128), nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)
    heartbeat: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime, nullable=True)
    model_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


class Outcome(Base):
    """What a decision then met: the realized demand per zone and the decision's figures."""

    __tablename__ = "outcomes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    decision_id: Mapped[int] = mapped_column(
        BigId, ForeignKey("decisions.id", ondelete="CASCADE"), unique=True)
    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"),
                                         index=True)
    model_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    realized: Mapped[dict[str, Any]] = mapped_column(JSON)
    regret: Mapped[float] = mapped_column(Float)
    oracle_objective: Mapped[float] = mapped_column(Float)
    normalized_regret: Mapped[float] = mapped_column(Float)
    hit_rate: Mapped[float | None] = mapped_column(Float, nullable=True)
    pai: Mapped[float | None] = mapped_column(Float, nullable=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime, default=utcnow)


class RetrainPolicy(Base):
    """When to enqueue a retrain job for a city: every ``every`` outcomes, or when the
    rolling normalized regret over the last ``window`` outcomes exceeds ``drift``."""

    __tablename__ = "retrain_policies"

    city_id: Mapped[int] = mapped_column(ForeignKey("cities.id", ondelete="CASCADE"),
                                         primary_key=True)
    every: Mapped[int | None] = mapped_column(Integer, nullable=True)
    drift: Mapped[float | None] = mapped_column(Float, nullable=True)
    window: Mapped[int] = mapped_column(Integer)
    job: Mapped[dict[str, Any]] = mapped_column(JSON)  # the retrain job's params
    outcomes_at_last: Mapped[int] = mapped_column(Integer, default=0)

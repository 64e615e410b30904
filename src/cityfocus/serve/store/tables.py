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
    DateTime,
    Float,
    ForeignKey,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
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

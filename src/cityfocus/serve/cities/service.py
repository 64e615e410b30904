"""Cities in the store: add one from a ``CityData`` (with its observations), describe it, and
read its observations back as a ``CityData`` for the forecasters."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, func, select
from sqlalchemy.orm import Session

from cityfocus.data.citydata import CityData
from cityfocus.data.timestep import format_freq
from cityfocus.serve.errors import NotFound
from cityfocus.serve.store.tables import City, ModelVersion, Observation, Zone


def card_summary(name: str) -> dict[str, Any]:
    """The dataset card of a built-in dataset in brief (empty when it has none)."""
    from cityfocus.data.cards import card_path, load_card

    if card_path(name) is None:
        return {}
    card = load_card(name)
    summary: dict[str, Any] = {"name": card.name, "description": card.description,
                               "units": card.units}
    if card.decision is not None:
        summary["decision"] = {"text": card.decision.decision, "horizon": card.decision.horizon,
                               "task": dict(card.decision.task)}
    return summary


def add_city(session: Session, data: CityData, *, name: str | None = None,
             card: dict[str, Any] | None = None, observed_by: str = "full") -> City:
    """Store ``data`` as a new city: its zones, clock, graph, card and every observed value.

    Commits. The observations go in with bulk inserts, like an ingest batch.
    """
    from cityfocus.serve.observations.service import bulk_upsert

    zones = data.zones
    edges: list[list[Any]] = []
    if data.adjacency is not None:
        ids = [str(z) for z in zones["id"]]
        rows, cols = np.nonzero(data.adjacency)
        edges = [[ids[i], ids[j], float(data.adjacency[i, j])]
                 for i, j in zip(rows.tolist(), cols.tolist(), strict=True) if i != j]
    city = City(name=name or data.name, freq_seconds=int(data.freq.total_seconds()),
                origin=pd.Timestamp(data.timestamps[0]).to_pydatetime(),
                features=list(data.features), target=data.target, edges=edges,
                card=card or {}, data_version=1)
    session.add(city)
    session.flush()
    for position, row in enumerate(zones.itertuples(index=False)):
        session.add(Zone(city_id=city.id, position=position, zone=str(row.id),
                         name=str(row.name), lat=_float(row.lat), lon=_float(row.lon)))
    t, n, f = np.nonzero(data.mask)
    times = [pd.Timestamp(x).to_pydatetime() for x in data.timestamps]
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    values = data.values[t, n, f].astype(float).tolist()
    rows_out = [{"city_id": city.id, "zone": zi, "feature": fi, "time": times[ti], "value": v,
                 "observed_by": observed_by, "received_at": now}
                for ti, zi, fi, v in zip(t.tolist(), n.tolist(), f.tolist(), values, strict=True)]
    bulk_upsert(session, rows_out)
    session.commit()
    return city


def _float(value: Any) -> float | None:
    return None if value is None or not np.isfinite(value) else float(value)


def get_city(session: Session, name: str) -> City:
    """The city called ``name``. Raises NotFound."""
    city = session.scalar(select(City).where(City.name == name))
    if city is None:
        raise NotFound(f"no city {name!r}")
    return city


@dataclass(frozen=True)
class CityState:
    """What a decision needs to know of a city now, read in one query (no graph, zones or
    features): its row id, name, card, ``data_version`` and active model version's row id."""

    id: int
    name: str
    card: dict[str, Any]
    data_version: int
    active_version_id: int | None


# built once: making the statement cost as much as running it (it is asked on every request)
_CITY_STATE = (select(City.id, City.name, City.card, City.data_version, ModelVersion.id)
               .outerjoin(ModelVersion, (ModelVersion.city_id == City.id)
                          & ModelVersion.active.is_(True))
               .where(City.name == bindparam("name")))


def city_state(session: Session, name: str) -> CityState:
    """The city called ``name`` as it is now. Raises NotFound."""
    row = session.execute(_CITY_STATE, {"name": name}).first()
    if row is None:
        raise NotFound(f"no city {name!r}")
    return CityState(id=row[0], name=row[1], card=row[2] if isinstance(row[2], dict) else {},
                     data_version=int(row[3]), active_version_id=row[4])


def list_cities(session: Session, allowed: list[str] | None = None) -> list[City]:
    """Every city (only those in ``allowed`` when given), by name."""
    query = select(City).order_by(City.name)
    if allowed is not None:
        query = query.where(City.name.in_(allowed))
    return list(session.scalars(query))


def city_zones(session: Session, city: City) -> list[Zone]:
    """The city's zones in array order."""
    return list(session.scalars(select(Zone).where(Zone.city_id == city.id)
                                .order_by(Zone.position)))


@dataclass(frozen=True)
class CityInfo:
    """What ``GET /cities/{city}`` answers (plain data, no ORM objects)."""

    name: str
    frequency: str
    features: list[str]
    target: str
    zones: list[dict[str, Any]]
    edges: list[list[Any]]
    card: dict[str, Any]
    observations: int
    first_time: dt.datetime | None
    last_time: dt.datetime | None


def describe_city(session: Session, name: str) -> CityInfo:
    """Everything a client needs to know about a city."""
    city = get_city(session, name)
    count, first, last = session.execute(
        select(func.count(), func.min(Observation.time), func.max(Observation.time))
        .where(Observation.city_id == city.id)).one()
    zones = [{"id": z.zone, "name": z.name, "lat": z.lat, "lon": z.lon}
             for z in city_zones(session, city)]
    return CityInfo(name=city.name, frequency=format_freq(dt.timedelta(seconds=city.freq_seconds)),
                    features=list(city.features), target=city.target, zones=zones,
                    edges=list(city.edges), card=dict(city.card), observations=int(count),
                    first_time=first, last_time=last)


def city_data(session: Session, city: City) -> CityData:
    """The city's stored observations as a ``CityData`` spanning its first to last observed
    step (steps and values never observed are masked out).

    Raises:
        NotFound: the city has no observations yet.
    """
    from cityfocus.errors import DataError

    zones = city_zones(session, city)
    rows = session.execute(
        select(Observation.time, Observation.zone, Observation.feature, Observation.value)
        .where(Observation.city_id == city.id)).all()
    if not rows:
        raise NotFound(f"city {city.name!r} has no observations yet")
    freq = pd.Timedelta(seconds=city.freq_seconds)
    times = pd.DatetimeIndex([r[0] for r in rows])
    start = times.min()
    t = ((times - start) // freq).to_numpy(dtype=np.int64)
    n = np.fromiter((r[1] for r in rows), dtype=np.int64, count=len(rows))
    f = np.fromiter((r[2] for r in rows), dtype=np.int64, count=len(rows))
    v = np.fromiter((r[3] for r in rows), dtype=np.float64, count=len(rows))
    shape = (int(t.max()) + 1, len(zones), len(city.features))
    values = np.zeros(shape, dtype=np.float32)
    mask = np.zeros(shape, dtype=bool)
    values[t, n, f] = v
    mask[t, n, f] = True
    table = pd.DataFrame({"id": [z.zone for z in zones], "name": [z.name for z in zones],
                          "lat": [z.lat for z in zones], "lon": [z.lon for z in zones]})
    position = {z.zone: z.position for z in zones}
    adjacency = None
    if city.edges:
        adjacency = np.zeros((len(zones), len(zones)))
        for a, b, w in city.edges:
            adjacency[position[a], position[b]] = w
    try:
        return CityData(values, pd.date_range(start, periods=shape[0], freq=freq), mask=mask,
                        zones=table, features=list(city.features), target=city.target,
                        adjacency=adjacency, freq=freq, name=city.name)
    except DataError as err:  # pragma: no cover - the ingest checks keep the store valid
        raise NotFound(f"city {city.name!r}: stored data is unusable: {err}") from None

"""Model versions as library functions: ``register_version`` (checked without torch),
``list_versions``, ``activate_version``, ``active_version``."""

from __future__ import annotations

import base64
import binascii
import hashlib
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from cityfocus.serve.cities.service import get_city
from cityfocus.serve.errors import NotFound, Unprocessable
from cityfocus.serve.models.checkpoint import (
    FORECASTERS,
    CheckpointError,
    average_checkpoint,
    inspect_checkpoint,
)
from cityfocus.serve.store.tables import City, ModelVersion


def version_out(version: ModelVersion, city: City) -> dict[str, Any]:
    return {"id": version.id, "city": city.name, "version": version.version,
            "forecaster": version.forecaster, "params": version.params,
            "checkpoint_sha256": version.checkpoint_sha256,
            "checkpoint_bytes": len(version.checkpoint), "source": version.source,
            "created_at": version.created_at, "active": version.active}


def decode_upload(forecaster: str, checkpoint_base64: str | None,
                  params: dict[str, Any]) -> tuple[bytes, dict[str, Any]]:
    """The checkpoint's bytes and the version's params from an upload.

    Raises:
        Unprocessable: an unknown forecaster, bad base64, or a checkpoint that is not of
            ``forecaster`` (checked by ``inspect_checkpoint``, never unpickled here).
    """
    if forecaster not in FORECASTERS:
        raise Unprocessable(f"unknown forecaster {forecaster!r}; choose one of "
                            f"{', '.join(FORECASTERS)}", ["body", "forecaster"])
    try:
        if checkpoint_base64 is None:
            if forecaster != "historical_average":
                raise Unprocessable(f"{forecaster} needs checkpoint_base64 (the file its "
                                    "save() wrote)", ["body", "checkpoint_base64"])
            blob = average_checkpoint(params)
        else:
            blob = base64.b64decode(checkpoint_base64, validate=True)
        info = inspect_checkpoint(blob)
    except binascii.Error:
        raise Unprocessable("checkpoint_base64 is not base64", ["body", "checkpoint_base64"]
                            ) from None
    except CheckpointError as err:
        raise Unprocessable(str(err), ["body", "checkpoint_base64"]) from None
    if info.forecaster != forecaster:
        raise Unprocessable(f"the checkpoint is a {info.forecaster}, not a {forecaster}",
                            ["body", "forecaster"])
    return blob, {**params, **info.params}


def register_version(session: Session, city_name: str, forecaster: str, blob: bytes,
                     params: dict[str, Any], source: str = "upload",
                     activate: bool = False) -> dict[str, Any]:
    """Store ``blob`` (already checked) as the city's next version. Commits."""
    city = get_city(session, city_name)
    latest = session.scalar(select(func.max(ModelVersion.version))
                            .where(ModelVersion.city_id == city.id))
    version = ModelVersion(city_id=city.id, version=(latest or 0) + 1, forecaster=forecaster,
                           params=params, checkpoint=blob,
                           checkpoint_sha256=hashlib.sha256(blob).hexdigest(), source=source,
                           active=False)
    session.add(version)
    session.flush()
    if activate:
        _activate(session, city, version)
    session.commit()
    return version_out(version, city)


def list_versions(session: Session, city_name: str) -> list[dict[str, Any]]:
    """The city's versions, newest first."""
    city = get_city(session, city_name)
    rows = session.scalars(select(ModelVersion).where(ModelVersion.city_id == city.id)
                           .order_by(ModelVersion.version.desc()))
    return [version_out(v, city) for v in rows]


def activate_version(session: Session, city_name: str, number: int) -> dict[str, Any]:
    """Make version ``number`` the city's active one (the previous one is deactivated in the
    same transaction). Commits. Raises NotFound."""
    city = get_city(session, city_name)
    version = session.scalar(select(ModelVersion).where(ModelVersion.city_id == city.id,
                                                        ModelVersion.version == number))
    if version is None:
        raise NotFound(f"no model version {number} for city {city.name!r}")
    _activate(session, city, version)
    session.commit()
    return version_out(version, city)


def _activate(session: Session, city: City, version: ModelVersion) -> None:
    # deactivate first: the partial unique index allows one active row per city
    session.execute(update(ModelVersion).where(ModelVersion.city_id == city.id,
                                               ModelVersion.active.is_(True))
                    .values(active=False))
    session.flush()
    version.active = True
    session.flush()


def active_version(session: Session, city: City) -> ModelVersion | None:
    """The city's active version (None: decisions use the default historical average)."""
    return session.scalar(select(ModelVersion).where(ModelVersion.city_id == city.id,
                                                     ModelVersion.active.is_(True)))

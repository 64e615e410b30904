"""``/cities/{city}/models``: register a checkpoint as a version, list, activate one."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from cityfocus.serve.auth import require
from cityfocus.serve.contract import TokenId, error_responses
from cityfocus.serve.deps import get_session
from cityfocus.serve.models.schemas import ModelUpload, ModelVersionOut
from cityfocus.serve.models.service import (
    activate_version,
    decode_upload,
    list_versions,
    register_version,
)

router = APIRouter(prefix="/cities/{city}/models", tags=["models"],
                   responses=error_responses(400, 401, 403, 404))


@router.post("", response_model=ModelVersionOut, status_code=201,
             dependencies=[Depends(require("admin"))])
def post_model(city: str, body: ModelUpload,
               session: Session = Depends(get_session)) -> ModelVersionOut:
    """Register a checkpoint as the city's next version (its schema checked without loading
    it); ``activate`` makes decisions use it at once."""
    blob, params = decode_upload(body.forecaster, body.checkpoint_base64, body.params)
    return ModelVersionOut.model_validate(register_version(
        session, city, body.forecaster, blob, params, activate=body.activate))


@router.get("", response_model=list[ModelVersionOut], dependencies=[Depends(require("read"))])
def get_models(city: str, session: Session = Depends(get_session)) -> list[ModelVersionOut]:
    """The city's model versions, newest first."""
    return [ModelVersionOut.model_validate(v) for v in list_versions(session, city)]


@router.post("/{version}/activate", response_model=ModelVersionOut,
             dependencies=[Depends(require("admin"))])
def post_activate(city: str, version: TokenId,
                  session: Session = Depends(get_session)) -> ModelVersionOut:
    """Make ``version`` the one decisions use (the previous active version is kept, inactive)."""
    return ModelVersionOut.model_validate(activate_version(session, city, version))

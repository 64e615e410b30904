"""``/tokens``: token administration (an admin token for every city)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from cityfocus.errors import CityfocusError
from cityfocus.serve.auth import require
from cityfocus.serve.contract import GUARDED, TokenId, error_responses
from cityfocus.serve.deps import get_session
from cityfocus.serve.errors import Unprocessable
from cityfocus.serve.store.tables import Token
from cityfocus.serve.tokens.schemas import TokenCreate, TokenCreated, TokenOut, WhoAmI
from cityfocus.serve.tokens.service import create_token, list_tokens, revoke_token

router = APIRouter(prefix="/tokens", tags=["tokens"],
                   dependencies=[Depends(require("admin", all_cities=True))],
                   responses=GUARDED)


@router.get("", response_model=list[TokenOut])
def get_tokens(session: Session = Depends(get_session)) -> list[TokenOut]:
    """Every token (never a secret)."""
    return [TokenOut(**asdict(t)) for t in list_tokens(session)]


@router.post("", response_model=TokenCreated, status_code=201,
             responses=error_responses(400))
def post_token(body: TokenCreate, session: Session = Depends(get_session)) -> TokenCreated:
    """A new token; its secret is in this answer only."""
    try:
        info, secret = create_token(session, body.scope, body.cities, body.name)
    except CityfocusError as err:
        raise Unprocessable(str(err).replace("--city", "city"), ["body", "cities"]) from None
    return TokenCreated(**asdict(info), secret=secret)


@router.delete("/{token_id}", response_model=TokenOut, responses=error_responses(404))
def delete_token(token_id: TokenId, session: Session = Depends(get_session)) -> TokenOut:
    """Revoke a token: it answers 401 from now on."""
    return TokenOut(**asdict(revoke_token(session, token_id)))


me_router = APIRouter(tags=["tokens"], responses=GUARDED)


@me_router.get("/me", response_model=WhoAmI)
def get_me(token: Token = Depends(require("read"))) -> WhoAmI:
    """The token this request carries: its id, name, scope and cities (never its secret)."""
    cities = None if token.cities is None else [str(c) for c in token.cities]
    return WhoAmI.model_validate({"id": token.id, "name": token.name, "scope": token.scope,
                                  "cities": cities})

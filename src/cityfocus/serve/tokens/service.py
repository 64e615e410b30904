"""API tokens. A token reads ``cf_<id>_<secret>``; the store keeps only the SHA-256 of the
secret, looked up by id and compared in constant time. Scopes nest: ``write`` may read,
``admin`` may do everything; a token limited to cities may touch only those cities (and may
not administer tokens)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from cityfocus.errors import CityfocusError
from cityfocus.serve.errors import Forbidden, NotFound, Unauthorized
from cityfocus.serve.store.engine import shown_url
from cityfocus.serve.store.tables import City, Token, utcnow

SCOPES = ("read", "write", "admin")
_LEVEL = {scope: level for level, scope in enumerate(SCOPES)}
_FORMAT = re.compile(r"cf_([0-9]{1,12})_([A-Za-z0-9_-]{20,128})")
_MAX_ID = 2**31 - 1  # tokens.id is a 32-bit INTEGER: a larger id names no token


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenInfo:
    """A token as listed (never its secret)."""

    id: int
    name: str
    scope: str
    cities: list[str] | None
    created_at: str
    revoked: bool

    @classmethod
    def of(cls, token: Token) -> TokenInfo:
        return cls(id=token.id, name=token.name, scope=token.scope,
                   cities=None if token.cities is None else [str(c) for c in token.cities],
                   created_at=token.created_at.isoformat(timespec="seconds"),
                   revoked=token.revoked_at is not None)


def create_token(session: Session, scope: str, cities: Sequence[str] | None = None,
                 name: str | None = None) -> tuple[TokenInfo, str]:
    """A new token and its secret (shown once: the store keeps only its hash). Commits.

    Raises:
        CityfocusError: an unknown scope or city.
    """
    if scope not in _LEVEL:
        raise CityfocusError(f"--scope {scope!r}: give one of {', '.join(SCOPES)}")
    limited = None if not cities else sorted(set(cities))
    if limited:
        known = set(session.scalars(select(City.name)))
        unknown = [c for c in limited if c not in known]
        if unknown:
            raise CityfocusError(f"--city {unknown[0]!r}: no such city; the store has "
                                 f"{', '.join(sorted(known)) or 'no cities'}")
    secret = secrets.token_urlsafe(32)
    token = Token(name=name or f"{scope} token", scope=scope, cities=limited,
                  secret_sha256=_digest(secret))
    session.add(token)
    session.commit()
    return TokenInfo.of(token), f"cf_{token.id}_{secret}"


def list_tokens(session: Session) -> list[TokenInfo]:
    return [TokenInfo.of(t) for t in session.scalars(select(Token).order_by(Token.id))]


def count_tokens(session: Session) -> int:
    return int(session.scalar(select(func.count()).select_from(Token)) or 0)


def revoke_token(session: Session, token_id: int) -> TokenInfo:
    """Revoke a token (it answers 401 from now on). Commits. Raises NotFound."""
    token = session.get(Token, token_id)
    if token is None:
        raise NotFound(f"no token {token_id}")
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        session.commit()
    VERIFIED.forget(_database(session), token_id)
    return TokenInfo.of(token)


def verify(session: Session, presented: str | None) -> Token:
    """The live token ``presented`` is. Raises Unauthorized (missing, malformed, unknown,
    wrong secret or revoked: the same answer for all)."""
    match = _FORMAT.fullmatch(presented or "")
    token_id = int(match.group(1)) if match else 0
    token = session.get(Token, token_id) if 0 < token_id <= _MAX_ID else None
    expected = token.secret_sha256 if token is not None else "0" * 64
    given = _digest(match.group(2)) if match else ""
    if not hmac.compare_digest(expected, given) or token is None or token.revoked_at:
        raise Unauthorized("missing, unknown or revoked token (send Authorization: Bearer "
                           "<token>)")
    return token


VERIFY_SECONDS = 2.0
"""How long a verified token is trusted without asking the store again. A revocation takes
effect at once in the process that revoked it, and within this time in every other one."""


class VerifiedTokens:
    """Tokens the store verified in the last ``seconds``, by (database, presented token): a
    request with a recently verified token skips the store's round trip. Only live tokens
    are kept; a revocation in this process forgets the token at once. Thread-safe."""

    def __init__(self, seconds: float = VERIFY_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self.clock = clock
        self._kept: dict[tuple[str, str], tuple[float, Token]] = {}
        self._lock = threading.Lock()

    def get(self, database: str, presented: str) -> Token | None:
        """The token ``presented`` was verified as within ``seconds``, else None."""
        with self._lock:
            kept = self._kept.get((database, presented))
        if kept is None or self.clock() - kept[0] > self.seconds:
            return None
        return kept[1]

    def put(self, database: str, presented: str, token: Token) -> None:
        now = self.clock()
        with self._lock:
            if len(self._kept) > 10_000:  # many tokens in turn: drop the expired ones
                self._kept = {k: v for k, v in self._kept.items()
                              if now - v[0] <= self.seconds}
            self._kept[(database, presented)] = (now, token)

    def forget(self, database: str, token_id: int) -> None:
        """Drop ``token_id`` of ``database`` (it was just revoked)."""
        with self._lock:
            self._kept = {k: v for k, v in self._kept.items()
                          if not (k[0] == database and v[1].id == token_id)}


VERIFIED = VerifiedTokens()
"""The process's verified tokens (``verify_recent`` fills it, ``revoke_token`` empties it)."""


def _database(session: Session) -> str:
    """Which database ``session`` works on (token ids are unique only within one): the
    same string as ``Store.database``."""
    return shown_url(session.get_bind().engine.url)


def verify_recent(session: Session, presented: str | None,
                  kept: VerifiedTokens = VERIFIED) -> Token:
    """``verify``, trusting a verification of the same token made within ``kept.seconds``.
    The token returned is detached from ``session`` (read its attributes only)."""
    database = _database(session)
    if presented:
        token = kept.get(database, presented)
        if token is not None:
            return token
    token = verify(session, presented)
    session.expunge(token)
    kept.put(database, presented or "", token)
    return token


def authorize(token: Token, scope: str, city: str | None = None,
              all_cities: bool = False) -> None:
    """Raise Forbidden unless ``token`` has ``scope`` (or a higher one) and may touch
    ``city`` (``all_cities``: the action is not limited to one city)."""
    if _LEVEL[token.scope] < _LEVEL[scope]:
        raise Forbidden(f"this token's scope is {token.scope}; the request needs {scope}")
    if token.cities is not None:
        if all_cities:
            raise Forbidden("this token is limited to cities; the request needs a token for "
                            "every city")
        if city is not None and city not in token.cities:
            raise Forbidden(f"this token is not for city {city!r}")

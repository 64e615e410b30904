"""The contract of ``/tokens`` (token administration, admin scope)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class TokenOut(BaseModel):
    id: int
    name: str
    scope: str
    cities: list[str] | None = Field(description="null: every city")
    created_at: str
    revoked: bool


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    scope: Literal["read", "write", "admin"]
    cities: list[str] | None = None
    name: str | None = Field(None, max_length=128)


class TokenCreated(TokenOut):
    secret: str = Field(description="the token; shown once, the store keeps only its hash")


class WhoAmI(BaseModel):
    """The token the request was made with (``GET /me``): what a client may offer its user."""

    id: int
    name: str
    scope: Literal["read", "write", "admin"]
    cities: list[str] | None = Field(description="null: every city")

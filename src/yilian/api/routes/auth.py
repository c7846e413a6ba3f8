"""Sign-in: a username and password (argon2) for a short-lived access token."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Request
from pydantic import Field

from yilian.api.deps import AppSettings, Engine
from yilian.api.models.me import LoginResponse, SignedInUser
from yilian.api.schemas import RequestBody
from yilian.api.security import issue_token
from yilian.api.sign_in_service import Attempt, sign_in_user

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@router.post("/login")
async def login(body: LoginRequest, request: Request, settings: AppSettings, engine: Engine) -> LoginResponse:
    """A token for the right password; 429 sign_in_locked (details.retry_after_seconds) after too many wrong ones
    for the account or from the address, with waits that double (docs/security.md)."""
    address = request.client.host if request.client else None
    user = await sign_in_user(engine, Attempt(body.username, body.password, address, datetime.now(UTC)))
    token, ttl = issue_token(settings, user["id"], user["role"], user["hospital_id"], user["token_generation"])
    return LoginResponse(
        access_token=token,
        expires_in=int(ttl.total_seconds()),
        user=SignedInUser(id=user["id"], name=user["display_name"], role=user["role"], hospital_id=user["hospital_id"]),
    )

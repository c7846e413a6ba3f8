"""Sign-in: a username and password (argon2) for a short-lived access token."""

from __future__ import annotations

from fastapi import APIRouter
from pydantic import Field

from yilian.api.deps import AppSettings, Engine
from yilian.api.models.me import LoginResponse, SignedInUser
from yilian.api.schemas import RequestBody
from yilian.api.security import DUMMY_HASH, issue_token, verify_password
from yilian.db.queries import alliance
from yilian.domain.errors import ErrorCode, YilianError

router = APIRouter(prefix="/api/auth", tags=["auth"])


class LoginRequest(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


@router.post("/login")
async def login(body: LoginRequest, settings: AppSettings, engine: Engine) -> LoginResponse:
    async with engine.connect() as conn:
        user = await alliance.get_user_by_username(conn, body.username)
    ok = verify_password(user["password_hash"] if user else DUMMY_HASH, body.password)
    if user is None or not ok or not user["active"]:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "wrong username or password")
    token, ttl = issue_token(settings, user["id"], user["role"], user["hospital_id"])
    return LoginResponse(
        access_token=token,
        expires_in=int(ttl.total_seconds()),
        user=SignedInUser(id=user["id"], name=user["display_name"], role=user["role"], hospital_id=user["hospital_id"]),
    )

"""Sign-in (argon2 passwords, short-lived JWT) and the dependencies that identify and authorise callers."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from yilian.api.schemas import RequestBody
from yilian.db.queries import alliance
from yilian.db.queries import api_key as api_key_queries
from yilian.domain import api_key
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/auth", tags=["auth"])
_hasher = PasswordHasher()
_bearer = HTTPBearer(auto_error=False)
# Verifying against a dummy hash keeps the timing of "no such user" and "wrong password" alike.
_DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


class LoginRequest(RequestBody):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class LoginResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    user: dict[str, Any]


@router.post("/login", response_model=LoginResponse)
async def login(body: LoginRequest, request: Request) -> LoginResponse:
    state = request.app.state
    async with state.engine.connect() as conn:
        user = await alliance.get_user_by_username(conn, body.username)
    ok = _verify(user["password_hash"] if user else _DUMMY_HASH, body.password)
    if user is None or not ok or not user["active"]:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "wrong username or password")
    ttl = timedelta(minutes=state.settings.jwt_ttl_minutes)
    claims = {
        "sub": user["id"],
        "role": user["role"],
        "hospital_id": user["hospital_id"],
        "exp": datetime.now(UTC) + ttl,
        "iat": datetime.now(UTC),
    }
    token = jwt.encode(claims, state.settings.jwt_secret, algorithm="HS256")
    return LoginResponse(
        access_token=token,
        expires_in=int(ttl.total_seconds()),
        user={"id": user["id"], "name": user["display_name"], "role": user["role"], "hospital_id": user["hospital_id"]},
    )


async def current_principal(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    if creds is None or creds.scheme.lower() != "bearer":
        raise YilianError(ErrorCode.UNAUTHENTICATED, "sign in first: send Authorization: Bearer <token>")
    state = request.app.state
    try:
        claims = jwt.decode(creds.credentials, state.settings.jwt_secret, algorithms=["HS256"])
    except jwt.ExpiredSignatureError as exc:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the session has expired: sign in again") from exc
    except jwt.PyJWTError as exc:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the access token is not valid") from exc
    # The database, not the token, has the last word: a deactivated user is out at once.
    async with state.engine.connect() as conn:
        user = await alliance.principal_row(conn, str(claims.get("sub")))
    if user is None or not user["active"]:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "this account is no longer active")
    licensed = frozenset(user["licensed_for"] or ())
    return Principal(user["id"], Role(user["role"]), user["hospital_id"], user["display_name"], licensed)


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


async def principal_or_gateway(
    request: Request, creds: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]
) -> Principal:
    """A signed-in person, or a hospital's gateway presenting the hospital's API key (DICOMweb only)."""
    if creds is None or not creds.credentials.startswith(api_key.PREFIX):
        return await current_principal(request, creds)
    parsed = api_key.parse(creds.credentials)
    if parsed is not None:
        async with request.app.state.engine.connect() as conn:
            row = await api_key_queries.active_key(conn, parsed[0])
        if row is not None and api_key.matches(parsed[1], row["secret_sha256"]):
            return Principal(f"api-key:{row['id']}", Role.GATEWAY, row["hospital_id"], row["label"])
    raise YilianError(ErrorCode.UNAUTHENTICATED, "the API key is not valid or has been revoked")


def require_role(*roles: Role) -> Callable[[Principal], Coroutine[Any, Any, Principal]]:
    async def dependency(principal: CurrentPrincipal) -> Principal:
        if principal.role not in roles:
            raise YilianError(
                ErrorCode.FORBIDDEN,
                f"this needs the role {' or '.join(roles)}",
                {"role": principal.role, "required": list(roles)},
            )
        return principal

    return dependency

"""Passwords (argon2) and access tokens (short-lived HS256 JWTs): issuing and checking them, nothing else."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from yilian.config import Settings
from yilian.domain.errors import ErrorCode, YilianError

_hasher = PasswordHasher()
# Verifying against a dummy hash keeps the timing of "no such user" and "wrong password" alike.
DUMMY_HASH = _hasher.hash("not-a-real-password")


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# A token must say whose it is, when it was issued, when it ends and which of the user's generations it belongs to
# (the generation rises on a password change or deactivation, which ends every token issued before).
REQUIRED_CLAIMS = ["sub", "iat", "exp", "gen"]


def issue_token(
    settings: Settings, user_id: str, role: str, hospital_id: str | None, generation: int
) -> tuple[str, timedelta]:
    ttl = timedelta(minutes=settings.jwt_ttl_minutes)
    now = datetime.now(UTC)
    claims = {
        "sub": user_id, "role": role, "hospital_id": hospital_id, "exp": now + ttl, "iat": now, "gen": generation,
    }  # fmt: skip
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256"), ttl


def token_claims(settings: Settings, token: str) -> dict[str, Any]:
    """The token's claims, or UNAUTHENTICATED in words a person can act on."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.jwt_secret, algorithms=["HS256"], options={"require": REQUIRED_CLAIMS}
        )
    except jwt.ExpiredSignatureError as exc:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the session has expired: sign in again") from exc
    except jwt.PyJWTError as exc:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the access token is not valid") from exc
    if not isinstance(claims["gen"], int) or not isinstance(claims["sub"], str):
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the access token is not valid")
    return claims


def current_generation(claims: dict[str, Any], user: dict[str, Any]) -> bool:
    """Whether the token was issued since the user's last password change or deactivation."""
    return bool(claims["gen"] == user["token_generation"])


# A patient's token (cloud film): its own audience, so it is no staff token (token_claims refuses an audience it did
# not ask for) and a staff token is no patient's. The subject is the regional patient.
PATIENT_AUDIENCE = "yilian-patient"


def issue_patient_token(settings: Settings, regional_patient_id: str, via: str) -> tuple[str, timedelta]:
    ttl = timedelta(minutes=settings.patient_session_minutes)
    now = datetime.now(UTC)
    claims = {"sub": regional_patient_id, "aud": PATIENT_AUDIENCE, "via": via, "iat": now, "exp": now + ttl}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256"), ttl


def patient_claims(settings: Settings, token: str) -> dict[str, Any]:
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.jwt_secret, algorithms=["HS256"], audience=PATIENT_AUDIENCE,
            options={"require": ["sub", "iat", "exp", "aud"]},
        )  # fmt: skip
    except jwt.ExpiredSignatureError as exc:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the session has expired: sign in again") from exc
    except jwt.PyJWTError as exc:
        raise YilianError(ErrorCode.UNAUTHENTICATED, "sign in with your phone first") from exc
    if not isinstance(claims["sub"], str):
        raise YilianError(ErrorCode.UNAUTHENTICATED, "the access token is not valid")
    return claims


# A clinician's viewer session from a patient's QR: a token of its own audience whose subject is the grant; the
# grant is read again on every request, so a revoked QR stops working at once.
GRANT_AUDIENCE = "yilian-film-grant"


def issue_grant_token(settings: Settings, grant_id: str, expires_at: datetime) -> str:
    claims = {"sub": grant_id, "aud": GRANT_AUDIENCE, "iat": datetime.now(UTC), "exp": expires_at}
    return jwt.encode(claims, settings.jwt_secret, algorithm="HS256")


def grant_claims(settings: Settings, token: str) -> dict[str, Any] | None:
    """The claims of a genuine, unexpired grant token; None for any other token (a staff token, say)."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, settings.jwt_secret, algorithms=["HS256"], audience=GRANT_AUDIENCE,
            options={"require": ["sub", "exp", "aud"]},
        )  # fmt: skip
    except jwt.PyJWTError:
        return None
    return claims if isinstance(claims["sub"], str) else None


class CheckedTokens:
    """Tokens whose signature and claims were checked, with their claims, for reuse until they expire.

    Checking a token depends only on the token, the secret and the clock, so a token checked once passes again
    until its `exp`: the check (two HMACs for a DICOMweb caller: grant token or not, then the person's token) need
    not be repeated on each of a viewer's hundreds of requests. What ends a token early (a password change,
    deactivation, a withdrawn QR) is in the database, which each request still reads. Keyed by the whole token and
    its kind (staff or grant), so a token is only ever taken for what it was checked as.
    """

    STAFF, GRANT = "staff", "grant"

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._found: dict[str, tuple[str, dict[str, Any]]] = {}

    def get(self, token: str, kind: str) -> dict[str, Any] | None:
        found = self._found.get(token)
        if found is None or found[0] != kind or found[1]["exp"] <= time.time():
            return None  # an expired token is checked again, and refused with the reason
        return found[1]

    def put(self, token: str, kind: str, claims: dict[str, Any]) -> None:
        if len(self._found) >= self.size:
            self._found.clear()  # a burst of sign-ins: start again rather than track ages
        self._found[token] = (kind, claims)

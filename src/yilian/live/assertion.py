"""The API's signed word about who joins a live room: HS256 with the shared secret, checked by the live process."""

from __future__ import annotations

import time

import jwt
from pydantic import ValidationError

from yilian.live.protocol import ASSERTION_AUDIENCE, ASSERTION_TTL_SECONDS, LiveAssertion


class InvalidAssertion(Exception):
    """Missing, forged, expired, for another audience, or not the claims we expect."""


def sign_assertion(claims: LiveAssertion, secret: str, *, now: float | None = None) -> str:
    """What the API puts into the browser's `Join` after authenticating the user and checking the invitation."""
    issued = time.time() if now is None else now
    payload = {
        **claims.model_dump(mode="json"),
        "aud": ASSERTION_AUDIENCE,
        "iat": int(issued),
        "exp": int(issued) + ASSERTION_TTL_SECONDS,
    }
    return jwt.encode(payload, secret, algorithm="HS256")


def verify_assertion(token: str | None, secret: str) -> LiveAssertion:
    if not token:
        raise InvalidAssertion("no assertion: joins are relayed by the API, which signs them")
    try:
        payload = jwt.decode(
            token, secret, algorithms=["HS256"], audience=ASSERTION_AUDIENCE, options={"require": ["exp", "aud"]}
        )
    except jwt.PyJWTError as exc:
        raise InvalidAssertion(f"assertion refused: {exc}") from exc
    for registered in ("aud", "iat", "exp"):
        payload.pop(registered, None)
    try:
        return LiveAssertion.model_validate(payload)
    except ValidationError as exc:
        raise InvalidAssertion("assertion claims malformed") from exc

"""Hospital API keys: `ylk_<id>_<secret>`, where only the SHA-256 of the secret is kept."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX = "ylk_"
_FORMAT = re.compile(r"ylk_([0-9a-f]{16})_([A-Za-z0-9_-]{43})")


@dataclass(frozen=True)
class IssuedKey:
    key_id: str
    token: str  # shown once, never stored
    secret_sha256: str


def issue() -> IssuedKey:
    key_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    return IssuedKey(key_id, f"{PREFIX}{key_id}_{secret}", digest(secret))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def parse(token: str) -> tuple[str, str] | None:
    """(key id, secret) of a well-formed key, else None."""
    found = _FORMAT.fullmatch(token)
    return (found.group(1), found.group(2)) if found else None


def matches(secret: str, stored_sha256: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_sha256)

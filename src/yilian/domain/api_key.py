"""Hospital API keys: `ylk_<id>_<secret>`, where only the SHA-256 of the secret is kept."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from enum import StrEnum

PREFIX = "ylk_"
# The actor id a key acts as (audit trails, `received_by`): the key's id, never its secret.
ACTOR_PREFIX = "api-key:"


class KeyScope(StrEnum):
    """What a gateway may do with the key (docs/gateway.md)."""

    STORE = "store"  # store images, and fetch the hospital's signed reports for its PACS; read nothing else
    STORE_RETRIEVE = "store_retrieve"  # also search and retrieve the hospital's own studies (C-FIND, C-MOVE)


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


def actor_id(key_id: str) -> str:
    return f"{ACTOR_PREFIX}{key_id}"


def key_id_of(actor: str) -> str:
    return actor.removeprefix(ACTOR_PREFIX)

"""Patient share links (云胶片): unguessable tokens that can be shown again, expire and be revoked.

A token is `<link id>.<HMAC(secret, link id)>`. The database keeps only the link id, so a leaked table
does not leak working links, and the county can reprint a patient's QR slip at any time.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from yilian.domain.errors import ErrorCode

MAX_FAILED_ATTEMPTS = 5
# Each lock lasts twice the one before; the MAX_LOCKS-th holds until the link expires (the county makes a new one),
# so a 30-day link allows about 20 wrong birth dates, not thousands.
FIRST_LOCK = timedelta(minutes=15)
MAX_LOCKS = 4


def locked_until(wrong_dates: int, now: datetime, expires_at: datetime) -> datetime:
    """When a link locked after its `wrong_dates`-th wrong birth date (a multiple of MAX_FAILED_ATTEMPTS) opens."""
    lock = max(1, wrong_dates // MAX_FAILED_ATTEMPTS)
    if lock >= MAX_LOCKS:
        return expires_at
    return min(now + FIRST_LOCK * (1 << (lock - 1)), expires_at)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def new_link_id() -> str:
    return _b64(secrets.token_bytes(16))


def return_link_id(secret: str, referral_id: str) -> str:
    """The link made when a report is returned: derived, so a retried activity makes the same link."""
    return _b64(hmac.new(secret.encode(), f"return/{referral_id}".encode(), hashlib.sha256).digest()[:16])


def token_for(secret: str, link_id: str) -> str:
    mac = hmac.new(secret.encode(), f"share/{link_id}".encode(), hashlib.sha256).digest()[:18]
    return f"{link_id}.{_b64(mac)}"


def link_id_from_token(secret: str, token: str) -> str | None:
    """The link id if the token is genuine, else None (constant-time comparison)."""
    link_id, _, _mac = token.partition(".")
    if not link_id or not _mac:
        return None
    # Compare bytes: compare_digest refuses non-ASCII str, and a URL may carry anything.
    return link_id if hmac.compare_digest(token_for(secret, link_id).encode(), token.encode()) else None


@dataclass(frozen=True)
class LinkStatus:
    expires_at: datetime
    revoked_at: datetime | None
    locked_until: datetime | None


def refusal(link: LinkStatus, now: datetime) -> ErrorCode | None:
    """Why the link cannot be used now, or None."""
    if link.revoked_at is not None:
        return ErrorCode.SHARE_LINK_REVOKED
    if now >= link.expires_at:
        return ErrorCode.SHARE_LINK_EXPIRED
    if link.locked_until is not None and now < link.locked_until:
        return ErrorCode.SHARE_LINK_LOCKED
    return None


def second_factor_ok(given: date, birth_date: date) -> bool:
    return given == birth_date


# Key images on the patient's page: a short-lived signature per image, given out only after the birth date
# matched, so an image URL alone (from a browser history, say) stops working within the hour.
KEY_IMAGE_TTL_SECONDS = 3600


def key_image_signature(secret: str, link_id: str, sop_instance_uid: str, expires: int) -> str:
    message = f"key-image/{link_id}/{sop_instance_uid}/{expires}".encode()
    return _b64(hmac.new(secret.encode(), message, hashlib.sha256).digest()[:18])


def key_image_signature_ok(
    secret: str, link_id: str, sop_instance_uid: str, expires: int, signature: str, now: datetime
) -> bool:
    if expires < now.timestamp():
        return False
    expected = key_image_signature(secret, link_id, sop_instance_uid, expires)
    return hmac.compare_digest(expected.encode(), signature.encode())

"""A patient's sign-in by phone: the number's canonical form, the one-time code, how long it lasts, and how often
one may be asked for and tried.

The code goes out by SMS (notify/sms.py) and is kept only as an HMAC, so the table alone opens nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from yilian.domain.errors import ErrorCode

_MOBILE = re.compile(r"^1[3-9]\d{9}$")  # mainland China mobile numbers

CODE_DIGITS = 6
CODE_TTL = timedelta(minutes=5)
MAX_CODE_ATTEMPTS = 5  # wrong tries of one code before it is void
RESEND_AFTER = timedelta(seconds=60)  # the least time between two codes to one phone
MAX_CODES_PER_HOUR = 5  # codes to one phone in a rolling hour


def normalise_phone(raw: str) -> str | None:
    """An 11-digit mainland mobile number (a +86 or 0086 prefix, spaces and dashes dropped), or None."""
    value = re.sub(r"[\s\-()]", "", raw)
    for prefix in ("+86", "0086"):
        if value.startswith(prefix):
            value = value[len(prefix) :]
    return value if _MOBILE.match(value) else None


def new_code() -> str:
    return f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"


def code_hmac(secret: str, phone: str, code: str) -> str:
    return hmac.new(secret.encode(), f"sign-in-code/{phone}/{code}".encode(), hashlib.sha256).hexdigest()


def code_matches(secret: str, phone: str, code: str, stored: str) -> bool:
    return hmac.compare_digest(code_hmac(secret, phone, code).encode(), stored.encode())


def may_send(recent: list[datetime], now: datetime) -> timedelta | None:
    """How long until a new code may be sent to a phone that had codes at `recent` (None: now)."""
    last_hour = sorted(t for t in recent if now - t < timedelta(hours=1))
    waits = []
    if last_hour and now - last_hour[-1] < RESEND_AFTER:
        waits.append(last_hour[-1] + RESEND_AFTER - now)
    if len(last_hour) >= MAX_CODES_PER_HOUR:
        waits.append(last_hour[-MAX_CODES_PER_HOUR] + timedelta(hours=1) - now)
    return max(waits) if waits else None


@dataclass(frozen=True)
class CodeStatus:
    expires_at: datetime
    used_at: datetime | None
    failed_attempts: int


def code_refusal(code: CodeStatus | None, now: datetime) -> ErrorCode | None:
    """Why the newest code of a phone cannot be tried now, or None."""
    if code is None or code.used_at is not None or now >= code.expires_at:
        return ErrorCode.SIGN_IN_CODE_EXPIRED
    if code.failed_attempts >= MAX_CODE_ATTEMPTS:
        return ErrorCode.SIGN_IN_LOCKED
    return None

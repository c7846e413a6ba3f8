"""Cloud film (云胶片): the patient's phone viewer and the QR grants a patient gives clinicians.

A grant's token is `<grant id>.<HMAC(secret, grant id)>` like a share link's; the table keeps only the id. Image
addresses on the phone carry a short-lived signature, since an <img> cannot send the patient's token.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# Window presets (center, width in HU) for the phone viewer; "default" is the image's own window.
PRESETS: dict[str, tuple[float, float] | None] = {
    "default": None,
    "lung": (-600.0, 1500.0),
    "mediastinum": (40.0, 400.0),
    "bone": (400.0, 1800.0),
    "brain": (40.0, 80.0),
    "abdomen": (60.0, 400.0),
}
IMAGE_URL_TTL = timedelta(hours=1)
# How long a clinician's viewer session lasts once a QR is opened (never past the grant itself).
GRANT_VIEW_TTL = timedelta(hours=2)
DEFAULT_GRANT_HOURS = 24


class Viewer(StrEnum):
    """Who viewed a patient's images, in the access log the patient reads."""

    PATIENT = "patient"  # on their own phone
    CLINICIAN = "clinician"  # through a QR the patient made
    DOCTOR = "doctor"  # an alliance doctor at another hospital, with the patient's consent (检查结果互认)


class GrantState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(secret: str, message: str) -> str:
    return _b64(hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()[:18])


def new_grant_id() -> str:
    return _b64(secrets.token_bytes(16))


def grant_token(secret: str, grant_id: str) -> str:
    return f"{grant_id}.{_mac(secret, f'film-grant/{grant_id}')}"


def grant_id_from_token(secret: str, token: str) -> str | None:
    """The grant id if the token is genuine, else None (constant-time)."""
    grant_id, _, mac = token.partition(".")
    if not grant_id or not mac:
        return None
    return grant_id if hmac.compare_digest(grant_token(secret, grant_id).encode(), token.encode()) else None


@dataclass(frozen=True)
class GrantStatus:
    expires_at: datetime
    revoked_at: datetime | None


def grant_state(g: GrantStatus, now: datetime) -> GrantState:
    if g.revoked_at is not None:
        return GrantState.REVOKED
    return GrantState.EXPIRED if now >= g.expires_at else GrantState.ACTIVE


def image_signature(secret: str, regional_id: str, study_uid: str, sop_uid: str, expires: int) -> str:
    return _mac(secret, f"film-image/{regional_id}/{study_uid}/{sop_uid}/{expires}")


def image_signature_ok(
    secret: str, regional_id: str, study_uid: str, sop_uid: str, expires: int, signature: str, now: datetime
) -> bool:
    if expires < now.timestamp():
        return False
    expected = image_signature(secret, regional_id, study_uid, sop_uid, expires)
    return hmac.compare_digest(expected.encode(), signature.encode())

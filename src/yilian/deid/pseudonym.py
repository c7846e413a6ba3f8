"""Keyed pseudonyms for teaching cases: one per source patient, one date shift and one UID salt per case.

All three are HMAC-SHA-256 under the alliance's secret, so they are stable across retries and processes
(idempotent activities) yet cannot be computed or reversed without the secret (PS3.15 E.1.1: no unkeyed
hashes). The same patient sent again by the same hospital maps to the same pseudonym: that is how a later
referral finds the teaching case it may give an outcome to.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass

MAX_SHIFT_DAYS = 3650


@dataclass(frozen=True)
class Pseudonym:
    patient_id: str  # e.g. "TC-7Q2M4K9XH3JD"; LO, 64 chars max
    patient_name: str  # PN written into the copy: "ANON^7Q2M4K9XH3JD"


def _digest(secret: str | bytes, *parts: str) -> bytes:
    key = secret.encode() if isinstance(secret, str) else secret
    if not key:
        raise ValueError("pseudonyms need a non-empty secret")
    return hmac.new(key, "\0".join(parts).encode(), hashlib.sha256).digest()


def patient_pseudonym(secret: str | bytes, issuer: str, patient_id: str) -> Pseudonym:
    """The pseudonym of the patient `patient_id` of the issuer (the hospital's ID namespace)."""
    code = base64.b32encode(_digest(secret, "patient", issuer.strip(), patient_id.strip())).decode()[:12]
    return Pseudonym(patient_id=f"TC-{code}", patient_name=f"ANON^{code}")


def case_date_shift(secret: str | bytes, case_key: str) -> int:
    """The case's date shift in days, -3650..-1: the same for its images (Modified Dates) and its text."""
    return -(1 + int.from_bytes(_digest(secret, "date-shift", case_key)[:8], "big") % MAX_SHIFT_DAYS)


def case_uid_salt(secret: str | bytes, case_key: str) -> str:
    """The salt of the case's UID map: new UIDs per case, the same ones on every retry of that case."""
    return _digest(secret, "uid", case_key).hex()

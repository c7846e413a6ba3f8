"""The error catalogue: every failure the product reports, with a stable code and its HTTP status."""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    VALIDATION_FAILED = "validation_failed"
    MALFORMED_REQUEST = "malformed_request"
    UNAUTHENTICATED = "unauthenticated"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not_found"
    INVALID_TRANSITION = "invalid_transition"
    NOT_COVERED_BY_AGREEMENT = "not_covered_by_agreement"
    PATIENT_IDENTITY_MISMATCH = "patient_identity_mismatch"
    CONFLICT = "conflict"
    SHARE_LINK_EXPIRED = "share_link_expired"
    SHARE_LINK_REVOKED = "share_link_revoked"
    SHARE_LINK_LOCKED = "share_link_locked"
    SIGN_IN_LOCKED = "sign_in_locked"  # too many wrong passwords for the account or from the address: wait
    WRONG_SECOND_FACTOR = "wrong_second_factor"
    SIGN_IN_CODE_EXPIRED = "sign_in_code_expired"  # a patient's one-time code is used, too old, or was never sent
    SERVICE_UNAVAILABLE = "service_unavailable"
    UNSUPPORTED_MEDIA_TYPE = "unsupported_media_type"
    NOT_ACCEPTABLE = "not_acceptable"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    GONE = "gone"
    METHOD_NOT_ALLOWED = "method_not_allowed"
    WEB_NOT_BUILT = "web_not_built"  # the server runs but its web app was not built (`make web`)
    VIEWER_NOT_BUILT = "viewer_not_built"  # likewise the OHIF viewer (`make viewer`)
    RETENTION_NOT_EXPIRED = "retention_not_expired"  # a study deleted before its retention period ends
    LEGAL_HOLD_ACTIVE = "legal_hold_active"  # a study under legal hold: nothing deletes it until released
    INTERNAL = "internal_error"


HTTP_STATUS: dict[ErrorCode, int] = {
    ErrorCode.VALIDATION_FAILED: 422,
    ErrorCode.MALFORMED_REQUEST: 400,
    ErrorCode.UNAUTHENTICATED: 401,
    ErrorCode.FORBIDDEN: 403,
    ErrorCode.NOT_FOUND: 404,
    ErrorCode.INVALID_TRANSITION: 409,
    ErrorCode.NOT_COVERED_BY_AGREEMENT: 422,
    ErrorCode.PATIENT_IDENTITY_MISMATCH: 409,
    ErrorCode.CONFLICT: 409,
    ErrorCode.SHARE_LINK_EXPIRED: 410,
    ErrorCode.SHARE_LINK_REVOKED: 410,
    ErrorCode.SHARE_LINK_LOCKED: 429,
    ErrorCode.SIGN_IN_LOCKED: 429,
    ErrorCode.WRONG_SECOND_FACTOR: 403,
    ErrorCode.SIGN_IN_CODE_EXPIRED: 410,
    ErrorCode.SERVICE_UNAVAILABLE: 503,
    ErrorCode.UNSUPPORTED_MEDIA_TYPE: 415,
    ErrorCode.NOT_ACCEPTABLE: 406,
    ErrorCode.PAYLOAD_TOO_LARGE: 413,
    ErrorCode.GONE: 410,
    ErrorCode.METHOD_NOT_ALLOWED: 405,
    ErrorCode.WEB_NOT_BUILT: 503,
    ErrorCode.VIEWER_NOT_BUILT: 503,
    ErrorCode.RETENTION_NOT_EXPIRED: 409,
    ErrorCode.LEGAL_HOLD_ACTIVE: 409,
    ErrorCode.INTERNAL: 500,
}


class YilianError(Exception):
    """A failure with a stable code; adapters translate it to their transport."""

    def __init__(self, code: ErrorCode, message: str, details: Any = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    @property
    def http_status(self) -> int:
        return HTTP_STATUS[self.code]

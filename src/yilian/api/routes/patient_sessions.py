"""A patient's sign-in on the phone: a one-time code by SMS, or an existing share link and the birth date.

The local SMS adapter's outbox has a development-only door (404 outside YILIAN_ENVIRONMENT=development), so a tester
can read the code a patient would get.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from fastapi import APIRouter, Request
from pydantic import Field

from yilian.api import patient_sign_in_service as service
from yilian.api.deps import AppSettings, Engine
from yilian.api.models.patient_sign_in import CodeRequested, OutboxMessage, PatientSession
from yilian.api.schemas import Page, RequestBody
from yilian.api.security import issue_patient_token
from yilian.db.engine import reading
from yilian.db.queries import patient_index as index_queries
from yilian.db.queries import patient_sign_in as queries
from yilian.domain import patient_sign_in as rules
from yilian.domain.errors import ErrorCode, YilianError
from yilian.notify.sms import sms_sender

router = APIRouter(tags=["patient sessions"])


class CodeRequest(RequestBody):
    phone: str = Field(min_length=1, max_length=32)


class CodeSignIn(RequestBody):
    phone: str = Field(min_length=1, max_length=32)
    code: str = Field(pattern=r"^\d{6}$", description="the six digits of the SMS")


class ShareLinkSignIn(RequestBody):
    token: str = Field(min_length=1, max_length=200, description="the share link's token (the end of its URL)")
    birth_date: date


async def _session(engine: Engine, settings: AppSettings, regional_id: str, via: str) -> PatientSession:
    async with reading(engine) as conn:
        row = await index_queries.get_regional_patient(conn, regional_id)
    assert row is not None
    token, ttl = issue_patient_token(settings, regional_id, via)
    return PatientSession(
        access_token=token, expires_in=int(ttl.total_seconds()), regional_patient_id=regional_id, name=row["name"]
    )


@router.post("/api/patient-sessions/codes", status_code=202)
async def request_code(body: CodeRequest, engine: Engine, settings: AppSettings) -> CodeRequested:
    """Text a six-digit code to the phone if the regional index knows it; 429 sign_in_locked when asked again
    within a minute or a sixth time in an hour (details.retry_after_seconds)."""
    now = datetime.now(UTC)
    await service.send_code(engine, settings.patient_index_secret, sms_sender(settings), body.phone, now)
    return CodeRequested(
        sent=True,
        expires_in=int(rules.CODE_TTL.total_seconds()),
        resend_after=int(rules.RESEND_AFTER.total_seconds()),
    )


@router.post("/api/patient-sessions")
async def sign_in_with_code(body: CodeSignIn, engine: Engine, settings: AppSettings) -> PatientSession:
    """A patient token for the right code: 403 wrong_second_factor (details.attempts_left) for a wrong one, 410
    sign_in_code_expired when it is used or older than five minutes, 429 after five wrong tries."""
    rid = await service.check_code(engine, settings.patient_index_secret, body.phone, body.code, datetime.now(UTC))
    return await _session(engine, settings, rid, "phone")


@router.post("/api/patient-sessions/share-link")
async def sign_in_with_share_link(
    body: ShareLinkSignIn, request: Request, engine: Engine, settings: AppSettings
) -> PatientSession:
    """A patient token through a county's share link and the birth date (its expiry, revocation and lock-out
    apply, and the try is in the link's log)."""
    client = request.client.host if request.client else ""
    rid = await service.through_share_link(
        engine, settings.share_link_secret, body.token, body.birth_date, client, datetime.now(UTC)
    )
    return await _session(engine, settings, rid, "share_link")


@router.get("/api/dev/sms-outbox")
async def sms_outbox(phone: str, engine: Engine, settings: AppSettings) -> Page[OutboxMessage]:
    """DEVELOPMENT ONLY: what the local SMS adapter recorded for a phone, newest first (404 in any other
    environment, and with a real SMS provider there is nothing here)."""
    if settings.environment != "development" or settings.sms_provider != "local":
        raise YilianError(ErrorCode.NOT_FOUND, "not found")
    async with reading(engine) as conn:
        rows = await queries.outbox(conn, service.phone_or_refuse(phone))
    return Page[OutboxMessage].of([OutboxMessage.model_validate(r) for r in rows])

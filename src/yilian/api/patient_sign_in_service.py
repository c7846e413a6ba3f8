"""A patient signs in: a one-time code to a phone the regional index knows, or an existing share link and the
birth date. Either way the answer is the regional patient they are, for a patient token (api/security.py)."""

from __future__ import annotations

import math
from datetime import date, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api import share_link_service
from yilian.db.queries import patient_index as index_queries
from yilian.db.queries import patient_sign_in as queries
from yilian.domain import patient_sign_in as rules
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.patient_index import Demographics, IndexAction, LinkHow
from yilian.domain.roles import SYSTEM_ACTOR
from yilian.notify.messages import DEFAULT_LANGUAGE, SIGN_IN_CODE_SMS
from yilian.notify.sms import SmsSender

REFUSALS = {
    ErrorCode.SIGN_IN_CODE_EXPIRED: "this code has expired or was used: ask for a new one",
    ErrorCode.SIGN_IN_LOCKED: "too many wrong codes: ask for a new one",
}


def phone_or_refuse(raw: str) -> str:
    phone = rules.normalise_phone(raw)
    if phone is None:
        raise YilianError(ErrorCode.VALIDATION_FAILED, "not a mobile phone number", [{"field": "phone"}])
    return phone


async def send_code(engine: AsyncEngine, secret: str, sms: SmsSender, raw_phone: str, now: datetime) -> None:
    """Send a code to the phone if the regional index knows it. The answer is the same either way, so nobody learns
    whose number is registered; the throttle (one a minute, five an hour) counts every number alike."""
    phone = phone_or_refuse(raw_phone)
    async with engine.begin() as conn:
        wait = rules.may_send(await queries.recent_codes(conn, phone, now), now)
        if wait is not None:
            seconds = max(1, math.ceil(wait.total_seconds()))
            raise YilianError(
                ErrorCode.SIGN_IN_LOCKED,
                f"a code was sent a moment ago: ask again in {seconds} seconds",
                {"retry_after_seconds": seconds},
            )
        code = rules.new_code()
        await queries.add_code(conn, phone, rules.code_hmac(secret, phone, code), now, now + rules.CODE_TTL)
        if await index_queries.regional_by_phone(conn, phone) is not None:
            minutes = int(rules.CODE_TTL.total_seconds() // 60)
            await sms.send(conn, phone, SIGN_IN_CODE_SMS[DEFAULT_LANGUAGE].format(code=code, minutes=minutes), now)


async def check_code(engine: AsyncEngine, secret: str, raw_phone: str, code: str, now: datetime) -> str:
    """The regional patient whose phone got this code; refused (and counted) otherwise. A code works once."""
    phone = phone_or_refuse(raw_phone)
    async with engine.begin() as conn:
        row = await queries.newest_code(conn, phone)
        status = rules.CodeStatus(row["expires_at"], row["used_at"], row["failed_attempts"]) if row else None
        why = rules.code_refusal(status, now)
        right = why is None and row is not None and rules.code_matches(secret, phone, code, row["code_hmac"])
        patient = await index_queries.regional_by_phone(conn, phone) if right else None
        if why is None and row is not None:
            if patient is None:  # a wrong code, or a right one to a phone nobody holds: counted the same
                await queries.count_failure(conn, row["id"])
            else:
                await queries.use_code(conn, row["id"], now)
    if why is not None:
        raise YilianError(why, REFUSALS[why])
    if patient is None:
        left = rules.MAX_CODE_ATTEMPTS - 1 - (row["failed_attempts"] if row else 0)
        raise YilianError(ErrorCode.WRONG_SECOND_FACTOR, "the code is not right", {"attempts_left": max(0, left)})
    return str(patient["id"])


async def through_share_link(
    engine: AsyncEngine, link_secret: str, token: str, birth_date: date, client: str, now: datetime
) -> str:
    """A county's share link opened with the birth date (its lock-outs and log apply) signs the patient in as the
    regional patient of the link's record, entered into the index on the spot if it never was."""
    opened = await share_link_service.open_link(engine, link_secret, token, birth_date, client, now)
    ref = str(opened.link["patient_ref"])
    async with engine.begin() as conn:
        found = await index_queries.entry(conn, ref, for_update=True)
        if found is not None:
            return str(found["regional_patient_id"])
        p = opened.patient
        rid = await index_queries.create_regional_patient(conn, Demographics(p["name"], p["sex"], p["birth_date"]),
                                                          None, now)  # fmt: skip
        await index_queries.put_entry(conn, ref, rid, None, LinkHow.OWN, now)
        await index_queries.record_event(
            conn, patient_ref=ref, regional_id=rid, from_regional_id=None, action=IndexAction.ENROLLED,
            actor=SYSTEM_ACTOR, now=now, details={"via": "share_link"},
        )  # fmt: skip
        return rid

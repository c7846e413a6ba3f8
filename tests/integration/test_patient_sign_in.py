"""A patient's phone sign-in through the real API and PostgreSQL: the code by (local) SMS, its expiry, the
throttles, a code working once, sign-in through a share link, and patient tokens kept apart from staff tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from tests.support.cloud_film import enrolled_patient, phone, texted_code
from tests.support.matrix import walk
from yilian.api import patient_sign_in_service
from yilian.config import Settings
from yilian.db.schema import sms_outbox
from yilian.domain.errors import ErrorCode, YilianError
from yilian.notify.sms import OutboxSms

pytestmark = pytest.mark.integration

CODES = "/api/patient-sessions/codes"
SIGN_IN = "/api/patient-sessions"


async def test_a_code_by_sms_signs_the_patient_in_once(api: Api, engine: AsyncEngine) -> None:
    number = phone()
    rid = await enrolled_patient(api, engine, number)
    sent = await api.ok(None, "POST", CODES, 202, json={"phone": f"+86 {number[:3]} {number[3:]}"})
    assert sent == {"sent": True, "expires_in": 300, "resend_after": 60}
    code = await texted_code(api, number)
    outbox = await api.ok(None, "GET", "/api/dev/sms-outbox", params={"phone": number})
    assert "验证码" in outbox["items"][0]["body"] and "5 分钟" in outbox["items"][0]["body"]
    session = await api.ok(None, "POST", SIGN_IN, json={"phone": number, "code": code})
    assert session["regional_patient_id"] == rid and session["expires_in"] == 30 * 60
    again = await api.call(None, "POST", SIGN_IN, json={"phone": number, "code": code})
    assert again.status_code == 410 and again.json()["error"] == "sign_in_code_expired"
    # A patient's token opens no staff route, and a staff token is no patient's.
    patient = {"Authorization": f"Bearer {session['access_token']}"}
    assert (await api.client.get("/api/referrals", headers=patient)).status_code == 401
    assert (await api.client.get("/api/me", headers=patient)).status_code == 401


async def test_a_code_expires_after_five_minutes(api: Api, engine: AsyncEngine, settings: Settings) -> None:
    number = phone()
    rid = await enrolled_patient(api, engine, number)
    await api.ok(None, "POST", CODES, 202, json={"phone": number})
    code = await texted_code(api, number)
    secret = settings.patient_index_secret
    later = datetime.now(UTC) + timedelta(minutes=5, seconds=1)
    with pytest.raises(YilianError) as refused:
        await patient_sign_in_service.check_code(engine, secret, number, code, later)
    assert refused.value.code is ErrorCode.SIGN_IN_CODE_EXPIRED
    in_time = datetime.now(UTC) + timedelta(minutes=4, seconds=50)
    assert await patient_sign_in_service.check_code(engine, secret, number, code, in_time) == rid


async def test_codes_are_throttled_per_phone(api: Api, engine: AsyncEngine, settings: Settings) -> None:
    number = phone()
    await enrolled_patient(api, engine, number)
    await api.ok(None, "POST", CODES, 202, json={"phone": number})
    soon = await api.call(None, "POST", CODES, json={"phone": number})
    assert soon.status_code == 429 and soon.json()["error"] == "sign_in_locked"
    assert 0 < soon.json()["details"]["retry_after_seconds"] <= 60
    # A minute apart, five codes in an hour and no more (the service takes the clock, so no test waits an hour).
    secret, sms = settings.patient_index_secret, OutboxSms()
    start = datetime.now(UTC)
    for minute in range(1, 5):
        await patient_sign_in_service.send_code(engine, secret, sms, number, start + timedelta(minutes=minute))
    with pytest.raises(YilianError) as sixth:
        await patient_sign_in_service.send_code(engine, secret, sms, number, start + timedelta(minutes=5))
    assert sixth.value.code is ErrorCode.SIGN_IN_LOCKED and sixth.value.details["retry_after_seconds"] > 60 * 50


async def test_wrong_codes_lock_the_code(api: Api, engine: AsyncEngine) -> None:
    number = phone()
    await enrolled_patient(api, engine, number)
    await api.ok(None, "POST", CODES, 202, json={"phone": number})
    code = await texted_code(api, number)
    wrong = f"{(int(code) + 1) % 10**6:06d}"
    lefts = []
    for _ in range(5):
        r = await api.call(None, "POST", SIGN_IN, json={"phone": number, "code": wrong})
        assert r.status_code == 403 and r.json()["error"] == "wrong_second_factor"
        lefts.append(r.json()["details"]["attempts_left"])
    assert lefts == [4, 3, 2, 1, 0]
    locked = await api.call(None, "POST", SIGN_IN, json={"phone": number, "code": code})
    assert locked.status_code == 429 and locked.json()["error"] == "sign_in_locked"


async def test_an_unknown_phone_gets_the_same_answer_and_no_message(api: Api, engine: AsyncEngine) -> None:
    number = phone()
    sent = await api.ok(None, "POST", CODES, 202, json={"phone": number})
    assert sent["sent"] is True
    async with engine.connect() as conn:
        n = await conn.scalar(select(func.count()).select_from(sms_outbox).where(sms_outbox.c.phone == number))
    assert n == 0
    r = await api.call(None, "POST", SIGN_IN, json={"phone": number, "code": "123456"})
    assert r.status_code == 403
    bad = await api.call(None, "POST", CODES, json={"phone": "12345"})
    assert bad.status_code == 422 and bad.json()["details"] == [{"field": "phone"}]


async def test_a_share_link_signs_the_patient_in(api: Api, engine: AsyncEngine) -> None:
    patient = {"patient_id": "CF-SL-0001", "name": "貂蝉 Diao Chan", "birth_date": "1990-02-03", "sex": "F"}
    rid = await walk(api, engine, "returned", patient=patient)
    links = (await api.ok("zhao.anping", "GET", f"/api/referrals/{rid}/share-links"))["items"]
    token = links[0]["token"]
    wrong_date = {"token": token, "birth_date": "1990-02-04"}
    wrong = await api.call(None, "POST", "/api/patient-sessions/share-link", json=wrong_date)
    assert wrong.status_code == 403 and wrong.json()["error"] == "wrong_second_factor"
    body = {"token": token, "birth_date": patient["birth_date"]}
    first = await api.ok(None, "POST", "/api/patient-sessions/share-link", json=body)
    second = await api.ok(None, "POST", "/api/patient-sessions/share-link", json=body)
    # The record entered the regional index on the first sign-in; the second finds it there.
    assert first["regional_patient_id"] == second["regional_patient_id"] and first["name"] == patient["name"]
    accesses = await api.ok("zhao.anping", "GET", f"/api/share-links/{links[0]['link_id']}/accesses")
    assert [a["outcome"] for a in accesses["items"]] == ["wrong_birth_date", "opened", "opened"]
    revoked = await api.ok("zhao.anping", "POST", f"/api/share-links/{links[0]['link_id']}/revoke")
    assert revoked["status"] == "share_link_revoked"
    gone = await api.call(None, "POST", "/api/patient-sessions/share-link", json=body)
    assert gone.status_code == 410

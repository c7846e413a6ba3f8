"""Patients for the cloud film tests: hospital records made up on the spot, and valid national ID numbers."""

from __future__ import annotations

import random
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from yilian.db.schema import patients, referrals

# The routes whose authorization matrix is tests/integration/test_cloud_film_access.py.
PREFIXES = ("/api/patient-index", "/api/patient-sessions", "/api/dev/", "/api/cloud-film", "/api/film-grants")
_WEIGHTS = [pow(2, 17 - i, 11) for i in range(17)]


def national_id(birth: date, seed: int | None = None) -> str:
    """A well-formed 居民身份证号 (region, birth date, sequence, GB 11643 check character) for `birth`."""
    rng = random.Random(seed)
    body = f"{rng.randint(110000, 659999)}{birth:%Y%m%d}{rng.randint(0, 999):03d}"
    return body + "10X98765432"[sum(int(d) * w for d, w in zip(body, _WEIGHTS, strict=True)) % 11]


def phone(seed: int | None = None) -> str:
    return f"139{random.Random(seed).randint(0, 10**8 - 1):08d}"


async def hospital_record(
    engine: AsyncEngine, hospital_id: str, name: str, birth: date, sex: str, patient_id: str | None = None
) -> tuple[str, str]:
    """A patient record at a hospital: (patient_ref, the hospital's Patient ID)."""
    ref = f"pat-cf-{uuid.uuid4().hex[:12]}"
    pid = patient_id or f"CF{uuid.uuid4().hex[:10].upper()}"
    async with engine.begin() as conn:
        await conn.execute(
            patients.insert().values(
                id=ref,
                hospital_id=hospital_id,
                issuer=hospital_id.removeprefix("h-").upper(),
                patient_id=pid,
                name=name,
                birth_date=birth,
                sex=sex,
                created_at=datetime.now(UTC),
            )  # fmt: skip
        )
    return ref, pid


async def enrolled_patient(api: Api, engine: AsyncEngine, number: str, hospital: str = "h-anping") -> str:
    """A regional patient with one record at `hospital` (enrolled by its county doctor) and this phone."""
    doctor = {"h-anping": "zhao.anping", "h-qingshan": "sun.qingshan"}[hospital]
    name = f"手机 Phone {uuid.uuid4().hex[:8]}"
    born = date(1950, 1, 1) + timedelta(days=random.randint(0, 20000))
    ref, _ = await hospital_record(engine, hospital, name, born, "F")
    done = await api.ok(
        doctor, "POST", "/api/patient-index/enrolments", 201, json={"patient_ref": ref, "phone": number}
    )
    return str(done["regional_patient_id"])


async def send_dated_study(api: Api, user: str, patient_id: str, study_date: str, rows: int = 64) -> str:
    """A one-image DX study of `patient_id` taken on `study_date` (YYYYMMDD), stored by STOW-RS as `user`."""
    from pydicom.uid import generate_uid

    from tests.support.dicom_gen import dx_image
    from tests.support.stow import CONTENT_TYPE, stow_body

    [image] = dx_image(rows=rows, cols=rows, patient_id=patient_id, study_uid=generate_uid())
    image.StudyDate = image.SeriesDate = study_date
    r = await api.call(user, "POST", "/dicomweb/studies", content=stow_body([image]),
                       headers={"Content-Type": CONTENT_TYPE})  # fmt: skip
    assert r.status_code == 200, r.text
    return str(image.StudyInstanceUID)


async def code_sent(api: Api, engine: AsyncEngine) -> dict[str, Any]:
    """An enrolled patient whose phone just got a code."""
    number = phone()
    await enrolled_patient(api, engine, number)
    await api.ok(None, "POST", "/api/patient-sessions/codes", 202, json={"phone": number})
    return {"phone": number, "code": await texted_code(api, number)}


async def texted_code(api: Api, number: str) -> str:
    outbox = await api.ok(None, "GET", "/api/dev/sms-outbox", params={"phone": number})
    found = re.search(r"\b(\d{6})\b", outbox["items"][0]["body"])
    assert found, outbox
    return found.group(1)


async def patient_token(api: Api, engine: AsyncEngine) -> str:
    """A patient signed in by phone: a regional patient of their own with one h-anping record."""
    sent = await code_sent(api, engine)
    return str((await api.ok(None, "POST", "/api/patient-sessions", json=sent))["access_token"])


@dataclass(frozen=True)
class Film:
    token: str  # the patient's session
    regional_id: str
    anping_study: str  # 2026-03-01, read and signed
    qingshan_study: str  # 2026-06-01, read and signed
    stranger_study: str  # another patient's, at h-anping
    phone: str  # the patient's, in the regional index

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


async def _patient_ref(engine: AsyncEngine, referral_id: str) -> str:
    async with engine.connect() as conn:
        return str(await conn.scalar(select(referrals.c.patient_ref).where(referrals.c.id == referral_id)))


async def two_hospital_patient(api: Api, engine: AsyncEngine, *, sign_in: bool = True) -> Film:
    """A patient with a signed CT study at h-anping (2026-03-01) and one at h-qingshan (2026-06-01), linked in the
    regional index by their national ID (signed in by phone unless `sign_in` is false); and another patient's study
    at h-anping."""
    from tests.support.matrix import walk

    tag = uuid.uuid4().hex[:6].upper()
    person = {"name": f"周瑜 Zhou Yu {tag}", "birth_date": "1975-05-05", "sex": "M"}
    nid, number = national_id(datetime(1975, 5, 5).date()), phone()
    studies, refs = {}, {}
    for doctor, hospital, taken in (("zhao.anping", "AP", "20260301"), ("sun.qingshan", "QS", "20260601")):
        pid = f"{hospital}-CF-{tag}"
        uid = await send_dated_study(api, doctor, pid, taken)
        rid = await walk(api, engine, "returned", doctor=doctor, study_instance_uid=uid,
                         patient={**person, "patient_id": pid}, difficult=True)  # fmt: skip
        studies[hospital], refs[hospital] = uid, await _patient_ref(engine, rid)
    stranger = await send_dated_study(api, "zhao.anping", f"AP-OTHER-{tag}", "20260901")
    first = await api.ok("zhao.anping", "POST", "/api/patient-index/enrolments", 201,
                         json={"patient_ref": refs["AP"], "national_id": nid, "phone": number})  # fmt: skip
    second = await api.ok("sun.qingshan", "POST", "/api/patient-index/enrolments", 201,
                          json={"patient_ref": refs["QS"], "national_id": nid})  # fmt: skip
    assert second["outcome"] == "linked"
    token = ""
    if sign_in:  # a browser test signs in itself (and a second code within the minute would be refused)
        await api.ok(None, "POST", "/api/patient-sessions/codes", 202, json={"phone": number})
        code = await texted_code(api, number)
        session = await api.ok(None, "POST", "/api/patient-sessions", json={"phone": number, "code": code})
        token = session["access_token"]
    return Film(token, first["regional_patient_id"], studies["AP"], studies["QS"], stranger, number)

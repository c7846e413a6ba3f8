"""Patients for the cloud film tests: hospital records made up on the spot, and valid national ID numbers."""

from __future__ import annotations

import random
import re
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from tests.support.api import Api
from yilian.db.schema import patients

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

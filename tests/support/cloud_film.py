"""Patients for the cloud film tests: hospital records made up on the spot, and valid national ID numbers."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.schema import patients

# The routes whose authorization matrix is tests/integration/test_cloud_film_access.py.
PREFIXES = ("/api/patient-index", "/api/patient-sessions", "/api/dev/")
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


async def enrolled_patient(api: Any, engine: AsyncEngine, number: str, hospital: str = "h-anping") -> str:
    """A regional patient with one record at `hospital` (enrolled by its county doctor) and this phone."""
    doctor = {"h-anping": "zhao.anping", "h-qingshan": "sun.qingshan"}[hospital]
    name = f"手机 Phone {uuid.uuid4().hex[:8]}"
    born = date(1950, 1, 1) + timedelta(days=random.randint(0, 20000))
    ref, _ = await hospital_record(engine, hospital, name, born, "F")
    done = await api.ok(
        doctor, "POST", "/api/patient-index/enrolments", 201, json={"patient_ref": ref, "phone": number}
    )
    return str(done["regional_patient_id"])

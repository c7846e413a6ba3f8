"""A private alliance per test (its own hospitals, people and agreement) so counts are exact."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.demo import DEMO_PASSWORD
from yilian.db.schema import agreements, hospitals, patients, reader_licences, reader_subspecialties, users

_HASH = PasswordHasher().hash(DEMO_PASSWORD)


@dataclass(frozen=True)
class Alliance:
    tertiary: str
    county: str
    agreement: str
    coordinator: str
    doctor: str
    experts: list[str]
    senior: str
    patient: str


async def make_alliance(
    engine: AsyncEngine,
    *,
    service_mode: str = "full_hosting",
    terms: dict[str, Any] | None = None,
    experts: int = 2,
) -> Alliance:
    s = uuid.uuid4().hex[:6]
    now = datetime.now(UTC)
    a = Alliance(
        tertiary=f"h-t-{s}",
        county=f"h-c-{s}",
        agreement=f"agr-{s}",
        coordinator=f"coord-{s}",
        doctor=f"doc-{s}",
        experts=[f"exp{i}-{s}" for i in range(experts)],
        senior=f"sen-{s}",
        patient=f"pat-{s}",
    )
    people = [
        (a.coordinator, "coordinator", a.tertiary),
        (a.doctor, "county_doctor", a.county),
        (a.senior, "senior", a.tertiary),
        *[(e, "expert", a.tertiary) for e in a.experts],
    ]
    async with engine.begin() as conn:
        await conn.execute(
            hospitals.insert().values(
                [
                    {
                        "id": a.tertiary,
                        "name": f"Tertiary {s}",
                        "level": "tertiary",
                        "patient_id_issuer": f"T{s}",
                        "created_at": now,
                    },
                    {
                        "id": a.county,
                        "name": f"County {s}",
                        "level": "county",
                        "patient_id_issuer": f"C{s}",
                        "created_at": now,
                    },
                ]
            )
        )
        await conn.execute(
            agreements.insert().values(
                id=a.agreement,
                requesting_hospital_id=a.county,
                reading_hospital_id=a.tertiary,
                service_mode=service_mode,
                terms=terms or {"sla": {"stat_minutes": 30, "urgent_minutes": 120, "routine_minutes": 1440}},
                created_at=now,
            )
        )
        await conn.execute(
            users.insert().values(
                [
                    {
                        "id": uid,
                        "username": uid,
                        "password_hash": _HASH,
                        "display_name": uid,
                        "role": role,
                        "hospital_id": hid,
                        "created_at": now,
                    }
                    for uid, role, hid in people
                ]
            )
        )
        readers = [*a.experts, a.senior]
        await conn.execute(reader_licences.insert().values([{"user_id": r, "hospital_id": a.county} for r in readers]))
        await conn.execute(
            reader_subspecialties.insert().values([{"user_id": r, "modality": "*", "body_part": "*"} for r in readers])
        )
        await conn.execute(
            patients.insert().values(
                id=a.patient,
                hospital_id=a.county,
                issuer=f"C{s}",
                patient_id=f"P{s}",
                name="测试 Test",
                birth_date=date(1970, 1, 1),
                sex="F",
                created_at=now,
            )
        )
    return a

"""A hospital that reads its own studies (本院写片), made fresh per test: its doctor, coordinator, readers and a senior,
none of them licensed for any hospital (in-house reading needs no licence), and optionally an agreement that sends
its studies out too."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from argon2 import PasswordHasher
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.db.demo import DEMO_PASSWORD
from yilian.db.queries.in_house import put_policy
from yilian.db.schema import agreements, hospitals, reader_subspecialties, users
from yilian.domain.in_house import InHousePolicy
from yilian.domain.roles import Actor, Role

_HASH = PasswordHasher().hash(DEMO_PASSWORD)


@dataclass(frozen=True)
class ReadsItself:
    hospital: str
    doctor: Actor  # sends the hospital's own cases (the referring doctor's role)
    coordinator: Actor
    generalist: Actor  # expert, CT of any body part
    chest: Actor  # expert, CT chest: routing's first choice for a chest CT when nobody is named
    senior: Actor  # reads anything; the second reader
    agreement: str | None  # the hospital's agreement with h-provincial, if it has one


async def make_reads_itself(
    engine: AsyncEngine, *, level: str = "tertiary", agreement_mode: str | None = None
) -> ReadsItself:
    s = uuid.uuid4().hex[:6]
    h = f"h-ih-{s}"
    people = ReadsItself(
        hospital=h,
        doctor=Actor(f"ih-doc-{s}", Role.COUNTY_DOCTOR, h, "林医生 Lin"),
        coordinator=Actor(f"ih-coord-{s}", Role.COORDINATOR, h, "周协调 Zhou"),
        generalist=Actor(f"ih-gen-{s}", Role.EXPERT, h, "吴医生 Wu"),
        chest=Actor(f"ih-chest-{s}", Role.EXPERT, h, "郑医生 Zheng"),
        senior=Actor(f"ih-senior-{s}", Role.SENIOR, h, "钱主任 Qian"),
        agreement=f"agr-ih-{s}" if agreement_mode else None,
    )
    subspecialties = {people.generalist: ("CT", "*"), people.chest: ("CT", "CHEST"), people.senior: ("*", "*")}
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.execute(
            hospitals.insert().values(id=h, name=f"本院 {s}", level=level, patient_id_issuer=f"IH{s}", created_at=now)
        )
        await conn.execute(
            users.insert(),
            [
                {"id": a.user_id, "username": a.user_id, "password_hash": _HASH, "display_name": a.name,
                 "role": str(a.role), "hospital_id": h, "created_at": now}
                for a in (people.doctor, people.coordinator, people.generalist, people.chest, people.senior)
            ],
        )  # fmt: skip
        await conn.execute(
            reader_subspecialties.insert(),
            [{"user_id": a.user_id, "modality": m, "body_part": b} for a, (m, b) in subspecialties.items()],
        )
        if agreement_mode:
            await conn.execute(
                agreements.insert().values(
                    id=people.agreement, requesting_hospital_id=h, reading_hospital_id="h-provincial",
                    service_mode=agreement_mode, terms={}, created_at=now,
                )
            )  # fmt: skip
    return people


async def set_policy(engine: AsyncEngine, policy: InHousePolicy) -> None:
    """As the admin API writes it (with its change-log row)."""
    async with engine.begin() as conn:
        await put_policy(conn, policy, actor_id="admin", now=datetime.now(UTC))

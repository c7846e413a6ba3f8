"""The demo alliance: one tertiary hospital, two county hospitals on different agreements, people, patients; as
`yilian up` loads it, also Anping's in-house reading of its own radiographs (本院写片)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.queries.in_house import policy_of, put_policy
from yilian.db.schema import agreements, hospitals, patients, reader_licences, reader_subspecialties, users
from yilian.domain.agreement import CaseTerms, SecondReadingPolicy, SlaTargets
from yilian.domain.in_house import InHousePolicy

if TYPE_CHECKING:
    from yilian.db.demo_history import HistoryCounts

DEMO_PASSWORD = "yilian-demo"
TERTIARY, ANPING, QINGSHAN = "h-provincial", "h-anping", "h-qingshan"


@dataclass(frozen=True)
class DemoUser:
    id: str
    name: str
    role: str
    hospital_id: str | None
    title: str = ""
    is_junior: bool = False
    subspecialties: tuple[tuple[str, str], ...] = ()
    specialty: str = ""  # clinical specialty: whom a consult invites


DEMO_USERS = (
    DemoUser(
        "wang.expert", "王立 Wang Li", "expert", TERTIARY, "副主任医师", False, (("CT", "CHEST"), ("DX", "CHEST")),
        "radiology",
    ),
    DemoUser(
        "li.expert", "李静 Li Jing", "expert", TERTIARY, "主任医师", False, (("MR", "*"), ("CT", "HEAD")), "radiology"
    ),
    DemoUser("zhang.expert", "张伟 Zhang Wei", "expert", TERTIARY, "主治医师", True, (("*", "*"),), "radiology"),
    DemoUser("chen.senior", "陈明 Chen Ming", "senior", TERTIARY, "主任医师", False, (("*", "*"),), "radiology"),
    DemoUser("liu.coord", "刘芳 Liu Fang", "coordinator", TERTIARY, "医联体协调员"),
    DemoUser("admin", "系统管理员 Admin", "admin", None),
    DemoUser("he.educator", "何敏 He Min", "educator", TERTIARY, "教学主任"),
    DemoUser("zhao.anping", "赵强 Zhao Qiang", "county_doctor", ANPING, "住院医师", specialty="internal_medicine"),
    DemoUser("sun.qingshan", "孙丽 Sun Li", "county_doctor", QINGSHAN, "主治医师", specialty="internal_medicine"),
    # Clinicians a tumour board invites: they read no images (no licence, no subspecialty), so routing never
    # offers them a case.
    DemoUser("he.surgeon", "何军 He Jun", "expert", TERTIARY, "胸外科主任医师", specialty="thoracic_surgery"),
    DemoUser("xu.oncology", "徐敏 Xu Min", "expert", TERTIARY, "肿瘤科副主任医师", specialty="oncology"),
)  # fmt: skip

# 本院写片 in the demo as `yilian up` loads it (seed_demo's `in_house`): Anping's own radiologist reads its plain
# films (DX) on the cloud; its CT, MR and MG still go to the provincial hospital under full hosting. Not in the
# tests' alliance (they count what they create; tests/support/in_house.py makes its own hospitals).
DEMO_IN_HOUSE_USERS = (
    DemoUser("ma.anping", "马骏 Ma Jun", "expert", ANPING, "主治医师", False, (("DX", "*"),), "radiology"),
)
DEMO_IN_HOUSE_POLICY = InHousePolicy(
    ANPING,
    modalities=frozenset({"DX"}),
    reader_ids=("ma.anping",),
    terms=CaseTerms(
        sla=SlaTargets(stat_minutes=30, urgent_minutes=120, routine_minutes=720),
        second_reading=SecondReadingPolicy.NEVER,  # Anping has no senior of its own to second-read
    ),
    auto_read=True,  # as under its full hosting: every radiograph that arrives becomes a case by itself
)

DEMO_AGREEMENTS: tuple[dict[str, Any], ...] = (
    {
        "id": "agr-anping",
        "requesting_hospital_id": ANPING,
        "reading_hospital_id": TERTIARY,
        "service_mode": "full_hosting",
        "terms": {
            "sla": {"stat_minutes": 30, "urgent_minutes": 120, "routine_minutes": 1440},
            "offer_timeout_minutes": 10,
            "grace_minutes": 30,
            "second_reading": "always",
        },
    },
    {
        "id": "agr-qingshan",
        "requesting_hospital_id": QINGSHAN,
        "reading_hospital_id": TERTIARY,
        "service_mode": "difficult_only",
        "terms": {
            "sla": {"stat_minutes": 60, "urgent_minutes": 240, "routine_minutes": 2880},
            "offer_timeout_minutes": 15,
            "grace_minutes": 60,
            "second_reading": "difficult",
        },
    },
)

DEMO_PATIENTS = (
    ("pat-anping-1", ANPING, "AP0001", "刘备 Liu Bei", date(1961, 3, 14), "M"),
    ("pat-anping-2", ANPING, "AP0002", "黄月英 Huang Yueying", date(1978, 11, 2), "F"),
    ("pat-qingshan-1", QINGSHAN, "QS0001", "赵云 Zhao Yun", date(1985, 7, 9), "M"),
)


async def seed_demo(
    engine: AsyncEngine, *, history: bool = False, in_house: bool = False, now: datetime | None = None
) -> HistoryCounts:
    """Idempotent: run it as often as you like; existing rows are left as they are.

    With `history`, also ninety days of finished cases (db/demo_history.py) for `yilian up` and `seed-demo`; with
    `in_house`, Anping's in-house reading of DX (DEMO_IN_HOUSE_USERS, DEMO_IN_HOUSE_POLICY; made once, by `admin` in
    the change log, and left as an admin later changes it). Both off by default because the tests count what they
    create on an otherwise empty alliance.
    """
    from yilian.db.demo_history import HistoryCounts, seed_history

    now = now or datetime.now(UTC)
    password_hash = PasswordHasher().hash(DEMO_PASSWORD)
    async with engine.begin() as conn:
        await conn.execute(
            insert(hospitals)
            .values(
                [
                    {
                        "id": TERTIARY,
                        "name": "省人民医院 Provincial People's Hospital",
                        "level": "tertiary",
                        "patient_id_issuer": "PPH",
                        "created_at": now,
                    },
                    {
                        "id": ANPING,
                        "name": "安平县人民医院 Anping County Hospital",
                        "level": "county",
                        "patient_id_issuer": "ANPING",
                        "created_at": now,
                    },
                    {
                        "id": QINGSHAN,
                        "name": "青山县中医院 Qingshan County Hospital",
                        "level": "county",
                        "patient_id_issuer": "QINGSHAN",
                        "created_at": now,
                    },
                ]
            )
            .on_conflict_do_nothing()
        )
        await conn.execute(
            insert(agreements).values([{**a, "created_at": now} for a in DEMO_AGREEMENTS]).on_conflict_do_nothing()
        )
        await conn.execute(
            insert(users)
            .values(
                [
                    {
                        "id": u.id,
                        "username": u.id,
                        "password_hash": password_hash,
                        "display_name": u.name,
                        "role": u.role,
                        "hospital_id": u.hospital_id,
                        "title": u.title,
                        "is_junior": u.is_junior,
                        "specialty": u.specialty,
                        "created_at": now,
                    }
                    for u in DEMO_USERS
                ]
            )
            .on_conflict_do_nothing()
        )
        readers = [u for u in DEMO_USERS if u.role in ("expert", "senior") and u.subspecialties]
        await conn.execute(
            insert(reader_licences)
            .values([{"user_id": u.id, "hospital_id": h} for u in readers for h in (ANPING, QINGSHAN)])
            .on_conflict_do_nothing()
        )
        await conn.execute(
            insert(reader_subspecialties)
            .values([{"user_id": u.id, "modality": m, "body_part": b} for u in readers for m, b in u.subspecialties])
            .on_conflict_do_nothing()
        )
        if in_house:
            await _seed_in_house(conn, password_hash, now)
        await conn.execute(
            insert(patients)
            .values(
                [
                    {
                        "id": pid,
                        "hospital_id": h,
                        "issuer": "ANPING" if h == ANPING else "QINGSHAN",
                        "patient_id": p,
                        "name": n,
                        "birth_date": bd,
                        "sex": s,
                        "created_at": now,
                    }
                    for pid, h, p, n, bd, s in DEMO_PATIENTS
                ]
            )
            .on_conflict_do_nothing()
        )
        return await seed_history(conn, now) if history else HistoryCounts()


def migrate_and_seed(
    database_url: str, *, demo: bool = True, history: bool = False, in_house: bool = False
) -> HistoryCounts | None:
    """Bring the schema up to date and, unless told not to, load the demo alliance (with `history`, its past
    ninety days too; with `in_house`, Anping's in-house reading: what `yilian up` and `yilian seed-demo` do).
    Blocking. Returns what the history added."""
    import asyncio

    from yilian.db.engine import make_engine, migrate

    migrate(database_url)
    if not demo:
        return None

    async def _seed() -> HistoryCounts:
        engine = make_engine(database_url, pool_size=1)
        try:
            return await seed_demo(engine, history=history, in_house=in_house)
        finally:
            await engine.dispose()

    return asyncio.run(_seed())


async def _seed_in_house(conn: AsyncConnection, password_hash: str, now: datetime) -> None:
    """Anping's own radiologist (no licence: reading for one's own hospital needs none) and its DX policy."""
    await conn.execute(
        insert(users)
        .values(
            [
                {"id": u.id, "username": u.id, "password_hash": password_hash, "display_name": u.name,
                 "role": u.role, "hospital_id": u.hospital_id, "title": u.title, "is_junior": u.is_junior,
                 "specialty": u.specialty, "created_at": now}
                for u in DEMO_IN_HOUSE_USERS
            ]
        )
        .on_conflict_do_nothing()
    )  # fmt: skip
    await conn.execute(
        insert(reader_subspecialties)
        .values([{"user_id": u.id, "modality": m, "body_part": b} for u in DEMO_IN_HOUSE_USERS
                 for m, b in u.subspecialties])
        .on_conflict_do_nothing()
    )  # fmt: skip
    if await policy_of(conn, DEMO_IN_HOUSE_POLICY.hospital_id) is None:
        await put_policy(conn, DEMO_IN_HOUSE_POLICY, actor_id="admin", now=now)

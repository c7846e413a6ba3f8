"""Administration of the alliance's reference data: hospitals, agreements, users, each write with its change log row.

Every write function here takes the caller's transaction and records its admin_changes row in it, so a change
and its record commit together or not at all.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import delete, null, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.db.queries.alliance import agreement_from_row, licensed_for_column, subspecialties_column
from yilian.db.schema import admin_changes, agreements, hospitals, reader_licences, reader_subspecialties, users
from yilian.domain.agreement import Agreement
from yilian.domain.alliance import AgreementSide
from yilian.domain.errors import ErrorCode, YilianError


class AdminEntity(StrEnum):
    HOSPITAL = "hospital"
    AGREEMENT = "agreement"
    USER = "user"
    IN_HOUSE_READING = "in_house_reading"  # a hospital's in-house reading policy (its id is the hospital's)


class AdminAction(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    PASSWORD = "password"
    DELETE = "delete"


def _iso(value: Any) -> Any:
    return value.isoformat() if isinstance(value, datetime) else value


def _conflict(field: str, problem: str) -> YilianError:
    return YilianError(ErrorCode.CONFLICT, problem, [{"field": f"body.{field}", "problem": problem}])


# ---- the change log -----------------------------------------------------------------------------
async def record_change(
    conn: AsyncConnection,
    *,
    actor_id: str,
    entity: AdminEntity,
    entity_id: str,
    action: AdminAction,
    before: dict[str, Any] | None,
    after: dict[str, Any] | None,
    now: datetime,
) -> None:
    await conn.execute(
        admin_changes.insert().values(
            at=now, actor_id=actor_id, entity=str(entity), entity_id=entity_id, action=str(action),
            # SQL NULL, not JSON null, where there is no before (a creation) or nothing to show (a password).
            before=null() if before is None else before, after=null() if after is None else after,
        )
    )  # fmt: skip


async def changes(
    conn: AsyncConnection, *, entity: AdminEntity | None, entity_id: str | None, limit: int
) -> list[dict[str, Any]]:
    """Newest first."""
    c = admin_changes.c
    query = select(admin_changes).order_by(c.id.desc()).limit(limit)
    if entity is not None:
        query = query.where(c.entity == str(entity))
    if entity_id is not None:
        query = query.where(c.entity_id == entity_id)
    return [{k: _iso(v) for k, v in r.items()} for r in (await conn.execute(query)).mappings()]


# ---- hospitals ----------------------------------------------------------------------------------
def _hospital_view(row: Any) -> dict[str, Any]:
    return {k: _iso(row[k]) for k in ("id", "name", "level", "patient_id_issuer", "created_at")}


async def all_hospitals(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(hospitals).order_by(hospitals.c.id))
    return [_hospital_view(r) for r in rows.mappings()]


async def get_hospital(conn: AsyncConnection, hospital_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(select(hospitals).where(hospitals.c.id == hospital_id))).mappings().first()
    return _hospital_view(row) if row else None


async def hospital_levels(conn: AsyncConnection, hospital_ids: set[str]) -> dict[str, str]:
    """id -> level of those of the ids that exist."""
    rows = await conn.execute(select(hospitals.c.id, hospitals.c.level).where(hospitals.c.id.in_(sorted(hospital_ids))))
    return {r.id: r.level for r in rows}


async def agreement_sides(conn: AsyncConnection, hospital_id: str) -> set[AgreementSide]:
    """The sides this hospital takes in any agreement, active or not."""
    a = agreements.c
    rows = await conn.execute(
        select(a.requesting_hospital_id, a.service_mode).where(
            (a.requesting_hospital_id == hospital_id) | (a.reading_hospital_id == hospital_id)
        )
    )
    sides: set[AgreementSide] = set()
    for requesting, mode in rows:
        if requesting == hospital_id:
            sides.add(AgreementSide.REQUESTING)
        else:
            sides.add(AgreementSide.COOPERATION_READING if mode == "cooperation" else AgreementSide.READING)
    return sides


async def create_hospital(
    conn: AsyncConnection, values: dict[str, Any], *, actor_id: str, now: datetime
) -> dict[str, Any]:
    created = await conn.scalar(
        insert(hospitals).values(**values, created_at=now).on_conflict_do_nothing().returning(hospitals.c.id)
    )
    if created is None:
        raise _conflict("id", f"a hospital {values['id']} exists already")
    after = await get_hospital(conn, values["id"])
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.HOSPITAL, entity_id=values["id"], action=AdminAction.CREATE,
        before=None, after=after, now=now,
    )  # fmt: skip
    assert after is not None
    return after


async def update_hospital(
    conn: AsyncConnection, before: dict[str, Any], values: dict[str, Any], *, actor_id: str, now: datetime
) -> dict[str, Any]:
    await conn.execute(update(hospitals).where(hospitals.c.id == before["id"]).values(**values))
    after = await get_hospital(conn, before["id"])
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.HOSPITAL, entity_id=before["id"], action=AdminAction.UPDATE,
        before=before, after=after, now=now,
    )  # fmt: skip
    assert after is not None
    return after


# ---- agreements ---------------------------------------------------------------------------------
def agreement_view(a: Agreement) -> dict[str, Any]:
    """The agreement as the admin API shows it and accepts it back (PUT): columns and terms in one object."""
    return {
        "id": a.id,
        "requesting_hospital_id": a.requesting_hospital_id,
        "reading_hospital_id": a.reading_hospital_id,
        "service_mode": str(a.service_mode),
        **a.terms.as_json(),
        "active": a.active,
    }


def _agreement_columns(a: Agreement) -> dict[str, Any]:
    return {
        "requesting_hospital_id": a.requesting_hospital_id,
        "reading_hospital_id": a.reading_hospital_id,
        "service_mode": str(a.service_mode),
        "terms": a.terms.as_json(),
        "active": a.active,
    }


async def get_agreement(conn: AsyncConnection, agreement_id: str) -> Agreement | None:
    row = (await conn.execute(select(agreements).where(agreements.c.id == agreement_id))).mappings().first()
    return agreement_from_row(row) if row else None


def _agreement_shown(row: Any) -> dict[str, Any]:
    return {**agreement_view(agreement_from_row(row)), "created_at": _iso(row["created_at"])}


async def _shown_agreement(conn: AsyncConnection, agreement_id: str) -> dict[str, Any]:
    """The agreement as the admin API answers a write with it (and the change log keeps it)."""
    row = (await conn.execute(select(agreements).where(agreements.c.id == agreement_id))).mappings().one()
    return _agreement_shown(row)


async def all_agreements(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(select(agreements).order_by(agreements.c.id))
    return [_agreement_shown(r) for r in rows.mappings()]


async def create_agreement(conn: AsyncConnection, a: Agreement, *, actor_id: str, now: datetime) -> dict[str, Any]:
    created = await conn.scalar(
        insert(agreements)
        .values(id=a.id, **_agreement_columns(a), created_at=now)
        .on_conflict_do_nothing()
        .returning(agreements.c.id)
    )
    if created is None:
        raise _conflict("id", f"an agreement {a.id} exists already")
    after = await _shown_agreement(conn, a.id)
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.AGREEMENT, entity_id=a.id, action=AdminAction.CREATE,
        before=None, after=after, now=now,
    )  # fmt: skip
    return after


async def update_agreement(
    conn: AsyncConnection, before: Agreement, a: Agreement, *, actor_id: str, now: datetime
) -> dict[str, Any]:
    await conn.execute(update(agreements).where(agreements.c.id == a.id).values(**_agreement_columns(a)))
    after = await _shown_agreement(conn, a.id)
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.AGREEMENT, entity_id=a.id, action=AdminAction.UPDATE,
        before={**agreement_view(before), "created_at": after["created_at"]}, after=after, now=now,
    )  # fmt: skip
    return after


# ---- users --------------------------------------------------------------------------------------
_USER_FIELDS = ("id", "username", "display_name", "role", "hospital_id", "title", "is_junior", "on_duty", "active")


def _user_query() -> Any:
    # Named columns only: the password hash never leaves the database through this module.
    return select(
        *(users.c[name] for name in _USER_FIELDS), users.c.created_at, licensed_for_column(), subspecialties_column()
    )


def _user_view(row: Any) -> dict[str, Any]:
    out = {k: _iso(v) for k, v in row.items()}
    out["licensed_for"] = list(row["licensed_for"] or [])
    out["subspecialties"] = list(row["subspecialties"] or [])
    return out


async def all_users(conn: AsyncConnection) -> list[dict[str, Any]]:
    rows = await conn.execute(_user_query().order_by(users.c.hospital_id.nulls_first(), users.c.username))
    return [_user_view(r) for r in rows.mappings()]


async def get_user(conn: AsyncConnection, user_id: str) -> dict[str, Any] | None:
    row = (await conn.execute(_user_query().where(users.c.id == user_id))).mappings().first()
    return _user_view(row) if row else None


async def _replace_reader_sets(
    conn: AsyncConnection, user_id: str, licensed_for: list[str], subspecialties: list[tuple[str, str]]
) -> None:
    await conn.execute(delete(reader_licences).where(reader_licences.c.user_id == user_id))
    await conn.execute(delete(reader_subspecialties).where(reader_subspecialties.c.user_id == user_id))
    if licensed_for:
        await conn.execute(
            reader_licences.insert().values([{"user_id": user_id, "hospital_id": h} for h in sorted(set(licensed_for))])
        )
    if subspecialties:
        await conn.execute(
            reader_subspecialties.insert().values(
                [{"user_id": user_id, "modality": m, "body_part": b} for m, b in sorted(set(subspecialties))]
            )
        )


async def _username_taken(conn: AsyncConnection, username: str, other_than: str | None) -> bool:
    query = select(users.c.id).where(users.c.username == username)
    if other_than is not None:
        query = query.where(users.c.id != other_than)
    return await conn.scalar(query) is not None


async def create_user(
    conn: AsyncConnection,
    values: dict[str, Any],
    *,
    password_hash: str,
    licensed_for: list[str],
    subspecialties: list[tuple[str, str]],
    actor_id: str,
    now: datetime,
) -> dict[str, Any]:
    if await _username_taken(conn, values["username"], None):
        raise _conflict("username", f"the username {values['username']} is taken")
    created = await conn.scalar(
        insert(users)
        .values(**values, password_hash=password_hash, created_at=now)
        .on_conflict_do_nothing()
        .returning(users.c.id)
    )
    if created is None:
        raise _conflict("id", f"a user {values['id']} exists already, or the username was just taken")
    await _replace_reader_sets(conn, values["id"], licensed_for, subspecialties)
    after = await get_user(conn, values["id"])
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.USER, entity_id=values["id"], action=AdminAction.CREATE,
        before=None, after=after, now=now,
    )  # fmt: skip
    assert after is not None
    return after


async def update_user(
    conn: AsyncConnection,
    before: dict[str, Any],
    values: dict[str, Any],
    *,
    licensed_for: list[str],
    subspecialties: list[tuple[str, str]],
    actor_id: str,
    now: datetime,
) -> dict[str, Any]:
    user_id = before["id"]
    if await _username_taken(conn, values["username"], user_id):
        raise _conflict("username", f"the username {values['username']} is taken")
    try:
        # Deactivating ends the user's sessions for good: reactivating does not bring the old tokens back.
        ended = {} if values.get("active", True) else {"token_generation": users.c.token_generation + 1}
        await conn.execute(update(users).where(users.c.id == user_id).values(**values, **ended))
    except IntegrityError as exc:  # a concurrent change took the username between the check and the update
        raise _conflict("username", f"the username {values['username']} is taken") from exc
    await _replace_reader_sets(conn, user_id, licensed_for, subspecialties)
    after = await get_user(conn, user_id)
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.USER, entity_id=user_id, action=AdminAction.UPDATE,
        before=before, after=after, now=now,
    )  # fmt: skip
    assert after is not None
    return after


async def set_password(
    conn: AsyncConnection, user_id: str, password_hash: str, *, actor_id: str, now: datetime
) -> bool:
    """False if there is no such user. The change log says that the password changed, never what to."""
    done = await conn.scalar(
        update(users)
        .where(users.c.id == user_id)
        .values(password_hash=password_hash, token_generation=users.c.token_generation + 1)  # ends its sessions
        .returning(users.c.id)
    )
    if done is None:
        return False
    await record_change(
        conn, actor_id=actor_id, entity=AdminEntity.USER, entity_id=user_id, action=AdminAction.PASSWORD,
        before=None, after=None, now=now,
    )  # fmt: skip
    return True

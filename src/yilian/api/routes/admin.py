"""Administration (admins only): hospitals, agreements and users, each change logged in admin_changes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field, StringConstraints, field_validator
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.api.deps import Engine, require_role
from yilian.api.models.admin import AdminAgreement, AdminChange, AdminHospital, AdminUser
from yilian.api.models.agreement import AgreementTerms
from yilian.api.models.me import StaffRole
from yilian.api.schemas import Page, RequestBody
from yilian.api.security import hash_password
from yilian.db.engine import reading
from yilian.db.queries import admin as queries
from yilian.db.queries import in_house as in_house_queries
from yilian.domain import alliance
from yilian.domain.access import Principal
from yilian.domain.agreement import Agreement, ServiceMode
from yilian.domain.alliance import HospitalLevel
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/admin", tags=["admin"])
AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]

ID_PATTERN = r"^[a-z0-9][a-z0-9._-]{0,63}$"
Id = Annotated[str, StringConstraints(pattern=ID_PATTERN)]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Password = Annotated[str, Field(min_length=10, max_length=256, description="at least 10 characters")]


# ---- schemas ------------------------------------------------------------------------------------
class HospitalBody(RequestBody):
    name: Name
    level: HospitalLevel
    patient_id_issuer: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class NewHospital(HospitalBody):
    id: Id | None = Field(default=None, description="omit for a generated h-… id")


class AgreementBody(AgreementTerms):
    """An agreement's parties, service mode and terms; the parties of an agreement never change once it exists."""

    requesting_hospital_id: str = Field(min_length=1, max_length=64, description="a county or township hospital")
    reading_hospital_id: str = Field(min_length=1, max_length=64, description="a tertiary hospital")
    service_mode: ServiceMode
    active: bool = True

    def agreement(self, agreement_id: str) -> Agreement:
        return Agreement(
            id=agreement_id,
            requesting_hospital_id=self.requesting_hospital_id,
            reading_hospital_id=self.reading_hospital_id,
            service_mode=self.service_mode,
            terms=self.value(),
            active=self.active,
        )


class NewAgreement(AgreementBody):
    id: Id | None = Field(default=None, description="omit for a generated agr-… id")


class SubspecialtyBody(RequestBody):
    modality: Annotated[str, StringConstraints(pattern=r"^([A-Z]{2,16}|\*)$")] = Field(description="or * for any")
    body_part: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)] = Field(
        description="e.g. CHEST, or * for any"
    )

    @field_validator("body_part")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.upper()  # referrals store body parts upper-cased; routing compares them as stored


class UserBody(RequestBody):
    username: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$")]
    display_name: Name
    role: StaffRole
    hospital_id: str | None = Field(default=None, max_length=64, description="required for every role but admin")
    title: Annotated[str, StringConstraints(strip_whitespace=True, max_length=200)] = ""
    is_junior: bool = Field(default=False, description="a junior reader's reports may need a second reading")
    licensed_for: list[str] = Field(
        default_factory=list, max_length=200, description="readers only: hospitals they may read for"
    )
    subspecialties: list[SubspecialtyBody] = Field(default_factory=list, max_length=200, description="readers only")
    active: bool = True

    def columns(self) -> dict[str, Any]:
        fields = {"username", "display_name", "role", "hospital_id", "title", "is_junior", "active"}
        return self.model_dump(include=fields)

    def subspecialty_pairs(self) -> list[tuple[str, str]]:
        return [(s.modality, s.body_part) for s in self.subspecialties]


class NewUser(UserBody):
    id: Id | None = Field(default=None, description="omit for a generated u-… id")
    password: Password


class PasswordBody(RequestBody):
    password: Password


# ---- the facts the domain's checks need (read inside the write's transaction) ---------------------
async def _check_agreement(conn: AsyncConnection, body: AgreementBody) -> None:
    levels = await queries.hospital_levels(conn, {body.requesting_hospital_id, body.reading_hospital_id})
    alliance.check_agreement_parties(
        body.requesting_hospital_id,
        body.reading_hospital_id,
        levels,
        service_mode=str(body.service_mode),
        term_problems=body.term_problems(body.service_mode),
    )


async def _check_user(conn: AsyncConnection, body: UserBody, user_id: str, principal: Principal) -> None:
    account = alliance.Account(
        user_id=user_id,
        role=Role(body.role),
        hospital_id=body.hospital_id,
        licensed_for=body.licensed_for,
        has_subspecialties=bool(body.subspecialties),
        active=body.active,
    )
    known = await queries.hospital_levels(conn, {*body.licensed_for, *([body.hospital_id] if body.hospital_id else [])})
    alliance.check_account(account, known, acting_admin=principal.user_id)


def _new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def _not_found(entity: str, entity_id: str) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"no {entity} {entity_id}")


# ---- hospitals ----------------------------------------------------------------------------------
@router.get("/hospitals")
async def list_hospitals(engine: Engine, principal: AdminPrincipal) -> Page[AdminHospital]:
    async with reading(engine) as conn:
        rows = await queries.all_hospitals(conn)
    return Page[AdminHospital].of([AdminHospital.model_validate(r) for r in rows])


@router.post("/hospitals", status_code=201)
async def create_hospital(body: NewHospital, engine: Engine, principal: AdminPrincipal) -> AdminHospital:
    values = {**body.model_dump(exclude={"id"}), "id": body.id or _new_id("h")}
    async with engine.begin() as conn:
        made = await queries.create_hospital(conn, values, actor_id=principal.user_id, now=datetime.now(UTC))
    return AdminHospital.model_validate(made)


@router.put("/hospitals/{hospital_id}")
async def update_hospital(
    hospital_id: str, body: HospitalBody, engine: Engine, principal: AdminPrincipal
) -> AdminHospital:
    async with engine.begin() as conn:
        # Locked first: an in-house policy's PUT checks the level under the same lock, so neither misses the other.
        await in_house_queries.hospital_for_update(conn, hospital_id)
        before = await queries.get_hospital(conn, hospital_id)
        if before is None:
            raise _not_found("hospital", hospital_id)
        sides = await queries.agreement_sides(conn, hospital_id)
        reads_in_house = await in_house_queries.policy_of(conn, hospital_id) is not None
        alliance.check_level(body.level, sides, reads_in_house=reads_in_house)
        after = await queries.update_hospital(
            conn, before, body.model_dump(), actor_id=principal.user_id, now=datetime.now(UTC)
        )
    return AdminHospital.model_validate(after)


# ---- agreements ---------------------------------------------------------------------------------
@router.get("/agreements")
async def list_agreements(engine: Engine, principal: AdminPrincipal) -> Page[AdminAgreement]:
    async with reading(engine) as conn:
        rows = await queries.all_agreements(conn)
    return Page[AdminAgreement].of([AdminAgreement.model_validate(r) for r in rows])


@router.post("/agreements", status_code=201)
async def create_agreement(body: NewAgreement, engine: Engine, principal: AdminPrincipal) -> AdminAgreement:
    async with engine.begin() as conn:
        await _check_agreement(conn, body)
        made = await queries.create_agreement(
            conn, body.agreement(body.id or _new_id("agr")), actor_id=principal.user_id, now=datetime.now(UTC)
        )
    return AdminAgreement.model_validate(made)


@router.put("/agreements/{agreement_id}")
async def update_agreement(
    agreement_id: str, body: AgreementBody, engine: Engine, principal: AdminPrincipal
) -> AdminAgreement:
    """Replace the terms; deactivate with active=false (referrals point at agreements, so none is deleted)."""
    async with engine.begin() as conn:
        before = await queries.get_agreement(conn, agreement_id)
        if before is None:
            raise _not_found("agreement", agreement_id)
        alliance.check_parties_unchanged(
            (before.requesting_hospital_id, before.reading_hospital_id),
            (body.requesting_hospital_id, body.reading_hospital_id),
        )
        await _check_agreement(conn, body)
        after = await queries.update_agreement(
            conn, before, body.agreement(agreement_id), actor_id=principal.user_id, now=datetime.now(UTC)
        )
    return AdminAgreement.model_validate(after)


# ---- users --------------------------------------------------------------------------------------
@router.get("/users")
async def list_users(engine: Engine, principal: AdminPrincipal) -> Page[AdminUser]:
    async with reading(engine) as conn:
        rows = await queries.all_users(conn)
    return Page[AdminUser].of([AdminUser.model_validate(r) for r in rows])


@router.post("/users", status_code=201)
async def create_user(body: NewUser, engine: Engine, principal: AdminPrincipal) -> AdminUser:
    user_id = body.id or _new_id("u")
    password_hash = hash_password(body.password)  # before the transaction: argon2 is slow on purpose
    async with engine.begin() as conn:
        await _check_user(conn, body, user_id, principal)
        made = await queries.create_user(
            conn,
            {**body.columns(), "id": user_id},
            password_hash=password_hash,
            licensed_for=body.licensed_for,
            subspecialties=body.subspecialty_pairs(),
            actor_id=principal.user_id,
            now=datetime.now(UTC),
        )
    return AdminUser.model_validate(made)


@router.put("/users/{user_id}")
async def update_user(user_id: str, body: UserBody, engine: Engine, principal: AdminPrincipal) -> AdminUser:
    """Replace the user's fields, licences and subspecialties (not the password); deactivate with active=false."""
    async with engine.begin() as conn:
        before = await queries.get_user(conn, user_id)
        if before is None:
            raise _not_found("user", user_id)
        await _check_user(conn, body, user_id, principal)
        after = await queries.update_user(
            conn,
            before,
            body.columns(),
            licensed_for=body.licensed_for,
            subspecialties=body.subspecialty_pairs(),
            actor_id=principal.user_id,
            now=datetime.now(UTC),
        )
    return AdminUser.model_validate(after)


@router.post("/users/{user_id}/password", status_code=204)
async def set_password(user_id: str, body: PasswordBody, engine: Engine, principal: AdminPrincipal) -> Response:
    password_hash = hash_password(body.password)
    async with engine.begin() as conn:
        if not await queries.set_password(
            conn, user_id, password_hash, actor_id=principal.user_id, now=datetime.now(UTC)
        ):
            raise _not_found("user", user_id)
    return Response(status_code=204)


# ---- the change log -----------------------------------------------------------------------------
@router.get("/changes")
async def list_changes(
    engine: Engine,
    principal: AdminPrincipal,
    entity: queries.AdminEntity | None = None,
    entity_id: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[AdminChange]:
    """Every change made through this API, newest first."""
    async with reading(engine) as conn:
        items = await queries.changes(conn, entity=entity, entity_id=entity_id, limit=limit)
    return Page[AdminChange].of([AdminChange.model_validate(i) for i in items], limit=limit)

"""A hospital's in-house reading policy (本院写片), admins only: each change logged in admin_changes like agreements'.

docs/reading-service.md#in-house-reading; the rules are domain/in_house.py.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Response
from sqlalchemy.ext.asyncio import AsyncConnection

from yilian.api.deps import Engine, require_role
from yilian.api.models.in_house import InHouseReading, InHouseReadingBody
from yilian.db.engine import reading
from yilian.db.queries import admin as admin_queries
from yilian.db.queries import in_house as queries
from yilian.db.queries import reader as reader_queries
from yilian.domain.access import Principal
from yilian.domain.alliance import HospitalLevel, refuse
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.in_house import check_policy
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/admin/hospitals/{hospital_id}/in-house-reading", tags=["admin"])
AdminPrincipal = Annotated[Principal, Depends(require_role(Role.ADMIN))]


def _no_hospital(hospital_id: str) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"no hospital {hospital_id}")


def _no_policy(hospital_id: str) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"hospital {hospital_id} has no in-house reading policy")


async def _level(conn: AsyncConnection, hospital_id: str) -> HospitalLevel:
    level = await queries.hospital_for_update(conn, hospital_id)
    if level is None:
        raise _no_hospital(hospital_id)
    return level


@router.get("")
async def get_in_house_reading(hospital_id: str, engine: Engine, principal: AdminPrincipal) -> InHouseReading:
    async with reading(engine) as conn:
        if not await admin_queries.hospital_levels(conn, {hospital_id}):
            raise _no_hospital(hospital_id)
        shown = await queries.shown(conn, hospital_id)
    if shown is None:
        raise _no_policy(hospital_id)
    return InHouseReading.model_validate(shown)


@router.put("", responses={201: {"model": InHouseReading, "description": "the policy, made by this call"}})
async def put_in_house_reading(
    hospital_id: str, body: InHouseReadingBody, engine: Engine, principal: AdminPrincipal, response: Response
) -> InHouseReading:
    """Create (201) or replace (200) the policy. Refused for a township hospital (no readers of its own), without a
    modality, or naming someone who is not an active reader of the hospital reading one of the modalities."""
    policy = body.policy(hospital_id)
    async with engine.begin() as conn:
        level = await _level(conn, hospital_id)
        people = {p.user_id: p for p in await reader_queries.people_of(conn, hospital_id)}
        refuse(check_policy(policy, level, people))
        shown, created = await queries.put_policy(conn, policy, actor_id=principal.user_id, now=datetime.now(UTC))
    response.status_code = 201 if created else 200
    return InHouseReading.model_validate(shown)


@router.delete("", status_code=204)
async def delete_in_house_reading(hospital_id: str, engine: Engine, principal: AdminPrincipal) -> Response:
    """Remove the policy: the hospital's studies go out under its agreements again; open in-house cases run on."""
    async with engine.begin() as conn:
        await _level(conn, hospital_id)
        if not await queries.delete_policy(conn, hospital_id, actor_id=principal.user_id, now=datetime.now(UTC)):
            raise _no_policy(hospital_id)
    return Response(status_code=204)

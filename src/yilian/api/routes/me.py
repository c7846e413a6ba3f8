"""The signed-in person: who the API thinks they are, and a reader's on-duty switch (routing honours it)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field

from yilian.api.deps import CurrentPrincipal, Engine, require_role
from yilian.api.models.me import Me
from yilian.api.schemas import RequestBody
from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import in_house as in_house_queries
from yilian.domain.access import Principal
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/me", tags=["me"])


class DutyBody(RequestBody):
    on_duty: bool = Field(description="false: no new cases are offered to you; cases you hold stay yours")


async def _me(engine: Engine, principal: Principal) -> Me:
    async with reading(engine) as conn:
        user = await alliance.get_user(conn, principal.user_id)
        policy = await in_house_queries.policy_of(conn, principal.hospital_id) if principal.hospital_id else None
    assert user is not None
    return Me(
        id=principal.user_id,
        name=principal.name,
        role=principal.role,
        hospital_id=principal.hospital_id,
        title=user["title"],
        on_duty=user["on_duty"],
        licensed_for=sorted(principal.licensed_for),
        reads_in_house=sorted(policy.modalities) if policy is not None and policy.enabled else [],
    )


@router.get("")
async def get_me(engine: Engine, principal: CurrentPrincipal) -> Me:
    return await _me(engine, principal)


@router.put("/duty")
async def set_duty(
    body: DutyBody,
    engine: Engine,
    principal: Annotated[Principal, Depends(require_role(Role.EXPERT, Role.SENIOR))],
) -> Me:
    async with engine.begin() as conn:
        await alliance.set_on_duty(conn, principal.user_id, body.on_duty)
    return await _me(engine, principal)

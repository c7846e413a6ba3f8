"""Instances a hospital's gateway quarantined (issue 16): the gateway reports them with its API key, and the
hospital's coordinator (or an admin) sees them with the reason and since when. Never pixel data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends
from pydantic import Field

from yilian.api.deps import CurrentPrincipal, Engine, dicomweb_caller
from yilian.api.models.gateway_quarantine import QuarantinedInstance, QuarantineReceipt, QuarantineView
from yilian.api.schemas import RequestBody, Timestamp
from yilian.db.engine import reading
from yilian.db.queries import api_key as key_queries
from yilian.db.queries import gateway_quarantine as q
from yilian.domain import api_key
from yilian.domain.access import Principal, can_manage_hospital
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

router = APIRouter(tags=["gateway quarantine"])
REPORT_LIMIT = 500  # what a gateway lists at most (gateway/quarantine.py); the count covers the rest


async def gateway(principal: Annotated[Principal, Depends(dicomweb_caller)]) -> Principal:
    if principal.role is not Role.GATEWAY or principal.hospital_id is None:
        raise YilianError(ErrorCode.FORBIDDEN, "only a hospital's gateway reports its quarantine, with its API key")
    return principal


async def hospital_manager(hospital_id: str, principal: CurrentPrincipal, engine: Engine) -> Principal:
    if not can_manage_hospital(principal, hospital_id):
        raise YilianError(ErrorCode.FORBIDDEN, "only an admin or the hospital's coordinator sees its gateways")
    async with reading(engine) as conn:
        if not await key_queries.hospital_exists(conn, hospital_id):
            raise YilianError(ErrorCode.NOT_FOUND, f"no hospital {hospital_id}")
    return principal


class ReportedInstance(RequestBody):
    sop_instance_uid: str = Field(min_length=1, max_length=64)
    study_instance_uid: str = Field(default="", max_length=64)
    code: str | None = Field(default=None, max_length=16, description="the DICOM FailureReason the cloud gave, hex")
    reason: str = Field(max_length=1000, description="the gateway's words for why")
    first_seen_at: Timestamp = Field(description="when the gateway set it aside")


class QuarantineReport(RequestBody):
    count: int = Field(ge=0, le=10_000_000, description="every instance the gateway holds in quarantine")
    instances: list[ReportedInstance] = Field(max_length=REPORT_LIMIT, description="the newest of them")


@router.put("/api/gateway-quarantine")
async def report_quarantine(
    body: QuarantineReport, engine: Engine, principal: Annotated[Principal, Depends(gateway)]
) -> QuarantineReceipt:
    """A gateway's whole quarantine list, replacing its last report: sending the same report again changes nothing."""
    now = datetime.now(UTC)
    unique = {i.sop_instance_uid: i.model_dump() for i in body.instances}
    async with engine.begin() as conn:
        await q.replace_report(
            conn, api_key_id=api_key.key_id_of(principal.user_id), hospital_id=str(principal.hospital_id),
            count=max(body.count, len(unique)), instances=list(unique.values()), now=now,
        )  # fmt: skip
    return QuarantineReceipt(count=max(body.count, len(unique)), listed=len(unique), received_at=now)


@router.get("/api/hospitals/{hospital_id}/gateway-quarantine")
async def hospital_quarantine(
    hospital_id: str, engine: Engine, principal: Annotated[Principal, Depends(hospital_manager)]
) -> QuarantineView:
    """What the hospital's gateways hold in quarantine, newest first, as they last reported it."""
    async with reading(engine) as conn:
        rows = await q.of_hospital(conn, hospital_id)
        count, reported_at = await q.totals(conn, hospital_id)
    return QuarantineView(
        hospital_id=hospital_id,
        count=count,
        reported_at=reported_at,
        items=[QuarantinedInstance.model_validate(r) for r in rows],
    )

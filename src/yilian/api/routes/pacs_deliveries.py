"""Signed reports for the county's PACS (docs/gateway.md): the sending hospital's gateway lists the report instances
it must deliver, fetches each one, and says how its C-STORE went; every change is an audit event."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Response
from pydantic import Field

from yilian.api.deps import Engine, dicomweb_caller
from yilian.api.models.pacs_delivery import PacsDelivery
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import pacs_delivery as q
from yilian.domain.access import Principal
from yilian.domain.api_key import key_id_of
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.pacs_delivery import DeliveryState, check_outcome
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/pacs-deliveries", tags=["pacs deliveries"])


async def hospital_gateway(principal: Annotated[Principal, Depends(dicomweb_caller)]) -> Principal:
    if principal.role is not Role.GATEWAY or principal.hospital_id is None:
        raise YilianError(
            ErrorCode.FORBIDDEN,
            "reports for a PACS are fetched by the hospital's gateway, with the hospital's API key",
            {"role": principal.role},
        )
    return principal


Gateway = Annotated[Principal, Depends(hospital_gateway)]


class OutcomeBody(RequestBody):
    state: DeliveryState = Field(description="queued (in the gateway's queue), delivered or failed")
    dicom_status: int | None = Field(default=None, ge=0, le=0xFFFF, description="the PACS's C-STORE status")
    detail: str = Field(default="", max_length=1000, description="the gateway's words on what happened")


def _not_found(delivery_id: int) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"no report delivery {delivery_id} for this hospital")


@router.get("")
async def list_pacs_deliveries(
    principal: Gateway,
    engine: Engine,
    study_instance_uid: Annotated[str | None, Query(max_length=64, description="every report of one study")] = None,
) -> Page[PacsDelivery]:
    """The hospital's report instances not yet delivered, oldest first; with `study_instance_uid`, every report
    instance of that study (what a C-MOVE of the study brings along). Listing the open ones is how a gateway says it
    has a PACS: the cloud makes report instances for hospitals whose gateway asked in the last 30 days."""
    assert principal.hospital_id is not None
    async with engine.begin() as conn:
        if study_instance_uid is None:
            await q.mark_asked(conn, key_id_of(principal.user_id), datetime.now(UTC))
        rows = await q.deliveries(conn, principal.hospital_id, study_instance_uid=study_instance_uid)
    return Page[PacsDelivery].of([PacsDelivery.model_validate(r) for r in rows])


@router.get(
    "/{delivery_id}/instance",
    response_class=Response,
    responses={200: {"content": {"application/dicom": {}}, "description": "the Part-10 instance"}},
)
async def pacs_delivery_instance(delivery_id: int, principal: Gateway, engine: Engine) -> Response:
    """The instance itself (PS3.10 file), the same bytes on every fetch."""
    assert principal.hospital_id is not None
    async with reading(engine) as conn:
        row = await q.delivery(conn, delivery_id, principal.hospital_id, with_data=True)
    if row is None:
        raise _not_found(delivery_id)
    return Response(bytes(row["data"]), media_type="application/dicom")


@router.post("/{delivery_id}/outcome")
async def record_pacs_outcome(delivery_id: int, body: OutcomeBody, principal: Gateway, engine: Engine) -> PacsDelivery:
    """What became of the instance at the gateway: queued, delivered (the PACS's status), or failed for good. A
    repeated report changes nothing; one that cannot follow the current state is refused (409)."""
    assert principal.hospital_id is not None
    async with engine.begin() as conn:
        row = await q.delivery(conn, delivery_id, principal.hospital_id, lock=True)
        if row is None:
            raise _not_found(delivery_id)
        if check_outcome(DeliveryState(row["state"]), body.state):
            await q.record_outcome(
                conn, delivery_id, body.state, body.dicom_status, body.detail, principal.user_id, datetime.now(UTC)
            )
            row = await q.delivery(conn, delivery_id, principal.hospital_id)
    return PacsDelivery.model_validate(row)

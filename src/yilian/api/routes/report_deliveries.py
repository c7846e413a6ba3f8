"""Report deliveries to a county's PACS as its people see them (docs/gateway.md): the sending hospital's doctors and
coordinators see their cases' deliveries, the alliance's coordinators and admins every hospital's; an admin or the
hospital's coordinator sends a failed one again. The gateway's own door is /api/pacs-deliveries."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query
from pydantic import Field, StringConstraints

from yilian.api.deps import Engine, dicomweb_caller
from yilian.api.models.pacs_delivery import ReportDelivery
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import pacs_delivery as q
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.pacs_delivery import RETRIERS, VIEWERS, DeliveryState, check_retry, check_role

router = APIRouter(prefix="/api/report-deliveries", tags=["pacs deliveries"])
MAX_ID = 2**63 - 1  # PostgreSQL's bigint: a larger id or offset is a 422, not a driver error


# Any caller the API knows (a gateway's key too), so that a gateway or a QR holder is told 403, not 401.
async def viewer(principal: Annotated[Principal, Depends(dicomweb_caller)]) -> Principal:
    check_role(principal, VIEWERS)
    return principal


async def retrier(principal: Annotated[Principal, Depends(dicomweb_caller)]) -> Principal:
    check_role(principal, RETRIERS)
    return principal


class RetryBody(RequestBody):
    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)] = Field(
        description="why it is sent again (e.g. the PACS was fixed); kept in its audit trail"
    )


@router.get("")
async def list_report_deliveries(
    principal: Annotated[Principal, Depends(viewer)],
    engine: Engine,
    hospital_id: Annotated[str | None, Query(max_length=64, description="one sending hospital's")] = None,
    state: Annotated[DeliveryState | None, Query(description="only those in this state")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
) -> Page[ReportDelivery]:
    """The report instances made for the PACSs of the hospitals whose cases the caller may see, newest first: state,
    the PACS's last status and the gateway's words. Another hospital's filter finds nothing, as for referrals."""
    async with reading(engine) as conn:
        rows = await q.seen_by(conn, principal, q.DeliveryFilter(hospital_id, state, limit, offset))
    items = [ReportDelivery.model_validate(r) for r in rows]
    return Page[ReportDelivery].of(items, limit=limit, offset=offset)


@router.post("/{delivery_id}/retry")
async def retry_report_delivery(
    delivery_id: Annotated[int, Path(ge=1, le=MAX_ID)],
    body: RetryBody,
    principal: Annotated[Principal, Depends(retrier)],
    engine: Engine,
) -> ReportDelivery:
    """Send a failed delivery again: it is queued, and the hospital's gateway stores the same instance into the PACS at
    its next poll. Audited with who and why; 409 unless it failed; 404 for one the caller cannot see."""
    async with engine.begin() as conn:
        seen = await q.seen_one(conn, principal, delivery_id)
        if seen is None:
            raise YilianError(ErrorCode.NOT_FOUND, f"no report delivery {delivery_id}")
        locked = await q.delivery(conn, delivery_id, seen["hospital_id"], lock=True)
        assert locked is not None  # deliveries are never deleted
        check_retry(principal, seen["hospital_id"], DeliveryState(locked["state"]))
        await q.record_retry(conn, delivery_id, principal.user_id, body.reason, datetime.now(UTC))
        row = await q.seen_one(conn, principal, delivery_id)
    return ReportDelivery.model_validate(row)

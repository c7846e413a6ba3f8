"""Quality audits (影像质控抽检): draw a sample of the graded cases a coordinator may see and start its workflow."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.workflow_client import QualityAuditCommands
from yilian.db.engine import reading
from yilian.db.queries import quality_audit as q
from yilian.db.queries.access import visible_referrals
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.quality_audit import AuditFacts, SampleMode, draw, month_bounds


async def sample(
    engine: AsyncEngine, commands: QualityAuditCommands, principal: Principal, hospital_id: str, month: str,
    size: int, mode: SampleMode,
) -> str:  # fmt: skip
    """Draw the sample and start the audit's workflow (the sample is recorded when this returns); its id."""
    since, until = month_bounds(month)
    async with reading(engine) as conn:
        graded = await q.graded_cases(conn, visible_referrals(principal), hospital_id, since, until)
    now = datetime.now(UTC)
    audit_id = f"qa-{now:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    items = draw(graded, size, mode, audit_id)
    if not items:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            f"no graded studies of {hospital_id} in {month} to sample",
            {"field": "hospital_id", "hospital_id": hospital_id, "month": month},
        )
    facts = AuditFacts(
        audit_id, principal.hospital_id or "", hospital_id, month, mode, size, principal.actor, now, items
    )
    await commands.start(facts)
    return audit_id

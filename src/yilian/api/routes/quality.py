"""Image quality control: the coordinators' scorecards (grading is a referral action: POST .../quality)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query

from yilian.api.deps import Engine, require_role
from yilian.api.models.quality import QualityMonth, QualityScorecard, QualityScorecards, ReasonCount
from yilian.db.engine import reading
from yilian.db.queries import quality as q
from yilian.db.queries.access import visible_referrals
from yilian.domain.access import Principal
from yilian.domain.quality import DEFAULT_TARGET, scorecards
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/quality", tags=["quality"])


@router.get("/scorecards")
async def get_scorecards(
    engine: Engine,
    principal: Annotated[Principal, Depends(require_role(Role.COORDINATOR))],
    by: Literal["hospital", "technician"] = "hospital",
    months: Annotated[int, Query(ge=1, le=24)] = 6,
    target: Annotated[float, Query(ge=0, le=1)] = DEFAULT_TARGET,
) -> QualityScorecards:
    """Share of good images (甲片, or CT/MR grade 3) per month for the cases the coordinator may see, with the
    trend and the most frequent defect reasons."""
    until = datetime.now(UTC) + timedelta(seconds=1)
    since = until - timedelta(days=31 * months)
    async with reading(engine) as conn:
        rows = await q.grade_rows(conn, visible_referrals(principal), by, since, until)
    cards = scorecards(rows, target)
    return QualityScorecards(
        by=by,
        target=target,
        since=since,
        until=until,
        items=[
            QualityScorecard(
                subject=c.subject,
                months=[QualityMonth(month=m.month, graded=m.graded, good=m.good, share=m.share) for m in c.months],
                latest_share=c.latest_share,
                trend=c.trend,
                meets_target=c.meets_target,
                top_reasons=[ReasonCount(reason=r, count=n) for r, n in c.top_reasons],
            )
            for c in cards
        ],
    )

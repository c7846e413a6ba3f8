"""Image quality control: the coordinators' scorecards and audit samples (grading is a referral action: POST
.../quality)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api import quality_audit_service as audit_service
from yilian.api.deps import Engine, QualityAuditActions, require_role
from yilian.api.models.quality import (
    QualityAudit,
    QualityAuditSummary,
    QualityMonth,
    QualityScorecard,
    QualityScorecards,
    ReasonCount,
)
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import quality as q
from yilian.db.queries import quality_audit as aq
from yilian.db.queries.access import visible_referrals
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.quality import DEFAULT_TARGET, DefectReason, scorecards
from yilian.domain.quality_audit import MAX_SAMPLE, OutcomeInput, SampleMode, Verdict
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


# ---- audit sampling (影像质控抽检) ---------------------------------------------------------------------------
Coordinator = Annotated[Principal, Depends(require_role(Role.COORDINATOR))]


class AuditBody(RequestBody):
    hospital_id: str = Field(min_length=1, max_length=64, description="the sending hospital whose studies are sampled")
    month: str = Field(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM (Asia/Shanghai)")
    size: int = Field(default=10, ge=1, le=MAX_SAMPLE)
    mode: SampleMode = SampleMode.RANDOM


class OutcomeBody(RequestBody):
    referral_id: str = Field(min_length=1, max_length=64)
    verdict: Verdict
    grade: str = Field(default="", max_length=4, description="the auditor's grade (a regrade)")
    reasons: list[DefectReason] = Field(default_factory=list, max_length=len(DefectReason))
    comment: str = Field(default="", max_length=4000)


async def _audit(engine: AsyncEngine, principal: Principal, audit_id: str) -> QualityAudit:
    """The audit as its hospital's coordinators see it; 404 for anyone else, as for an unknown id."""
    async with reading(engine) as conn:
        row = await aq.audit(conn, audit_id)
    if row is None or row["auditor_hospital_id"] != principal.hospital_id:
        raise YilianError(ErrorCode.NOT_FOUND, f"no quality audit {audit_id}", {"audit_id": audit_id})
    items = row["items"]
    return QualityAudit.model_validate(
        {**row, "total": len(items), "recorded": sum(1 for i in items if i["verdict"] is not None)}
    )


@router.post("/audits", status_code=201)
async def start_audit(
    body: AuditBody, engine: Engine, commands: QualityAuditActions, principal: Coordinator
) -> QualityAudit:
    """Sample graded studies of one sending hospital and month for audit, at random or the worst first, from the
    cases the coordinator may see."""
    audit_id = await audit_service.sample(engine, commands, principal, body.hospital_id, body.month, body.size,
                                          body.mode)  # fmt: skip
    return await _audit(engine, principal, audit_id)


@router.get("/audits")
async def list_audits(
    engine: Engine,
    principal: Coordinator,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[QualityAuditSummary]:
    """The audits of the coordinator's hospital, newest first."""
    async with reading(engine) as conn:
        rows = await aq.audits(conn, principal.hospital_id or "", limit, offset)
    return Page[QualityAuditSummary].of(
        [QualityAuditSummary.model_validate(r) for r in rows], limit=limit, offset=offset
    )


@router.get("/audits/{audit_id}")
async def get_audit(audit_id: str, engine: Engine, principal: Coordinator) -> QualityAudit:
    """One audit with its sampled studies and their outcomes."""
    return await _audit(engine, principal, audit_id)


@router.post("/audits/{audit_id}/outcomes")
async def record_outcome(
    audit_id: str, body: OutcomeBody, engine: Engine, commands: QualityAuditActions, principal: Coordinator
) -> QualityAudit:
    """Record whether the reader's grade of one sampled study stands (confirmed) or the auditor's replaces it
    (regraded: a grade, its defect reasons and why)."""
    await _audit(engine, principal, audit_id)
    outcome = OutcomeInput(
        principal.actor, body.referral_id, str(body.verdict), body.grade, [str(r) for r in body.reasons], body.comment
    )
    await commands.record(audit_id, outcome)
    return await _audit(engine, principal, audit_id)

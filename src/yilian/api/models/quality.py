"""Image quality scorecards (影像质控): per sending hospital or technician, month by month against a target."""

from __future__ import annotations

from yilian.api.schemas import ApiModel, Timestamp


class QualityMonth(ApiModel):
    month: str  # YYYY-MM, Asia/Shanghai
    graded: int
    good: int  # 甲片 (X-ray) or grade 3 (CT/MR)
    share: float


class ReasonCount(ApiModel):
    reason: str
    count: int


class QualityScorecard(ApiModel):
    subject: str  # the sending hospital's id, or "<hospital id> / <technician>"
    months: list[QualityMonth]
    latest_share: float
    trend: float  # the latest month's share minus the month before's
    meets_target: bool
    top_reasons: list[ReasonCount]


class QualityScorecards(ApiModel):
    by: str
    target: float
    since: Timestamp
    until: Timestamp
    items: list[QualityScorecard]


class AuditItem(ApiModel):
    referral_id: str
    modality: str
    scale: str  # xray | cross_sectional
    grade: str  # the reader's grade when sampled
    reasons: list[str]
    technician: str
    verdict: str | None  # confirmed | regraded; null until recorded
    auditor_grade: str | None
    auditor_reasons: list[str]
    comment: str
    audited_by: str | None
    audited_at: Timestamp | None


class QualityAuditSummary(ApiModel):
    id: str
    hospital_id: str  # the sending hospital audited
    month: str
    mode: str  # random | worst
    requested: int
    state: str  # open | completed
    requested_by: str
    requested_at: Timestamp
    completed_at: Timestamp | None
    total: int
    recorded: int


class QualityAudit(QualityAuditSummary):
    items: list[AuditItem]

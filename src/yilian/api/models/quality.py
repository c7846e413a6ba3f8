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

"""Image quality control (影像质控): the reader grades each study's technical quality; coordinators see scorecards.

X-ray studies are graded 甲/乙/丙/丁 (wire values A-D; 甲片 is a good film), CT and MR 3-0 (3: no defect, 0: not
diagnostic; 3 is good). A grade below good names at least one defect reason. docs/reading-service.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

from yilian.domain.errors import ErrorCode, YilianError


class QualityScale(StrEnum):
    XRAY = "xray"  # 甲/乙/丙/丁
    CROSS_SECTIONAL = "cross_sectional"  # CT, MR: 3-0


class DefectReason(StrEnum):
    POSITIONING = "positioning"  # 体位
    EXPOSURE = "exposure"  # 曝光 / 剂量
    MOTION = "motion"  # 运动伪影
    ARTEFACT = "artefact"  # 其他伪影 (metal, foreign body, equipment)
    COVERAGE = "coverage"  # 扫描/摄片范围不全
    PROTOCOL = "protocol"  # 序列/参数/重建不符合规范


XRAY_MODALITIES = frozenset({"CR", "DX", "DR", "MG", "RF", "XA", "IO", "PX"})
CROSS_SECTIONAL_MODALITIES = frozenset({"CT", "MR"})
GRADES: Mapping[QualityScale, tuple[str, ...]] = {
    QualityScale.XRAY: ("A", "B", "C", "D"),  # 甲 乙 丙 丁, best first
    QualityScale.CROSS_SECTIONAL: ("3", "2", "1", "0"),
}
DEFAULT_TARGET = 0.9  # an alliance's usual goal: at least 90 % 甲片 / good images a month


def scale_for(modality: str) -> QualityScale | None:
    if modality in XRAY_MODALITIES:
        return QualityScale.XRAY
    if modality in CROSS_SECTIONAL_MODALITIES:
        return QualityScale.CROSS_SECTIONAL
    return None


def is_good(scale: QualityScale, grade: str) -> bool:
    return grade == GRADES[scale][0]


@dataclass(frozen=True)
class QualityGrade:
    """A reader's grade of one study, checked against its modality's scale."""

    scale: QualityScale
    grade: str
    reasons: tuple[DefectReason, ...]

    @property
    def good(self) -> bool:
        return is_good(self.scale, self.grade)


def grade_of(modality: str, grade: str, reasons: Iterable[str]) -> QualityGrade:
    """The grade, or `validation_failed` naming what is wrong (unknown scale or grade, missing or unknown reason)."""
    scale = scale_for(modality)
    if scale is None:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED, f"no quality scale for {modality} studies", {"modality": modality}
        )
    if grade not in GRADES[scale]:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            f"{modality} studies are graded {', '.join(GRADES[scale])}",
            {"field": "grade", "allowed": list(GRADES[scale])},
        )
    known = {str(r) for r in DefectReason}
    unknown = sorted(set(reasons) - known)
    if unknown:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED, f"unknown defect reasons: {', '.join(unknown)}", {"field": "reasons"}
        )
    named = tuple(sorted({DefectReason(r) for r in reasons}))
    if not is_good(scale, grade) and not named:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED, "a grade below the best names at least one defect reason", {"field": "reasons"}
        )
    return QualityGrade(scale, grade, named)


def retake_reasons(reasons: Iterable[str]) -> tuple[DefectReason, ...]:
    """The defect reasons a retake names: at least one, each known."""
    known = {str(r) for r in DefectReason}
    given = set(reasons)
    if not given or given - known:
        raise YilianError(
            ErrorCode.VALIDATION_FAILED,
            "a retake names one or more defect reasons: " + ", ".join(sorted(known)),
            {"field": "reasons", "unknown": sorted(given - known)},
        )
    return tuple(sorted(DefectReason(r) for r in given))


# ---- scorecards ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Month:
    month: str  # YYYY-MM
    graded: int
    good: int

    @property
    def share(self) -> float:
        return self.good / self.graded if self.graded else 0.0


@dataclass(frozen=True)
class Scorecard:
    """One hospital's (or technician's) months, oldest first, against the target."""

    subject: str
    months: tuple[Month, ...]
    target: float
    top_reasons: tuple[tuple[str, int], ...]

    @property
    def latest_share(self) -> float:
        return self.months[-1].share if self.months else 0.0

    @property
    def meets_target(self) -> bool:
        return bool(self.months) and self.latest_share >= self.target

    @property
    def trend(self) -> float:
        """The latest month's share minus the month before's (0 with fewer than two months)."""
        return self.months[-1].share - self.months[-2].share if len(self.months) > 1 else 0.0


def scorecards(rows: Iterable[Mapping[str, object]], target: float = DEFAULT_TARGET, top: int = 3) -> list[Scorecard]:
    """Scorecards from grade rows (`subject`, `month`, `good`: bool, `reasons`: list), one per subject, by name."""
    months: dict[str, Counter[str]] = {}
    goods: dict[str, Counter[str]] = {}
    reasons: dict[str, Counter[str]] = {}
    for r in rows:
        subject, month = str(r["subject"]), str(r["month"])
        months.setdefault(subject, Counter())[month] += 1
        goods.setdefault(subject, Counter())[month] += 1 if r["good"] else 0
        reasons.setdefault(subject, Counter()).update(str(x) for x in r["reasons"])  # type: ignore[attr-defined]
    return [
        Scorecard(
            subject,
            tuple(Month(m, months[subject][m], goods[subject][m]) for m in sorted(months[subject])),
            target,
            tuple(sorted(reasons[subject].items(), key=lambda kv: (-kv[1], kv[0]))[:top]),
        )
        for subject in sorted(months)
    ]

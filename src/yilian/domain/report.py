"""Report content and second-reading grades (RADPEER-like)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class ReportKind(StrEnum):
    DRAFT = "draft"
    PRELIMINARY = "preliminary"
    FINAL = "final"
    ADDENDUM = "addendum"


class Discrepancy(StrEnum):
    """Second reader's grade: agree (RADPEER 1), minor (2a/3a), major (2b/3b, likely significant)."""

    AGREE = "agree"
    MINOR = "minor"
    MAJOR = "major"


# A report travels in a workflow Update (Temporal refuses a payload over 2 MB): its size is bounded by these.
MAX_FINDINGS = 20000
MAX_IMPRESSION = 5000
MAX_CRITICAL_NOTE = 2000
MAX_STRUCTURED_FIELDS = 50
MAX_STRUCTURED_KEY = 64
MAX_STRUCTURED_VALUE = 2000


@dataclass(frozen=True)
class ReportContent:
    findings: str
    impression: str
    # Structured fields such as {"lung_rads": "4A"}; keys and values are plain strings.
    structured: dict[str, str] = field(default_factory=dict)
    critical: bool = False
    critical_note: str = ""

    def problems(self, *, complete: bool) -> list[str]:
        """What is wrong with this content; a draft may be incomplete, a submitted report may not."""
        out: list[str] = []
        if complete and not self.findings.strip():
            out.append("findings are empty")
        if complete and not self.impression.strip():
            out.append("impression is empty")
        if self.critical and complete and not self.critical_note.strip():
            out.append("a critical finding needs a note saying what is critical")
        if len(self.findings) > MAX_FINDINGS or len(self.impression) > MAX_IMPRESSION:
            out.append("report text is too long")
        if len(self.critical_note) > MAX_CRITICAL_NOTE:
            out.append("the critical note is too long")
        if len(self.structured) > MAX_STRUCTURED_FIELDS or any(
            len(k) > MAX_STRUCTURED_KEY or len(v) > MAX_STRUCTURED_VALUE for k, v in self.structured.items()
        ):
            out.append("structured fields are too many or too long")
        return out


@dataclass(frozen=True)
class SignedSection:
    """One signed text of a report: the final report's, or an addendum's."""

    kind: ReportKind  # FINAL or ADDENDUM
    version: int
    findings: str
    impression: str


@dataclass(frozen=True)
class SignedReport:
    """A signed report as search indexes it: the case's facets and parties, and its signed texts (no patient)."""

    referral_id: str
    report_version: int  # the newest version number: orders re-indexings of the same case
    signed_at: datetime
    modality: str
    body_part: str
    priority: str
    study_instance_uid: str
    requesting_hospital_id: str
    requesting_hospital_name: str
    reading_hospital_id: str
    reading_hospital_name: str
    offered_to: str | None
    reader_id: str | None
    reader_name: str
    signer_id: str | None
    discrepancy: str | None  # the second reading's grade (Discrepancy), None without second reading
    critical: bool
    sections: tuple[SignedSection, ...]

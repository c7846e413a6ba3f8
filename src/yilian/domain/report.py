"""Report content and second-reading grades (RADPEER-like)."""

from __future__ import annotations

from dataclasses import dataclass, field
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
        if len(self.findings) > 20000 or len(self.impression) > 5000:
            out.append("report text is too long")
        return out

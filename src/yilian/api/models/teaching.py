"""Teaching cases as the API shows them: the library card, the case (with the educator's review material), the
unknown-case question and its answer, proposals, a doctor's history, collections."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yilian.api.schemas import ApiModel, Page, Timestamp
from yilian.domain.teaching import (
    Certainty,
    Difficulty,
    ProposalDecision,
    ProposalReason,
    TeachingAction,
    TeachingState,
    Visibility,
)


class CurationOut(ApiModel):
    title: str
    diagnosis: str
    icd10: str
    differential: list[str]
    teaching_points: str
    key_images: list[str] = Field(description="SOP Instance UIDs in the de-identified copy")
    modality: str
    body_part: str
    difficulty: Difficulty
    tags: list[str]
    certainty: Certainty
    visibility: Visibility
    history: str = Field(description="the clinical question, de-identified (and corrected by the educator)")
    findings: str = Field(description="the signed report's findings, de-identified")
    impression: str = Field(description="the signed report's impression, de-identified")
    reviewed_images: list[str] = Field(description="flagged instances the educator has looked at")


class TeachingCaseCard(ApiModel):
    """A case in the library: what a learner may read of it (never its source)."""

    id: str
    state: TeachingState
    version: int
    curation: CurationOut
    study_instance_uid: str | None = Field(description="the de-identified copy's Study Instance UID")
    published_at: Timestamp | None
    updated_at: Timestamp


class Facets(ApiModel):
    modality: dict[str, int]
    body_part: dict[str, int]
    difficulty: dict[str, int]
    tag: dict[str, int]


class LibraryPage(Page[TeachingCaseCard]):
    facets: Facets


class TextChange(ApiModel):
    """One replacement the de-identification made: what and where (in the source and in the result)."""

    field: str
    kind: str
    original: str
    replacement: str
    start: int
    end: int
    new_start: int
    new_end: int


class RedactedText(ApiModel):
    original: str
    redacted: str


class ImageFlag(ApiModel):
    sop_instance_uid: str
    reason: str


class Deidentification(ApiModel):
    """The educator's review before publishing: the text diff and the images a person must look at."""

    study_instance_uid: str
    instances: int
    text: dict[str, RedactedText]
    changes: list[TextChange]
    image_flags: list[ImageFlag]
    patient: dict[str, str] = Field(description="what stays of the patient: pseudonym, age band, sex")


class TeachingEventOut(ApiModel):
    seq: int
    action: TeachingAction
    from_state: TeachingState | None
    to_state: TeachingState
    actor_id: str
    actor_role: str
    actor_name: str | None
    at: Timestamp
    details: dict[str, Any]


class CurationVersion(ApiModel):
    version: int
    author_id: str
    created_at: Timestamp
    curation: CurationOut


class FollowUp(ApiModel):
    referral_id: str
    at: Timestamp


class TeachingCaseDetail(TeachingCaseCard):
    """The case as the caller may see it; the source, the review material and the trail are the educator's."""

    allowed_actions: list[TeachingAction]
    referral_id: str | None = Field(description="educators: the signed referral it was made from")
    nominated_by: str | None
    reason: str | None
    curator_id: str | None
    deidentification: Deidentification | None
    events: list[TeachingEventOut]
    versions: list[CurationVersion]
    follow_ups: list[FollowUp]
    similar: list[TeachingCaseCard]


class UnknownCase(ApiModel):
    """Unknown-case mode: the history and the images first, nothing of the answer."""

    id: str
    modality: str
    body_part: str
    difficulty: Difficulty
    history: str = Field(description="the clinical question, de-identified")
    patient: dict[str, str] = Field(description="age band and sex")
    study_instance_uid: str | None
    attempts: int = Field(description="the caller's earlier attempts at this case")


class FindingMatch(ApiModel):
    """One finding as the expert's report and the doctor's impression state it."""

    concept: str
    expert: str | None = Field(description="present | negated | uncertain; null: not mentioned")
    yours: str | None
    agrees: bool


class Comparison(ApiModel):
    findings: list[FindingMatch]
    agreed: int = Field(description="findings both state the same way")
    missed: list[str] = Field(description="present in the expert's report, not in the impression")
    extra: list[str] = Field(description="present in the impression, not in the expert's report")


class Answer(ApiModel):
    diagnosis: str
    icd10: str
    differential: list[str]
    teaching_points: str
    certainty: Certainty
    findings: str = Field(description="the expert's findings, de-identified")
    impression: str = Field(description="the expert's impression, de-identified")
    key_images: list[str]


class Attempt(ApiModel):
    id: int
    case_id: str
    impression: str
    created_at: Timestamp
    answer: Answer
    comparison: Comparison


class Nomination(ApiModel):
    """A flagged case: its teaching case's id and state (a draft its flagger cannot open)."""

    case_id: str
    referral_id: str
    state: TeachingState


class Proposal(ApiModel):
    referral_id: str
    modality: str
    body_part: str
    final_at: Timestamp | None
    impression: str
    icd10: str
    reasons: list[ProposalReason]


class ProposalDecided(ApiModel):
    referral_id: str
    decision: ProposalDecision
    case_id: str | None


class HistoryItem(ApiModel):
    case_id: str
    title: str
    modality: str
    body_part: str
    difficulty: Difficulty
    views: int
    first_seen_at: Timestamp
    last_seen_at: Timestamp
    attempts: int
    last_attempt_at: Timestamp | None


class Collection(ApiModel):
    id: str
    title: str
    description: str
    owner_id: str
    owner_name: str
    updated_at: Timestamp
    cases: int = Field(description="the cases of it the caller may see")


class CollectionDetail(Collection):
    items: list[TeachingCaseCard]

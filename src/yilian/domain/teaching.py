"""Teaching cases: a signed referral becomes a de-identified case that educators curate and doctors learn from.

An action table (`domain/action_table.py`) like the referral's: states, and each action's whole rule as data (from
which states, to which state, who may take it, what must come with it). `validate()` is the one check the workflow's
Update validators, its re-check under the lock and the API call; `allowed_actions()` gives the buttons. Who may see
a case is `TEACHING_GRANTS` (data, compiled to SQL by db/queries/teaching.py): a case nobody has published is
invisible to learners.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum

from yilian.domain.action_table import ActionTable, Rule
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import READER_ROLES, Actor, Role


class TeachingState(StrEnum):
    NOMINATED = "nominated"  # flagged by a reader, senior or educator; an educator accepts or dismisses it
    DEIDENTIFYING = "deidentifying"  # the image copy and the text are being de-identified
    IN_REVIEW = "in_review"  # the educator curates and checks the de-identification
    PUBLISHED = "published"  # in the library and the teaching index
    UNPUBLISHED = "unpublished"  # taken out of the library and the index; may be published again
    DISMISSED = "dismissed"  # not a teaching case (the end)


class TeachingAction(StrEnum):
    NOMINATE = "nominate"
    ACCEPT = "accept"
    DISMISS = "dismiss"
    DEIDENTIFIED = "deidentified"  # the system's: the copy and the redacted text are ready for review
    EDIT = "edit"  # a curation edit: a new version
    PUBLISH = "publish"
    PUBLISH_BLOCKED = "publish_blocked"  # a publish the leak scan refused: audited with its findings
    UNPUBLISH = "unpublish"


class Visibility(StrEnum):
    DRAFT = "draft"  # educators only
    ALLIANCE = "alliance"  # every signed-in doctor of the alliance
    PUBLIC = "public"  # meant for an open door outside the alliance; inside it, the same as alliance


class Difficulty(StrEnum):
    BASIC = "basic"
    INTERMEDIATE = "intermediate"
    ADVANCED = "advanced"


class Certainty(StrEnum):
    """How sure the diagnosis is: what a learner should weigh it by."""

    PATHOLOGY_PROVEN = "pathology_proven"
    FOLLOW_UP_CONFIRMED = "follow_up_confirmed"
    EXPERT_CONSENSUS = "expert_consensus"
    PRESUMPTIVE = "presumptive"


class Guard(StrEnum):
    SYSTEM = "system"
    NOMINATOR = "nominator"  # an educator, or a reader or senior who answers for the signed report
    EDUCATOR = "educator"


class Need(StrEnum):
    CURATION = "curation"  # a curation within its limits (it may be incomplete)
    READY = "ready"  # a curation complete enough to publish: title, diagnosis, a visibility learners get
    COMMENT = "comment"  # a reason


T = TeachingState
LIBRARY_STATES = frozenset({T.PUBLISHED})
TERMINAL_STATES = frozenset({T.DISMISSED})
CURATED_STATES = frozenset({T.IN_REVIEW, T.PUBLISHED, T.UNPUBLISHED})


A, N = TeachingAction, Need
RULES: dict[TeachingAction, Rule[TeachingState, Guard, Need]] = {
    A.ACCEPT: Rule(frozenset({T.NOMINATED}), T.DEIDENTIFYING, Guard.EDUCATOR),
    A.DISMISS: Rule(frozenset({T.NOMINATED, T.IN_REVIEW}), T.DISMISSED, Guard.EDUCATOR),
    A.DEIDENTIFIED: Rule(frozenset({T.DEIDENTIFYING}), T.IN_REVIEW, Guard.SYSTEM),
    A.EDIT: Rule(CURATED_STATES, None, Guard.EDUCATOR, frozenset({N.CURATION})),
    A.PUBLISH: Rule(frozenset({T.IN_REVIEW, T.UNPUBLISHED}), T.PUBLISHED, Guard.EDUCATOR, frozenset({N.READY})),
    A.PUBLISH_BLOCKED: Rule(frozenset({T.IN_REVIEW, T.UNPUBLISHED}), None, Guard.EDUCATOR),
    A.UNPUBLISH: Rule(frozenset({T.PUBLISHED}), T.UNPUBLISHED, Guard.EDUCATOR, frozenset({N.COMMENT})),
}  # fmt: skip
# Nominating creates the case, so it has no from-state: `may_nominate` is its rule.

PERSON_ACTIONS: tuple[TeachingAction, ...] = (A.ACCEPT, A.DISMISS, A.EDIT, A.PUBLISH, A.UNPUBLISH)

ICD10 = re.compile(r"^[A-Z][0-9]{2}(\.[0-9A-Z]{1,4})?$")
TITLE_MAX, TEXT_MAX, REPORT_MAX, LIST_MAX, ITEM_MAX, REVIEWED_MAX = 200, 8000, 20000, 30, 200, 5000


@dataclass(frozen=True)
class Curation:
    """What the educator writes about the case. Every edit is a whole new version (never a patch)."""

    title: str = ""
    diagnosis: str = ""  # free text
    icd10: str = ""  # ICD-10 code, e.g. "C34.1"
    differential: list[str] = field(default_factory=list)
    teaching_points: str = ""
    key_images: list[str] = field(default_factory=list)  # SOP Instance UIDs of the de-identified copy
    modality: str = ""
    body_part: str = ""
    difficulty: Difficulty = Difficulty.INTERMEDIATE
    tags: list[str] = field(default_factory=list)
    certainty: Certainty = Certainty.PRESUMPTIVE
    visibility: Visibility = Visibility.DRAFT
    # What a learner reads of the source: the de-identified history and report, as the educator corrected them
    # after reviewing the diff (the first version is the redaction's output).
    history: str = ""
    findings: str = ""
    impression: str = ""
    # Instances flagged for possible burned-in text that the educator has looked at (SOP Instance UIDs of the copy):
    # the leak scan blocks publishing while a flagged image is not among them.
    reviewed_images: list[str] = field(default_factory=list)

    def problems(self, *, ready: bool) -> list[str]:
        out: list[str] = []
        notes, source = (self.diagnosis, self.teaching_points), (self.history, self.findings, self.impression)
        too_long = len(self.title) > TITLE_MAX or any(len(x) > TEXT_MAX for x in notes)
        if too_long or any(len(x) > REPORT_MAX for x in source) or len(self.reviewed_images) > REVIEWED_MAX:
            out.append("text is too long")
        lists = (self.differential, self.key_images, self.tags)
        if any(len(x) > LIST_MAX or any(len(i) > ITEM_MAX or not i.strip() for i in x) for x in lists):
            out.append(f"a list has more than {LIST_MAX} items, or an empty or too long item")
        if self.icd10 and not ICD10.match(self.icd10):
            out.append(f"{self.icd10!r} is not an ICD-10 code")
        if ready:
            if not self.title.strip():
                out.append("no title")
            if not self.diagnosis.strip():
                out.append("no diagnosis")
            if self.visibility is Visibility.DRAFT:
                out.append("visibility is draft: choose alliance or public")
        return out


@dataclass(frozen=True)
class TeachingCase:
    """The part of a teaching case that decides who may do what next."""

    case_id: str
    state: TeachingState = T.NOMINATED
    nominated_by: str = ""
    curator_id: str | None = None  # the educator who accepted it: told of follow-ups
    curation: Curation = field(default_factory=Curation)
    version: int = 0  # curation versions so far
    seq: int = 0  # audited events so far


@dataclass(frozen=True)
class TeachingEvent:
    case_id: str
    seq: int
    action: TeachingAction
    from_state: TeachingState | None
    to_state: TeachingState
    actor: Actor
    at: datetime


NOMINATOR_ROLES = READER_ROLES | {Role.EDUCATOR}


@dataclass(frozen=True)
class SignedCase:
    """What a referral says about who may flag it: its state's being signed, and who answers for the report."""

    referral_id: str
    signed: bool  # final, returned, closed or amended
    reading_hospital_id: str
    reader_id: str | None
    second_reader_id: str | None


def may_nominate(actor: Actor, case: SignedCase) -> None:
    """Raise unless `actor` may flag the case: an educator, or its reader or second reader, once it is signed."""
    signer = (
        actor.role in READER_ROLES
        and actor.hospital_id == case.reading_hospital_id
        and actor.user_id in (case.reader_id, case.second_reader_id)
    )
    if not (actor.role is Role.EDUCATOR or signer):
        raise YilianError(
            ErrorCode.FORBIDDEN,
            f"{actor.role} {actor.user_id} may not flag this case",
            {"action": A.NOMINATE, "required": Guard.NOMINATOR},
        )
    if not case.signed:
        raise YilianError(
            ErrorCode.INVALID_TRANSITION,
            "only a signed case can become a teaching case",
            {"action": A.NOMINATE, "referral_id": case.referral_id},
        )


def guard_allows(guard: Guard, case: TeachingCase, actor: Actor) -> bool:
    """A teaching case's guards are roles: the case does not change who may act on it."""
    if guard is Guard.SYSTEM:
        return actor.role is Role.SYSTEM
    if guard is Guard.EDUCATOR:
        return actor.role is Role.EDUCATOR
    return actor.role in NOMINATOR_ROLES


@dataclass(frozen=True)
class Given:
    curation: Curation | None = None
    comment: str = ""


def _missing(case: TeachingCase, action: TeachingAction, actor: Actor, need: Need, given: Given) -> list[str]:
    if need is Need.COMMENT:
        return [] if given.comment.strip() else ["missing the reason"]
    curation = given.curation if need is Need.CURATION else (given.curation or case.curation)
    if curation is None:
        return ["no curation"]
    return curation.problems(ready=need is Need.READY)


TABLE = ActionTable(
    RULES, PERSON_ACTIONS, guard_allows, _missing, Given(), this="a teaching case", kind="a teaching case"
)
# Who (guard), when (state) and with what (needs): the same catalogue error wherever it is called.
check, validate, permitted, allowed_actions = TABLE.check, TABLE.validate, TABLE.permitted, TABLE.allowed_actions


def transition(
    case: TeachingCase, action: TeachingAction, actor: Actor, at: datetime, *, curation: Curation | None = None
) -> tuple[TeachingCase, TeachingEvent]:
    """Apply one action (validated before): the new value and its audit event."""
    rule = check(case, action, actor)
    to_state = rule.to_state or case.state
    new = replace(case, state=to_state, seq=case.seq + 1)
    if action is A.ACCEPT:
        new = replace(new, curator_id=actor.user_id)
    if curation is not None:
        new = replace(new, curation=curation, version=case.version + 1)
    return new, TeachingEvent(case.case_id, new.seq, action, case.state, to_state, actor, at)


# ---- who may see a case ------------------------------------------------------------------------
@dataclass(frozen=True)
class TeachingGrant:
    every_state: bool = False  # nominations, reviews, dismissed and unpublished cases too
    published: frozenset[Visibility] = frozenset()  # published cases of these visibilities


LEARNER_VISIBILITIES = frozenset({Visibility.ALLIANCE, Visibility.PUBLIC})
_LEARNER = TeachingGrant(published=LEARNER_VISIBILITIES)
TEACHING_GRANTS: dict[Role, TeachingGrant] = {
    Role.EDUCATOR: TeachingGrant(every_state=True),
    Role.ADMIN: TeachingGrant(every_state=True),
    Role.COUNTY_DOCTOR: _LEARNER,
    Role.EXPERT: _LEARNER,
    Role.SENIOR: _LEARNER,
    Role.COORDINATOR: _LEARNER,
}  # patients, gateways and the system see no teaching case


def can_see(role: Role, state: TeachingState, visibility: Visibility) -> bool:
    grant = TEACHING_GRANTS.get(role)
    if grant is None:
        return False
    return grant.every_state or (state in LIBRARY_STATES and visibility in grant.published)


def is_learner(role: Role) -> bool:
    return role in TEACHING_GRANTS


# ---- proposals: signed cases worth an educator's look -------------------------------------------
class ProposalReason(StrEnum):
    MINOR_DISCREPANCY = "minor_discrepancy"
    MAJOR_DISCREPANCY = "major_discrepancy"
    CRITICAL_FINDING = "critical_finding"
    RARE_DIAGNOSIS = "rare_diagnosis"


# A diagnosis is rare when its ICD-10 code (the final report's structured "icd10") appears on at most this many
# signed referrals of the alliance. Counting codes is crude, but needs no catalogue of prevalences and is what the
# alliance itself has seen: for a county doctor, what the alliance rarely sees is what is worth teaching.
RARE_AT_MOST = 2


class ProposalDecision(StrEnum):
    ACCEPTED = "accepted"
    DISMISSED = "dismissed"


# ---- unknown-case mode: the doctor's impression beside the expert's report ------------------------
PRESENT, NEGATED, UNCERTAIN = "present", "negated", "uncertain"  # the statuses of search.negation.findings()


@dataclass(frozen=True)
class FindingMatch:
    concept: str
    expert: str | None  # None: the expert's report does not mention it
    yours: str | None
    agrees: bool


@dataclass(frozen=True)
class Comparison:
    findings: list[FindingMatch]
    agreed: int
    missed: list[str]  # the expert states it present; the impression does not
    extra: list[str]  # the impression states it present; the expert does not


def compare(expert: dict[str, str], yours: dict[str, str]) -> Comparison:
    """Each finding either text names, by its status in each. Not mentioning a finding agrees with denying it (a
    report names what matters, absent or present); present against uncertain is a disagreement but neither missed
    nor extra. The expert's findings come first, in order of the concept's name."""
    concepts = sorted(expert) + sorted(set(yours) - set(expert))
    rows: list[FindingMatch] = []
    missed: list[str] = []
    extra: list[str] = []
    for concept in concepts:
        theirs, mine = expert.get(concept), yours.get(concept)
        absent = (None, NEGATED)
        agrees = theirs == mine or (theirs in absent and mine in absent)
        if theirs == PRESENT and mine in absent:
            missed.append(concept)
        if mine == PRESENT and theirs in absent:
            extra.append(concept)
        rows.append(FindingMatch(concept, theirs, mine, agrees))
    return Comparison(rows, sum(r.agrees for r in rows), missed, extra)

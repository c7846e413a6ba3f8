"""What the teaching routes do when it is more than one query: flagging a case (and accepting a proposal) starts
its workflow; a case as the caller sees it; an unknown-case attempt compared with the expert's report."""

from __future__ import annotations

import secrets
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.models.teaching import (
    Answer,
    Attempt,
    Comparison,
    CurationOut,
    CurationVersion,
    Deidentification,
    FindingMatch,
    FollowUp,
    ImageFlag,
    RedactedText,
    TeachingCaseCard,
    TeachingCaseDetail,
    TeachingEventOut,
    TextChange,
    UnknownCase,
)
from yilian.api.referral_view import visible_referral
from yilian.api.workflow_client import TeachingCommands
from yilian.db.engine import reading
from yilian.db.queries import teaching as q
from yilian.domain import teaching as rules
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role
from yilian.domain.teaching import (
    Certainty,
    Curation,
    Difficulty,
    ProposalDecision,
    SignedCase,
    TeachingCase,
    TeachingState,
    Visibility,
    may_nominate,
)
from yilian.domain.teaching_io import TeachingFacts, TeachingInput, TeachingResult
from yilian.search.negation import findings

FLAG = "flag"  # the reason of a one-click flag (a proposal's reasons are ProposalReason values)


def new_case_id(now: datetime) -> str:
    return f"tc-{now:%Y%m%d}-{secrets.token_hex(5)}"


def not_found(case_id: str) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"no teaching case {case_id}", {"case_id": case_id})


async def nominate(
    engine: AsyncEngine, commands: TeachingCommands, principal: Principal, referral_id: str, reason: str = FLAG
) -> TeachingResult:
    """Flag a signed case: its reader, its second reader or an educator (an educator's flag is accepted at once).
    A case already flagged (and not dismissed) is a conflict naming it."""
    async with reading(engine) as conn:
        source = await q.source_of(conn, referral_id)
        existing = await q.open_case_for(conn, referral_id)
    if principal.role is not Role.EDUCATOR:  # educators flag any signed case of the alliance (the proposals show them)
        await visible_referral(engine, principal, referral_id)  # a case the caller cannot see reads as none
    if source is None:
        raise YilianError(ErrorCode.NOT_FOUND, f"no referral {referral_id} that you can see")
    signed = SignedCase(
        referral_id, source["signed"], source["reading_hospital_id"], source["reader_id"], source["second_reader_id"]
    )
    may_nominate(principal.actor, signed)
    if existing is not None:
        raise YilianError(
            ErrorCode.CONFLICT,
            "this case is already a teaching case",
            {"referral_id": referral_id, "case_id": existing},
        )
    now = datetime.now(UTC)
    facts = TeachingFacts(
        case_id=new_case_id(now),
        referral_id=referral_id,
        study_instance_uid=source["study_instance_uid"],
        requesting_hospital_id=source["requesting_hospital_id"],
        patient_ref=source["patient_ref"],
        modality=source["modality"],
        body_part=source["body_part"],
        nominated_by=principal.actor,
        reason=reason,
    )
    return await commands.start(TeachingInput(facts))


async def decide_proposal(
    engine: AsyncEngine, commands: TeachingCommands, principal: Principal, referral_id: str, decision: ProposalDecision
) -> str | None:
    """Accept (the workflow starts, accepted by the educator) or dismiss (recorded, never proposed again)."""
    async with reading(engine) as conn:
        reasons = await q.proposal_reasons(conn, referral_id)
    if reasons is None:
        raise YilianError(
            ErrorCode.NOT_FOUND, f"{referral_id} is not in the proposals queue", {"referral_id": referral_id}
        )
    case_id = None
    if decision is ProposalDecision.ACCEPTED:
        case_id = (await nominate(engine, commands, principal, referral_id, reason=",".join(reasons))).case_id
    async with engine.begin() as conn:
        decided = await q.decide_proposal(
            conn, referral_id, str(decision), reasons, principal.user_id, datetime.now(UTC), case_id
        )
    if not decided:
        raise YilianError(ErrorCode.CONFLICT, "somebody decided on this proposal first", {"referral_id": referral_id})
    return case_id


# ---- a case as the caller sees it ---------------------------------------------------------------
def curation_out(row: dict[str, Any]) -> CurationOut:
    return CurationOut(**{name: row[name] for name in CurationOut.model_fields})


def curation_of(row: dict[str, Any]) -> Curation:
    """The case's newest curation as its projection row holds it."""
    return Curation(
        title=row["title"],
        diagnosis=row["diagnosis"],
        icd10=row["icd10"],
        differential=list(row["differential"]),
        teaching_points=row["teaching_points"],
        key_images=list(row["key_images"]),
        modality=row["modality"],
        body_part=row["body_part"],
        difficulty=Difficulty(row["difficulty"]),
        tags=list(row["tags"]),
        certainty=Certainty(row["certainty"]),
        visibility=Visibility(row["visibility"]),
        history=row["history"],
        findings=row["findings"],
        impression=row["impression"],
        reviewed_images=list(row["reviewed_images"]),
    )


def card(row: dict[str, Any]) -> TeachingCaseCard:
    return TeachingCaseCard(
        id=row["id"],
        state=row["state"],
        version=row["version"],
        curation=curation_out(row),
        study_instance_uid=row["deid_study_instance_uid"],
        published_at=row["published_at"],
        updated_at=row["updated_at"],
    )


def domain_case(row: dict[str, Any]) -> TeachingCase:
    """Enough of the case for `allowed_actions` (its state; the curation only matters to a publish's needs)."""
    return TeachingCase(row["id"], TeachingState(row["state"]), curator_id=row.get("curator_id"))


async def visible_case(engine: AsyncEngine, principal: Principal, case_id: str) -> dict[str, Any]:
    """The case, or 404 when the caller may not see it (a draft reads to a learner as a case that does not exist)."""
    async with reading(engine) as conn:
        row = await q.get_case(conn, case_id, principal.role, full=principal.role is Role.EDUCATOR)
    if row is None:
        raise not_found(case_id)
    return row


def _deidentification(deid: dict[str, Any]) -> Deidentification:
    return Deidentification(
        study_instance_uid=deid["study_instance_uid"],
        instances=deid["instances"],
        text={k: RedactedText(**v) for k, v in deid["text"].items()},
        changes=[TextChange(**c) for c in deid["replacements"]],
        image_flags=[ImageFlag(**f) for f in deid["image_flags"]],
        patient={k: str(v) for k, v in deid["patient"].items()},
    )


async def detail(engine: AsyncEngine, principal: Principal, case_id: str) -> TeachingCaseDetail:
    row = await visible_case(engine, principal, case_id)
    educator = principal.role is Role.EDUCATOR
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        similar = await q.similar(conn, principal.role, row)
        if educator:
            deid = await q.deid_of(conn, case_id)
            events, versions, follow_ups = (
                await q.events(conn, case_id),
                await q.versions(conn, case_id),
                await q.follow_ups(conn, case_id),
            )
        else:
            deid, events, versions, follow_ups = None, [], [], []
            await q.record_view(conn, case_id, principal.user_id, now)
    base = card(row)
    return TeachingCaseDetail(
        **base.model_dump(),
        allowed_actions=rules.allowed_actions(domain_case(row), principal.actor),
        referral_id=row.get("referral_id") if educator else None,
        nominated_by=row.get("nominated_by") if educator else None,
        reason=row.get("reason") if educator else None,
        curator_id=row.get("curator_id"),
        deidentification=_deidentification(deid) if deid else None,
        events=[TeachingEventOut(**e) for e in events],
        versions=[
            CurationVersion(
                version=v["version"],
                author_id=v["author_id"],
                created_at=v["created_at"],
                curation=CurationOut(**v["curation"]),
            )
            for v in versions
        ],  # fmt: skip
        follow_ups=[FollowUp(**f) for f in follow_ups],
        similar=[card(s) for s in similar],
    )


# ---- unknown-case mode --------------------------------------------------------------------------
async def _learning_material(
    engine: AsyncEngine, principal: Principal, case_id: str
) -> tuple[dict[str, Any], dict[str, Any]]:
    row = await visible_case(engine, principal, case_id)
    async with reading(engine) as conn:
        deid = await q.deid_of(conn, case_id)
    if deid is None:
        raise not_found(case_id)
    return row, deid


async def unknown(engine: AsyncEngine, principal: Principal, case_id: str) -> UnknownCase:
    row, deid = await _learning_material(engine, principal, case_id)
    async with engine.begin() as conn:
        await q.record_view(conn, case_id, principal.user_id, datetime.now(UTC))
        earlier = await q.attempts_of(conn, case_id, principal.user_id)
    return UnknownCase(
        id=row["id"],
        modality=row["modality"],
        body_part=row["body_part"],
        difficulty=row["difficulty"],
        history=row["history"],
        patient={k: str(v) for k, v in deid["patient"].items() if k in ("age_band", "sex")},
        study_instance_uid=row["deid_study_instance_uid"],
        attempts=len(earlier),
    )


def _answer(row: dict[str, Any]) -> Answer:
    return Answer(
        diagnosis=row["diagnosis"],
        icd10=row["icd10"],
        differential=list(row["differential"]),
        teaching_points=row["teaching_points"],
        certainty=row["certainty"],
        findings=row["findings"],
        impression=row["impression"],
        key_images=list(row["key_images"]),
    )


def comparison_out(c: rules.Comparison) -> Comparison:
    return Comparison(
        findings=[FindingMatch(**asdict(f)) for f in c.findings], agreed=c.agreed, missed=c.missed, extra=c.extra
    )


async def attempt(engine: AsyncEngine, principal: Principal, case_id: str, impression: str) -> Attempt:
    """The doctor's own impression first, then the answer: their findings beside the expert's (present, negated,
    uncertain as report search tags them), recorded in their history."""
    row, _ = await _learning_material(engine, principal, case_id)
    answer = _answer(row)
    expert_text = "\n".join(x for x in (answer.findings, answer.impression, answer.diagnosis) if x)
    compared = comparison_out(rules.compare(_statuses(findings(expert_text)), _statuses(findings(impression))))
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        attempt_id = await q.add_attempt(conn, case_id, principal.user_id, impression, compared.model_dump(), now)
    return Attempt(
        id=attempt_id, case_id=case_id, impression=impression, created_at=now, answer=answer, comparison=compared
    )


def _statuses(found: dict[str, Any]) -> dict[str, str]:
    return {str(concept): str(status) for concept, status in found.items()}

"""Referrals: submission by the county, the worklist, case detail, and every action people take on a case."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query
from pydantic import Field, field_validator

from yilian.api import cloud_film_service as film_service
from yilian.api import referral_service as service
from yilian.api.action_routes import ActionRoute, add_action_routes
from yilian.api.deps import AppSettings, CaseAccess, CaseCaller, Commands, CurrentPrincipal, Engine, require_role
from yilian.api.models.cloud_film import FilmStudy, film_study
from yilian.api.models.referral import AuditEvent, Patient, PriorCase, Referral, ReferralDetail, ReportVersion
from yilian.api.referral_view import acted_referral, referral_out, referral_scope, visible_referral
from yilian.api.schemas import Page, RequestBody
from yilian.api.workflow_client import ReferralCommands
from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import referral as q
from yilian.domain import report
from yilian.domain.access import Principal, sees_drafts
from yilian.domain.agreement import Priority
from yilian.domain.quality import DefectReason
from yilian.domain.referral import Action
from yilian.domain.referral_io import (
    ActorInput,
    QualityInput,
    ReassignInput,
    ReportInput,
    RetakeInput,
    ReviewInput,
)
from yilian.domain.report import Discrepancy, ReportContent
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/referrals", tags=["referrals"])
UID_PATTERN = r"^[0-9]+(\.[0-9]+)*$"


# ---- schemas ------------------------------------------------------------------------------------
class PatientIn(RequestBody):
    patient_id: str = Field(min_length=1, max_length=64)
    issuer: str | None = Field(default=None, max_length=64, description="defaults to the hospital's issuer")
    name: str = Field(min_length=1, max_length=200)
    birth_date: date
    sex: Literal["M", "F", "O"]


class SubmitReferral(RequestBody):
    patient: PatientIn
    study_instance_uid: str = Field(min_length=3, max_length=64, pattern=UID_PATTERN)
    modality: str = Field(min_length=2, max_length=16, pattern=r"^[A-Z]{2,16}$")
    body_part: str = Field(min_length=1, max_length=64)
    clinical_question: str = Field(min_length=3, max_length=4000)
    priority: Priority
    difficult: bool = False
    overflow: bool = Field(default=False, description="half hosting: the county's own readers are overloaded")
    reading_hospital_id: str | None = None

    @field_validator("body_part")
    @classmethod
    def _upper(cls, v: str) -> str:
        return v.strip().upper()


StructuredKey = Annotated[str, Field(min_length=1, max_length=report.MAX_STRUCTURED_KEY)]
StructuredValue = Annotated[str, Field(max_length=report.MAX_STRUCTURED_VALUE)]


class ReportBody(RequestBody):
    findings: str = Field(max_length=report.MAX_FINDINGS)
    impression: str = Field(max_length=report.MAX_IMPRESSION)
    structured: dict[StructuredKey, StructuredValue] = Field(
        default_factory=dict, max_length=report.MAX_STRUCTURED_FIELDS
    )
    critical: bool = False
    critical_note: str = Field(default="", max_length=report.MAX_CRITICAL_NOTE)

    def content(self) -> ReportContent:
        return ReportContent(self.findings, self.impression, dict(self.structured), self.critical, self.critical_note)


class CommentBody(RequestBody):
    comment: str = Field(default="", max_length=4000)


class RequiredComment(RequestBody):
    comment: str = Field(min_length=1, max_length=4000)


class ReviewBody(RequestBody):
    discrepancy: Discrepancy
    comments: str = Field(default="", max_length=4000)


class QualityBody(RequestBody):
    grade: str = Field(min_length=1, max_length=1, description="X-ray: A-D (甲乙丙丁); CT/MR: 3-0 (3 is no defect)")
    reasons: list[DefectReason] = Field(default_factory=list, max_length=6, description="needed below the best grade")


class RetakeBody(RequestBody):
    reasons: list[DefectReason] = Field(min_length=1, max_length=6)
    comment: str = Field(min_length=1, max_length=4000, description="what the retake should do differently")


class ReassignBody(RequestBody):
    expert_id: str | None = Field(default=None, description="omit to send the case back to automatic routing")
    reason: str = Field(min_length=1, max_length=2000)


# ---- helpers ------------------------------------------------------------------------------------
async def _act(
    engine: Engine,
    commands: ReferralCommands,
    access: CaseAccess,
    action: Action,
    arg: Any,
    *,
    reopen: bool = False,
) -> Referral:
    """One Update on a case the caller may see (checked by `CaseCaller`), answered with the row it wrote."""
    result = await commands.act(access.row["id"], action, arg, reopen=reopen)
    return referral_out(await acted_referral(engine, access.principal, result), access.principal)


# ---- routes -------------------------------------------------------------------------------------
@router.post("", status_code=201)
async def submit_referral(
    body: SubmitReferral,
    engine: Engine,
    commands: Commands,
    settings: AppSettings,
    principal: Annotated[Principal, Depends(require_role(Role.COUNTY_DOCTOR))],
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", min_length=8, max_length=200)] = None,
) -> Referral:
    """A county doctor sends a case; refused with the agreement's reason when it is not covered. A retry with the
    same `Idempotency-Key` answers with the case the first try made (docs/ops.md), never a second case."""
    patient = service.PatientDetails(**body.patient.model_dump())
    submission = service.Submission(patient=patient, **body.model_dump(exclude={"patient"}))
    result = await service.submit(
        engine,
        commands,
        principal.actor,
        submission,
        datetime.now(UTC),
        share_link_days=settings.share_link_days,
        idempotency_key=idempotency_key,
    )
    return referral_out(await acted_referral(engine, principal, result), principal)


@router.get("")
async def list_referrals(
    engine: Engine,
    principal: CurrentPrincipal,
    state: Annotated[list[str] | None, Query()] = None,
    priority: Priority | None = None,
    modality: str | None = None,
    hospital_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[Referral]:
    """The caller's worklist, most urgent SLA first."""
    async with reading(engine) as conn:
        rows = await q.worklist(
            conn,
            principal,
            states=state,
            priority=priority,
            modality=modality,
            hospital_id=hospital_id,
            limit=limit,
            offset=offset,
        )
    now = datetime.now(UTC)
    return Page[Referral].of([referral_out(r, principal, now) for r in rows], limit=limit, offset=offset)


@router.get("/{referral_id}")
async def get_referral(referral_id: str, engine: Engine, access: CaseCaller) -> ReferralDetail:
    principal, row = access.principal, access.row
    async with reading(engine) as conn:
        patient = await alliance.get_patient(conn, row["patient_ref"])
        reports = (
            await q.report_history(conn, referral_id)
            if sees_drafts(principal, referral_scope(row))
            else await q.signed_reports(conn, referral_id)
        )
    return ReferralDetail(
        **referral_out(row, principal).model_dump(),
        patient=Patient.model_validate(patient),
        reports=[ReportVersion.model_validate(r) for r in reports],
    )


@router.get("/{referral_id}/priors")
async def get_priors(referral_id: str, engine: Engine, principal: CurrentPrincipal) -> Page[PriorCase]:
    """The patient's earlier cases (same Patient ID + issuer) with their signed reports, for the reader."""
    row = await visible_referral(engine, principal, referral_id)
    async with reading(engine) as conn:
        items = await q.priors(conn, row["patient_ref"], referral_id)
    return Page[PriorCase].of([PriorCase.model_validate(i) for i in items])


@router.get("/{referral_id}/recognised-priors")
async def get_recognised_priors(referral_id: str, engine: Engine, principal: CurrentPrincipal) -> Page[FilmStudy]:
    """The patient's studies from other alliance hospitals that the caller may open in the viewer (检查结果互认):
    empty unless the patient consents; each listed is in the patient's access log (cloud film)."""
    row = await visible_referral(engine, principal, referral_id)
    rows = await film_service.recognised_priors(engine, principal, row, datetime.now(UTC))
    return Page[FilmStudy].of([film_study(r) for r in rows])


@router.get("/{referral_id}/audit")
async def get_audit(referral_id: str, engine: Engine, principal: CurrentPrincipal) -> Page[AuditEvent]:
    """The case's audit trail, oldest first."""
    await visible_referral(engine, principal, referral_id)
    async with reading(engine) as conn:
        events = await q.audit_trail(conn, referral_id)
    return Page[AuditEvent].of([AuditEvent.model_validate(e) for e in events])


# ---- actions: each is one Update on the referral's workflow ---------------------------------------
def _comment(p: Principal, b: Any) -> ActorInput:
    return ActorInput(p.actor, b.comment)


def _report(p: Principal, b: Any) -> ReportInput:
    return ReportInput(p.actor, b.content())


def _quality(p: Principal, b: Any) -> QualityInput:
    return QualityInput(p.actor, b.grade, [str(r) for r in b.reasons])


def _retake(p: Principal, b: Any) -> RetakeInput:
    return RetakeInput(p.actor, [str(r) for r in b.reasons], b.comment)


def _review(p: Principal, b: Any) -> ReviewInput:
    return ReviewInput(p.actor, b.discrepancy, b.comments)


W = Action
ACTION_ROUTES = (
    ActionRoute("accept", W.ACCEPT, CommentBody, _comment, summary="The offered expert takes the case"),
    ActionRoute("decline", W.DECLINE, CommentBody, _comment, summary="The offered expert declines; routing goes on"),
    ActionRoute(
        "draft", W.SAVE_DRAFT, ReportBody, _report, method="PUT",
        summary="Save a draft; every save is a new version, none is ever overwritten",
    ),
    ActionRoute("preliminary", W.SUBMIT_PRELIMINARY, ReportBody, _report, summary="Submit the preliminary report"),
    ActionRoute("approve", W.APPROVE, ReviewBody, _review, summary="Second reader signs the final report"),
    ActionRoute(
        "quality", W.GRADE_QUALITY, QualityBody, _quality,
        summary="The reader grades the images' technical quality (影像质控); below the best grade, with defect reasons",
    ),
    ActionRoute(
        "request-changes", W.REQUEST_CHANGES, ReviewBody, _review,
        summary="Second reader sends the report back with comments",
    ),
    ActionRoute(
        "request-info", W.REQUEST_INFO, RequiredComment, _comment,
        summary="Reader asks the county for more images or history (needs_info)",
    ),
    ActionRoute(
        "retake", W.REQUEST_RETAKE, RetakeBody, _retake,
        summary="Reader sends the study back to be shot again (defect reasons); the SLA pauses as in needs_info",
    ),
    ActionRoute(
        "provide-info", W.PROVIDE_INFO, RequiredComment, _comment, summary="County answers a needs_info request"
    ),
    ActionRoute(
        "cancel", W.CANCEL, RequiredComment, _comment, summary="County withdraws the case before reading"
    ),
    ActionRoute(
        "question", W.CORRECT_QUESTION, RequiredComment, _comment,
        summary="County adds to or corrects the clinical question before reading starts (an auto-referral's is the "
        "order's)",
    ),
    ActionRoute(
        "acknowledge-receipt", W.ACKNOWLEDGE_RECEIPT, CommentBody, _comment,
        summary="County records receipt of the signed report (remote-diagnosis responsibility)",
    ),
    ActionRoute(
        "acknowledge-critical", W.ACKNOWLEDGE_CRITICAL, CommentBody, _comment,
        summary="Referring doctor acknowledges a critical finding",
    ),
    ActionRoute(
        "addenda", W.ADD_ADDENDUM, ReportBody, _report, reopen=True,
        summary="A correction after sign-off: a new version; the signed report never changes",
    ),
)  # fmt: skip


async def _act_by_route(route: ActionRoute[Action], referral_id: str, body: Any, engine: Engine, commands: Commands,
                        access: CaseCaller) -> Referral:  # fmt: skip
    arg = await route.input(engine, access.principal, body)
    return await _act(engine, commands, access, route.action, arg, reopen=route.reopen)


add_action_routes(router, "referral_id", ACTION_ROUTES, _act_by_route)


@router.post("/{referral_id}/reassign")
async def reassign(
    referral_id: str, body: ReassignBody, engine: Engine, commands: Commands, access: CaseCaller
) -> Referral:
    principal, row = access.principal, access.row
    reader = (
        await service.named_reader(engine, body.expert_id, row["reading_hospital_id"], row["requesting_hospital_id"])
        if body.expert_id
        else None
    )
    return await _act(
        engine,
        commands,
        access,
        Action.REASSIGN,
        ReassignInput(principal.actor, body.expert_id, body.reason, bool(reader and reader.is_junior)),
    )

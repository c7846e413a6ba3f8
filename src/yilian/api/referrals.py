"""Referrals: submission by the county, the worklist, case detail, and every action people take on a case."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, Field, field_validator

from yilian.api import workflow_client
from yilian.api.auth import CurrentPrincipal, require_role
from yilian.db.queries import alliance
from yilian.db.queries import referral as q
from yilian.domain.access import Principal, ReferralScope, can_view, sees_drafts
from yilian.domain.agreement import Agreement, CoverageRequest, Priority, coverage
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.messages import (
    ActorInput,
    CaseFacts,
    ReassignInput,
    ReferralInput,
    ReferralPolicy,
    ReportInput,
    ReviewInput,
)
from yilian.domain.report import Discrepancy, ReportContent
from yilian.domain.roles import Role
from yilian.domain.sla import SlaStatus
from yilian.workflows.referral import ReferralWorkflow

router = APIRouter(prefix="/api/referrals", tags=["referrals"])
UID_PATTERN = r"^[0-9]+(\.[0-9]+)*$"


# ---- schemas ------------------------------------------------------------------------------------
class PatientIn(BaseModel):
    patient_id: str = Field(min_length=1, max_length=64)
    issuer: str | None = Field(default=None, max_length=64, description="defaults to the hospital's issuer")
    name: str = Field(min_length=1, max_length=200)
    birth_date: date
    sex: Literal["M", "F", "O"]


class SubmitReferral(BaseModel):
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


class ReportBody(BaseModel):
    findings: str = Field(max_length=20000)
    impression: str = Field(max_length=5000)
    structured: dict[str, str] = Field(default_factory=dict)
    critical: bool = False
    critical_note: str = Field(default="", max_length=2000)

    def content(self) -> ReportContent:
        return ReportContent(self.findings, self.impression, dict(self.structured), self.critical, self.critical_note)


class CommentBody(BaseModel):
    comment: str = Field(default="", max_length=4000)


class RequiredComment(BaseModel):
    comment: str = Field(min_length=1, max_length=4000)


class ReviewBody(BaseModel):
    discrepancy: Discrepancy
    comments: str = Field(default="", max_length=4000)


class ReassignBody(BaseModel):
    expert_id: str | None = Field(default=None, description="omit to send the case back to automatic routing")
    reason: str = Field(min_length=1, max_length=2000)


# ---- helpers ------------------------------------------------------------------------------------
def _scope(row: dict[str, Any]) -> ReferralScope:
    return ReferralScope(row["requesting_hospital_id"], row["reading_hospital_id"], row["offered_to"], row["reader_id"])


def sla_status(row: dict[str, Any], now: datetime) -> str:
    if row["breached"]:
        return SlaStatus.BREACHED
    if row["state"] not in q.OPEN_STATE_VALUES:
        return "met" if row["final_at"] else "n/a"
    if row["sla_paused"]:
        return "paused"
    if row["warned"] or (row["sla_warn_at"] and now >= row["sla_warn_at"]):
        return SlaStatus.AT_RISK
    return SlaStatus.ON_TRACK


def referral_out(row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    out = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items() if k != "last_seq"}
    out["seq"] = row["last_seq"]
    out["sla_status"] = sla_status(row, now or datetime.now(UTC))
    return out


async def visible_referral(request: Request, principal: Principal, referral_id: str) -> dict[str, Any]:
    """The projection row if the caller may see it; 404 otherwise, so ids of others' cases leak nothing."""
    async with request.app.state.engine.connect() as conn:
        row = await q.get_referral(conn, referral_id)
    if row is None or not can_view(principal, _scope(row)):
        raise YilianError(ErrorCode.NOT_FOUND, f"no referral {referral_id} that you can see")
    return row


async def _act(
    request: Request, principal: Principal, referral_id: str, update: Any, arg: Any, *, reopen: bool = False
) -> dict[str, Any]:
    await visible_referral(request, principal, referral_id)
    state = request.app.state
    reopen_on = state.settings.task_queue if reopen else None
    await workflow_client.send_update(state.temporal, referral_id, update, arg, reopen_on=reopen_on)
    return referral_out(await visible_referral(request, principal, referral_id))


def _policy(a: Agreement) -> ReferralPolicy:
    return ReferralPolicy(
        agreement_id=a.id,
        sla=a.sla,
        offer_timeout_minutes=a.offer_timeout_minutes,
        grace_minutes=a.grace_minutes,
        auto_reassign=a.auto_reassign,
        max_auto_reassigns=a.max_auto_reassigns,
        second_reading=a.second_reading,
        second_reading_share=a.second_reading_share,
        pause_sla_in_needs_info=a.pause_sla_in_needs_info,
        critical_ack_minutes=a.critical_ack_minutes,
        critical_renotify_max=a.critical_renotify_max,
    )


def _start_of_local_day(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# ---- routes -------------------------------------------------------------------------------------
@router.post("", status_code=201)
async def submit_referral(
    body: SubmitReferral,
    request: Request,
    principal: Annotated[Principal, Depends(require_role(Role.COUNTY_DOCTOR))],
) -> dict[str, Any]:
    """A county doctor sends a case; refused with the agreement's reason when it is not covered."""
    state = request.app.state
    hospital_id = principal.hospital_id or ""
    now = datetime.now(UTC)
    async with state.engine.begin() as conn:
        candidates = [
            a
            for a in await alliance.agreements_for(conn, hospital_id)
            if body.reading_hospital_id in (None, a.reading_hospital_id)
        ]
        chosen, reasons = None, []
        for a in candidates:
            used = (
                await alliance.overflow_used(conn, hospital_id, _start_of_local_day(now, a.timezone))
                if body.overflow
                else 0
            )
            cov = coverage(
                a,
                CoverageRequest(body.modality, body.body_part, body.priority, body.difficult, now, body.overflow, used),
            )
            if cov.covered:
                chosen = a
                break
            reasons.append({"agreement_id": a.id, "service_mode": a.service_mode, "reason": cov.reason})
        if chosen is None:
            message = reasons[0]["reason"] if reasons else "this hospital has no service agreement"
            raise YilianError(ErrorCode.NOT_COVERED_BY_AGREEMENT, message, {"agreements": reasons})
        issuer = body.patient.issuer or await alliance.patient_id_issuer(conn, hospital_id)
        existing = await alliance.find_patient(conn, hospital_id, issuer, body.patient.patient_id)
        if existing and (existing["birth_date"] != body.patient.birth_date or existing["sex"] != body.patient.sex):
            raise YilianError(
                ErrorCode.PATIENT_IDENTITY_MISMATCH,
                "a patient with this Patient ID is registered with a different birth date or sex",
                {"patient_id": body.patient.patient_id, "issuer": issuer},
            )
        patient_ref = await alliance.register_patient(
            conn,
            hospital_id=hospital_id,
            issuer=issuer,
            patient_id=body.patient.patient_id,
            name=body.patient.name,
            birth_date=body.patient.birth_date,
            sex=body.patient.sex,
            now=now,
        )
    referral_id = f"ref-{now:%Y%m%d}-{uuid.uuid4().hex[:10]}"
    facts = CaseFacts(
        referral_id=referral_id,
        requesting_hospital_id=hospital_id,
        reading_hospital_id=chosen.reading_hospital_id,
        patient_ref=patient_ref,
        study_instance_uid=body.study_instance_uid,
        modality=body.modality,
        body_part=body.body_part,
        clinical_question=body.clinical_question,
        priority=body.priority,
        difficult=body.difficult,
        submitted_by=principal.actor,
        overflow=body.overflow,
    )
    await workflow_client.start_referral(
        state.temporal, state.settings.task_queue, ReferralInput(facts, _policy(chosen))
    )
    return referral_out(await visible_referral(request, principal, referral_id))


@router.get("")
async def list_referrals(
    request: Request,
    principal: CurrentPrincipal,
    state: Annotated[list[str] | None, Query()] = None,
    priority: Priority | None = None,
    modality: str | None = None,
    hospital_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """The caller's worklist, most urgent SLA first."""
    scope = q.worklist_filter(user_id=principal.user_id, role=principal.role, hospital_id=principal.hospital_id)
    async with request.app.state.engine.connect() as conn:
        rows = await q.worklist(
            conn,
            scope,
            states=state,
            priority=priority,
            modality=modality,
            hospital_id=hospital_id,
            limit=limit,
            offset=offset,
        )
    now = datetime.now(UTC)
    return {"items": [referral_out(r, now) for r in rows], "limit": limit, "offset": offset}


@router.get("/{referral_id}")
async def get_referral(referral_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    row = await visible_referral(request, principal, referral_id)
    async with request.app.state.engine.connect() as conn:
        patient = await alliance.get_patient(conn, row["patient_ref"])
        reports = (
            await q.report_history(conn, referral_id)
            if sees_drafts(principal, _scope(row))
            else await q.signed_reports(conn, referral_id)
        )
    out = referral_out(row)
    out["patient"] = {
        k: (v.isoformat() if isinstance(v, date) else v)
        for k, v in (patient or {}).items()
        if k in ("patient_id", "issuer", "name", "birth_date", "sex")
    }
    out["reports"] = [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in r.items()} for r in reports]
    return out


@router.get("/{referral_id}/priors")
async def get_priors(referral_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    """The patient's earlier cases (same Patient ID + issuer) with their signed reports, for the reader."""
    row = await visible_referral(request, principal, referral_id)
    async with request.app.state.engine.connect() as conn:
        items = await q.priors(conn, row["patient_ref"], referral_id)
    return {"items": [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in i.items()} for i in items]}


@router.get("/{referral_id}/audit")
async def get_audit(referral_id: str, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    await visible_referral(request, principal, referral_id)
    async with request.app.state.engine.connect() as conn:
        events = await q.audit_trail(conn, referral_id)
    return {
        "items": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in e.items() if k != "id"} for e in events
        ]
    }


@router.post("/{referral_id}/accept")
async def accept(referral_id: str, body: CommentBody, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return await _act(
        request, principal, referral_id, ReferralWorkflow.accept, ActorInput(principal.actor, body.comment)
    )


@router.post("/{referral_id}/decline")
async def decline(referral_id: str, body: CommentBody, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return await _act(
        request, principal, referral_id, ReferralWorkflow.decline, ActorInput(principal.actor, body.comment)
    )


@router.put("/{referral_id}/draft")
async def save_draft(
    referral_id: str, body: ReportBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """Save a draft; every save is a new version, none is ever overwritten."""
    return await _act(
        request, principal, referral_id, ReferralWorkflow.save_draft, ReportInput(principal.actor, body.content())
    )


@router.post("/{referral_id}/preliminary")
async def submit_preliminary(
    referral_id: str, body: ReportBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _act(
        request,
        principal,
        referral_id,
        ReferralWorkflow.submit_preliminary,
        ReportInput(principal.actor, body.content()),
    )


@router.post("/{referral_id}/approve")
async def approve(referral_id: str, body: ReviewBody, request: Request, principal: CurrentPrincipal) -> dict[str, Any]:
    return await _act(
        request,
        principal,
        referral_id,
        ReferralWorkflow.approve,
        ReviewInput(principal.actor, body.discrepancy, body.comments),
    )


@router.post("/{referral_id}/request-changes")
async def request_changes(
    referral_id: str, body: ReviewBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _act(
        request,
        principal,
        referral_id,
        ReferralWorkflow.request_changes,
        ReviewInput(principal.actor, body.discrepancy, body.comments),
    )


@router.post("/{referral_id}/request-info")
async def request_info(
    referral_id: str, body: RequiredComment, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _act(
        request, principal, referral_id, ReferralWorkflow.request_info, ActorInput(principal.actor, body.comment)
    )


@router.post("/{referral_id}/provide-info")
async def provide_info(
    referral_id: str, body: RequiredComment, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _act(
        request, principal, referral_id, ReferralWorkflow.provide_info, ActorInput(principal.actor, body.comment)
    )


@router.post("/{referral_id}/cancel")
async def cancel(
    referral_id: str, body: RequiredComment, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _act(
        request, principal, referral_id, ReferralWorkflow.cancel, ActorInput(principal.actor, body.comment)
    )


@router.post("/{referral_id}/reassign")
async def reassign(
    referral_id: str, body: ReassignBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    row = await visible_referral(request, principal, referral_id)
    reader = None
    if body.expert_id:
        async with request.app.state.engine.connect() as conn:
            reader = await alliance.reader_at(conn, body.expert_id, row["reading_hospital_id"])
            licensed = await alliance.licences(conn, body.expert_id) if reader else frozenset()
        if reader is None or row["requesting_hospital_id"] not in licensed:
            raise YilianError(
                ErrorCode.VALIDATION_FAILED,
                "that expert is not a reader of the reading hospital licensed for the sending hospital",
                {"expert_id": body.expert_id},
            )
    return await _act(
        request,
        principal,
        referral_id,
        ReferralWorkflow.reassign,
        ReassignInput(principal.actor, body.expert_id, body.reason, bool(reader and reader["is_junior"])),
    )


@router.post("/{referral_id}/acknowledge-receipt")
async def acknowledge_receipt(
    referral_id: str, body: CommentBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """The county hospital records that it received the signed report (remote-diagnosis responsibility)."""
    return await _act(
        request, principal, referral_id, ReferralWorkflow.acknowledge_receipt, ActorInput(principal.actor, body.comment)
    )


@router.post("/{referral_id}/acknowledge-critical")
async def acknowledge_critical(
    referral_id: str, body: CommentBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    return await _act(
        request,
        principal,
        referral_id,
        ReferralWorkflow.acknowledge_critical,
        ActorInput(principal.actor, body.comment),
    )


@router.post("/{referral_id}/addenda")
async def add_addendum(
    referral_id: str, body: ReportBody, request: Request, principal: CurrentPrincipal
) -> dict[str, Any]:
    """A correction after sign-off: a new version; the signed report is never changed."""
    # After the amendment window the workflow has finished; it is reopened from its own result.
    return await _act(
        request,
        principal,
        referral_id,
        ReferralWorkflow.add_addendum,
        ReportInput(principal.actor, body.content()),
        reopen=True,
    )

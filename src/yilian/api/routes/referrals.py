"""Referrals: submission by the county, the worklist, case detail, and every action people take on a case."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field, field_validator

from yilian.api.deps import Commands, CurrentPrincipal, Engine, require_role
from yilian.api.referral_view import referral_out, referral_scope, visible_referral
from yilian.api.schemas import RequestBody
from yilian.api.workflow_client import ReferralCommands
from yilian.db.queries import alliance
from yilian.db.queries import referral as q
from yilian.domain.access import Principal, sees_drafts
from yilian.domain.agreement import CoverageRequest, Priority, coverage
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.referral import Action
from yilian.domain.referral_io import (
    ActorInput,
    CaseFacts,
    ReassignInput,
    ReferralInput,
    ReferralPolicy,
    ReportInput,
    ReviewInput,
)
from yilian.domain.report import Discrepancy, ReportContent
from yilian.domain.roles import READER_ROLES, Role

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


class ReportBody(RequestBody):
    findings: str = Field(max_length=20000)
    impression: str = Field(max_length=5000)
    structured: dict[str, str] = Field(default_factory=dict)
    critical: bool = False
    critical_note: str = Field(default="", max_length=2000)

    def content(self) -> ReportContent:
        return ReportContent(self.findings, self.impression, dict(self.structured), self.critical, self.critical_note)


class CommentBody(RequestBody):
    comment: str = Field(default="", max_length=4000)


class RequiredComment(RequestBody):
    comment: str = Field(min_length=1, max_length=4000)


class ReviewBody(RequestBody):
    discrepancy: Discrepancy
    comments: str = Field(default="", max_length=4000)


class ReassignBody(RequestBody):
    expert_id: str | None = Field(default=None, description="omit to send the case back to automatic routing")
    reason: str = Field(min_length=1, max_length=2000)


# ---- helpers ------------------------------------------------------------------------------------
async def _act(
    engine: Engine,
    commands: ReferralCommands,
    principal: Principal,
    referral_id: str,
    action: Action,
    arg: Any,
    *,
    reopen: bool = False,
) -> dict[str, Any]:
    await visible_referral(engine, principal, referral_id)
    await commands.act(referral_id, action, arg, reopen=reopen)
    return referral_out(await visible_referral(engine, principal, referral_id))


def _start_of_local_day(now: datetime, tz: str) -> datetime:
    local = now.astimezone(ZoneInfo(tz))
    return local.replace(hour=0, minute=0, second=0, microsecond=0)


# ---- routes -------------------------------------------------------------------------------------
@router.post("", status_code=201)
async def submit_referral(
    body: SubmitReferral,
    engine: Engine,
    commands: Commands,
    principal: Annotated[Principal, Depends(require_role(Role.COUNTY_DOCTOR))],
) -> dict[str, Any]:
    """A county doctor sends a case; refused with the agreement's reason when it is not covered."""
    hospital_id = principal.hospital_id or ""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
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
    await commands.start(ReferralInput(facts, ReferralPolicy.from_agreement(chosen)))
    return referral_out(await visible_referral(engine, principal, referral_id))


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
) -> dict[str, Any]:
    """The caller's worklist, most urgent SLA first."""
    scope = q.worklist_filter(user_id=principal.user_id, role=principal.role, hospital_id=principal.hospital_id)
    async with engine.connect() as conn:
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
async def get_referral(referral_id: str, engine: Engine, principal: CurrentPrincipal) -> dict[str, Any]:
    row = await visible_referral(engine, principal, referral_id)
    async with engine.connect() as conn:
        patient = await alliance.get_patient(conn, row["patient_ref"])
        reports = (
            await q.report_history(conn, referral_id)
            if sees_drafts(principal, referral_scope(row))
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
async def get_priors(referral_id: str, engine: Engine, principal: CurrentPrincipal) -> dict[str, Any]:
    """The patient's earlier cases (same Patient ID + issuer) with their signed reports, for the reader."""
    row = await visible_referral(engine, principal, referral_id)
    async with engine.connect() as conn:
        items = await q.priors(conn, row["patient_ref"], referral_id)
    return {"items": [{k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in i.items()} for i in items]}


@router.get("/{referral_id}/audit")
async def get_audit(referral_id: str, engine: Engine, principal: CurrentPrincipal) -> dict[str, Any]:
    await visible_referral(engine, principal, referral_id)
    async with engine.connect() as conn:
        events = await q.audit_trail(conn, referral_id)
    return {
        "items": [
            {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in e.items() if k != "id"} for e in events
        ]
    }


# ---- actions: each is one Update on the referral's workflow ---------------------------------------
@dataclass(frozen=True)
class ActionRoute:
    method: str
    path: str
    action: Action
    body: type[BaseModel]
    build: Callable[[Principal, Any], Any]
    summary: str
    reopen: bool = False  # may restart a finished workflow (addenda after the amendment window)


def _comment(p: Principal, b: Any) -> ActorInput:
    return ActorInput(p.actor, b.comment)


def _report(p: Principal, b: Any) -> ReportInput:
    return ReportInput(p.actor, b.content())


def _review(p: Principal, b: Any) -> ReviewInput:
    return ReviewInput(p.actor, b.discrepancy, b.comments)


W = Action
ACTION_ROUTES = (
    ActionRoute("POST", "accept", W.ACCEPT, CommentBody, _comment, "The offered expert takes the case"),
    ActionRoute("POST", "decline", W.DECLINE, CommentBody, _comment, "The offered expert declines; routing goes on"),
    ActionRoute(
        "PUT",
        "draft",
        W.SAVE_DRAFT,
        ReportBody,
        _report,
        "Save a draft; every save is a new version, none is ever overwritten",
    ),
    ActionRoute("POST", "preliminary", W.SUBMIT_PRELIMINARY, ReportBody, _report, "Submit the preliminary report"),
    ActionRoute("POST", "approve", W.APPROVE, ReviewBody, _review, "Second reader signs the final report"),
    ActionRoute(
        "POST",
        "request-changes",
        W.REQUEST_CHANGES,
        ReviewBody,
        _review,
        "Second reader sends the report back with comments",
    ),
    ActionRoute(
        "POST",
        "request-info",
        W.REQUEST_INFO,
        RequiredComment,
        _comment,
        "Reader asks the county for more images or history (needs_info)",
    ),
    ActionRoute(
        "POST", "provide-info", W.PROVIDE_INFO, RequiredComment, _comment, "County answers a needs_info request"
    ),
    ActionRoute("POST", "cancel", W.CANCEL, RequiredComment, _comment, "County withdraws the case before reading"),
    ActionRoute(
        "POST",
        "acknowledge-receipt",
        W.ACKNOWLEDGE_RECEIPT,
        CommentBody,
        _comment,
        "County records receipt of the signed report (remote-diagnosis responsibility)",
    ),
    ActionRoute(
        "POST",
        "acknowledge-critical",
        W.ACKNOWLEDGE_CRITICAL,
        CommentBody,
        _comment,
        "Referring doctor acknowledges a critical finding",
    ),
    ActionRoute(
        "POST",
        "addenda",
        W.ADD_ADDENDUM,
        ReportBody,
        _report,
        "A correction after sign-off: a new version; the signed report never changes",
        reopen=True,
    ),
)


def _action_endpoint(route: ActionRoute) -> Callable[..., Coroutine[Any, Any, dict[str, Any]]]:
    async def endpoint(
        referral_id: str, body: Any, engine: Engine, commands: Commands, principal: CurrentPrincipal
    ) -> dict[str, Any]:
        arg = route.build(principal, body)
        return await _act(engine, commands, principal, referral_id, route.action, arg, reopen=route.reopen)

    # FastAPI reads the body's model from the annotation; each route has its own.
    endpoint.__annotations__ = {
        **endpoint.__annotations__,
        "body": route.body,
        "engine": Engine,
        "commands": Commands,
        "principal": CurrentPrincipal,
    }
    endpoint.__name__ = route.path.replace("-", "_")
    return endpoint


for _route in ACTION_ROUTES:
    router.add_api_route(
        f"/{{referral_id}}/{_route.path}", _action_endpoint(_route), methods=[_route.method], summary=_route.summary
    )


@router.post("/{referral_id}/reassign")
async def reassign(
    referral_id: str, body: ReassignBody, engine: Engine, commands: Commands, principal: CurrentPrincipal
) -> dict[str, Any]:
    row = await visible_referral(engine, principal, referral_id)
    reader = None
    if body.expert_id:
        async with engine.connect() as conn:
            reader = await alliance.principal_row(conn, body.expert_id)
        # A reader of the reading hospital, active, and licensed for the sending hospital.
        if (
            reader is None
            or not reader["active"]
            or reader["role"] not in READER_ROLES
            or reader["hospital_id"] != row["reading_hospital_id"]
            or row["requesting_hospital_id"] not in (reader["licensed_for"] or ())
        ):
            raise YilianError(
                ErrorCode.VALIDATION_FAILED,
                "that expert is not a reader of the reading hospital licensed for the sending hospital",
                {"expert_id": body.expert_id},
            )
    return await _act(
        engine,
        commands,
        principal,
        referral_id,
        Action.REASSIGN,
        ReassignInput(principal.actor, body.expert_id, body.reason, bool(reader and reader["is_junior"])),
    )

"""What the cloud film routes do beyond one query: a patient's studies with their signed reports, the phone viewer's
signed image addresses, the report PDF, and opening a QR grant for a clinician. Every view goes to the access log."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from yilian.db.engine import reading
from yilian.db.queries import alliance
from yilian.db.queries import cloud_film as q
from yilian.db.queries import patient_index as index_queries
from yilian.db.queries import referral as referral_queries
from yilian.db.queries.access import visible_studies
from yilian.documents.report_pdf import ReportDocument, ReportSection, render_pdf, report_html
from yilian.domain.access import Principal
from yilian.domain.cloud_film import (
    GRANT_VIEW_TTL,
    IMAGE_URL_TTL,
    GrantState,
    GrantStatus,
    Viewer,
    grant_id_from_token,
    grant_state,
    image_signature,
    image_signature_ok,
)
from yilian.domain.errors import ErrorCode, YilianError
from yilian.notify.messages import DEFAULT_LANGUAGE, REPORT_PDF_WORDS

NOT_YOURS = "no such study among your examinations"


async def _with_reports(conn: AsyncConnection, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for row in rows:
        reports = await referral_queries.signed_reports(conn, row["referral_id"]) if row["referral_id"] else []
        out.append({**row, "reports": reports})
    return out


async def studies(engine: AsyncEngine, regional_id: str, only: list[str] | None = None) -> list[dict[str, Any]]:
    """The patient's studies (newest first) with the signed reports of each; `only`: just these UIDs."""
    async with reading(engine) as conn:
        rows = await q.studies(conn, regional_id)
        if only is not None:
            rows = [r for r in rows if r["study_instance_uid"] in only]
        return await _with_reports(conn, rows)


def image_urls(secret: str, regional_id: str, study: str, sop: str, now: datetime) -> tuple[str, str]:
    expires = int((now + IMAGE_URL_TTL).timestamp())
    signature = image_signature(secret, regional_id, study, sop, expires)
    base = f"/api/cloud-film/images/{regional_id}/{study}/{sop}?expires={expires}&signature={signature}"
    return f"{base}&format=jpeg", f"{base}&format=dicom"


@dataclass(frozen=True)
class StudyDetail:
    study: dict[str, Any]
    images: list[dict[str, Any]]  # series columns and sop_instance_uid, in display order


async def study_detail(engine: AsyncEngine, regional_id: str, study_uid: str, now: datetime) -> StudyDetail:
    """One of the patient's studies, its images and reports; the patient's opening it is logged."""
    async with engine.begin() as conn:
        rows = await q.studies(conn, regional_id, only=study_uid)
        if not rows:
            raise YilianError(ErrorCode.NOT_FOUND, NOT_YOURS)
        [study] = await _with_reports(conn, rows)
        images = await q.series_images(conn, study_uid)
        await q.log_access(
            conn, regional_id=regional_id, study_instance_uid=study_uid, viewer=Viewer.PATIENT, label="",
            action="opened", now=now,
        )  # fmt: skip
    return StudyDetail(study, images)


async def image_blob(
    engine: AsyncEngine,
    secret: str,
    regional_id: str,
    study: str,
    sop: str,
    expires: int,
    signature: str,
    now: datetime,
) -> str:
    if not image_signature_ok(secret, regional_id, study, sop, expires, signature, now):
        raise YilianError(ErrorCode.FORBIDDEN, "this image address has expired: open the study again")
    async with reading(engine) as conn:
        blob = await q.instance_blob(conn, regional_id, study, sop)
    if blob is None:
        raise YilianError(ErrorCode.NOT_FOUND, "no such image")
    return blob


async def report_pdf(engine: AsyncEngine, chromium: str, regional_id: str, study_uid: str, now: datetime) -> bytes:
    """The study's signed report (and addenda) as PDF, in the alliance's language; logged as a download."""
    words = REPORT_PDF_WORDS[DEFAULT_LANGUAGE]
    async with engine.begin() as conn:
        rows = await q.studies(conn, regional_id, only=study_uid)
        if not rows:
            raise YilianError(ErrorCode.NOT_FOUND, NOT_YOURS)
        [study] = await _with_reports(conn, rows)
        person = await index_queries.get_regional_patient(conn, regional_id)
        if not study["reports"]:
            raise YilianError(ErrorCode.NOT_FOUND, "this study has no signed report yet")
        await q.log_access(
            conn, regional_id=regional_id, study_instance_uid=study_uid, viewer=Viewer.PATIENT, label="",
            action="report_pdf", now=now,
        )  # fmt: skip
    assert person is not None
    d = study["study_date"]
    doc = ReportDocument(
        title=words["title"],
        facts=[
            (words["patient"], f"{person['name']} ({person['sex']}, {person['birth_date']:%Y-%m-%d})"),
            (words["hospital"], study["hospital_name"]),
            (words["study"], f"{'/'.join(study['modalities'])} {study['study_description']}".strip()),
            (words["date"], f"{d[:4]}-{d[4:6]}-{d[6:]}" if len(d) == 8 else d),
        ],
        sections=[
            ReportSection(
                f"{words.get(str(r['kind']), str(r['kind']))} v{r['version']} · {words['signed_by']} "
                f"{r['author_name']} · {r['created_at']:%Y-%m-%d %H:%M}",
                r["findings"],
                r["impression"],
            )
            for r in study["reports"]
        ],
        footer=words["footer"],
    )
    return await render_pdf(report_html(doc, words), chromium)


def grant_view(grant: dict[str, Any], now: datetime) -> GrantState:
    return grant_state(GrantStatus(grant["expires_at"], grant["revoked_at"]), now)


@dataclass(frozen=True)
class OpenedGrant:
    grant: dict[str, Any]
    patient_name: str
    studies: list[dict[str, Any]]
    session_ends: datetime


async def open_grant(engine: AsyncEngine, secret: str, token: str, client: str, now: datetime) -> OpenedGrant:
    """A clinician scans a QR: the studies it opens, each view logged for the patient. Refused once revoked or
    over (410), and 404 for a token that was never one."""
    grant_id = grant_id_from_token(secret, token)
    async with engine.begin() as conn:
        grant = await q.get_grant(conn, grant_id) if grant_id else None
        if grant is None:
            raise YilianError(ErrorCode.NOT_FOUND, "this QR code is not valid")
        state = grant_view(grant, now)
        rid = str(grant["regional_patient_id"])
        if state is not GrantState.ACTIVE:
            await q.log_access(
                conn, regional_id=rid, study_instance_uid=grant["study_instance_uid"], viewer=Viewer.CLINICIAN,
                label=client, action=f"refused_{state}", now=now, grant_id=grant["id"],
            )  # fmt: skip
        else:
            uids = await q.grant_studies(conn, grant)
            for uid in uids:
                await q.log_access(
                    conn, regional_id=rid, study_instance_uid=uid, viewer=Viewer.CLINICIAN, label=client,
                    action="opened", now=now, grant_id=grant["id"],
                )  # fmt: skip
            person = await index_queries.get_regional_patient(conn, rid)
    if state is GrantState.REVOKED:
        raise YilianError(ErrorCode.GONE, "the patient has withdrawn this QR code")
    if state is GrantState.EXPIRED:
        raise YilianError(ErrorCode.GONE, "this QR code has expired: ask the patient for a new one")
    assert person is not None
    found = await studies(engine, rid, only=uids)
    return OpenedGrant(grant, str(person["name"]), found, min(grant["expires_at"], now + GRANT_VIEW_TTL))


def grant_expiry(now: datetime, hours: int) -> datetime:
    return now + timedelta(hours=hours)


def consent_view(row: dict[str, Any] | None) -> dict[str, Any]:
    granted = row is not None and row["revoked_at"] is None
    return {
        "granted": granted,
        "granted_at": row["granted_at"] if row else None,
        "granted_via": row["granted_via"] if row else None,
        "revoked_at": row["revoked_at"] if row else None,
    }


async def set_consent(engine: AsyncEngine, regional_id: str, grant: bool, via: str, now: datetime) -> dict[str, Any]:
    """Grant (by `via`) or withdraw consent to 检查结果互认; each change is in the patient's access log."""
    async with engine.begin() as conn:
        if grant:
            await q.grant_consent(conn, regional_id, via, now)
        else:
            await q.revoke_consent(conn, regional_id, now)
        action = f"consent_{'granted' if grant else 'withdrawn'}"
        await q.log_access(
            conn, regional_id=regional_id, study_instance_uid=None, viewer=Viewer.PATIENT, label=via, action=action,
            now=now,
        )  # fmt: skip
        return consent_view(await q.get_consent(conn, regional_id))


async def record_at_hospital(conn: AsyncConnection, patient_ref: str, hospital_id: str | None) -> str:
    """The regional patient of a hospital record at the caller's hospital (404 for another hospital's or none)."""
    record = await alliance.get_patient(conn, patient_ref)
    entry = await index_queries.entry(conn, patient_ref) if record else None
    if record is None or record["hospital_id"] != hospital_id or entry is None:
        raise YilianError(ErrorCode.NOT_FOUND, "no such patient in the regional index at your hospital")
    return str(entry["regional_patient_id"])


async def recognised(
    engine: AsyncEngine, patient_ref: str, hospital_id: str | None, doctor: str, now: datetime
) -> list[dict[str, Any]]:
    """A hospital's doctor looks up their patient's studies from other alliance hospitals: none without consent;
    with it, each one shown is in the patient's access log."""
    async with engine.begin() as conn:
        rid = await record_at_hospital(conn, patient_ref, hospital_id)
        rows = await q.recognised_elsewhere(conn, rid, hospital_id or "")
        for row in rows:
            await q.log_access(
                conn, regional_id=rid, study_instance_uid=row["study_instance_uid"], viewer=Viewer.DOCTOR,
                label=doctor, action="opened", now=now, viewer_hospital_id=hospital_id,
            )  # fmt: skip
        return await _with_reports(conn, rows)


async def recognised_priors(
    engine: AsyncEngine, principal: Principal, referral: dict[str, Any], now: datetime
) -> list[dict[str, Any]]:
    """A case's patient's studies from hospitals other than the sender that `principal` may open, as priors
    (检查结果互认): none unless the patient consents; each listed is in the patient's access log."""
    async with engine.begin() as conn:
        entry = await index_queries.entry(conn, str(referral["patient_ref"]))
        consent = await q.get_consent(conn, str(entry["regional_patient_id"])) if entry else None
        if entry is None or consent is None or consent["revoked_at"] is not None:
            return []
        rid = str(entry["regional_patient_id"])
        rows = [
            row
            for row in await q.studies(conn, rid, visible=visible_studies(principal))
            if row["hospital_id"] != referral["requesting_hospital_id"]
        ]
        for row in rows:
            await q.log_access(
                conn, regional_id=rid, study_instance_uid=row["study_instance_uid"], viewer=Viewer.DOCTOR,
                label=f"{principal.name} ({principal.hospital_id})", action="opened", now=now,
                viewer_hospital_id=principal.hospital_id,
            )  # fmt: skip
        return await _with_reports(conn, rows)

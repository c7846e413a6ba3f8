"""Cloud film (云胶片): the patient's phone (studies from every alliance hospital, a viewer of server-rendered images,
the report PDF, image downloads, QR grants for clinicians, the access log) and the clinician's side of a QR."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import Field

from yilian.api import cloud_film_service as service
from yilian.api.deps import AppSettings, Blobs, CurrentPatient, Engine
from yilian.api.models.cloud_film import (
    FilmAccess,
    FilmConsent,
    FilmGrant,
    FilmImage,
    FilmReport,
    FilmSeries,
    FilmStudies,
    FilmStudy,
    FilmStudyDetail,
    OpenedGrant,
)
from yilian.api.schemas import Page, RequestBody
from yilian.api.security import issue_grant_token
from yilian.db.engine import reading
from yilian.db.queries import cloud_film as q
from yilian.dicom.render import render
from yilian.documents.report_pdf import PdfRenderError
from yilian.domain.cloud_film import DEFAULT_GRANT_HOURS, PRESETS, GrantState, grant_token, new_grant_id
from yilian.domain.errors import ErrorCode, YilianError
from yilian.imaging import retrieve

router = APIRouter(tags=["cloud film"])
NOTICE = "仅供参考，不作诊断依据 / For reference, not for diagnosis"
FILM = "/api/cloud-film"


def _study(row: dict[str, Any]) -> FilmStudy:
    return FilmStudy.model_validate({**row, "reports": [_report(r) for r in row["reports"]]})


def _report(r: dict[str, Any]) -> FilmReport:
    return FilmReport(
        kind=r["kind"], version=r["version"], findings=r["findings"], impression=r["impression"],
        signed_by=r["author_name"], signed_at=r["created_at"],
    )  # fmt: skip


@router.get(f"{FILM}/studies")
async def studies(engine: Engine, patient: CurrentPatient) -> FilmStudies:
    """Every study of the signed-in patient at every alliance hospital, newest first, with its signed reports."""
    rows = await service.studies(engine, patient.regional_patient_id)
    page = Page[FilmStudy].of([_study(r) for r in rows])
    return FilmStudies(**dict(page), notice=NOTICE)


@router.get(f"{FILM}/studies/{{study_instance_uid}}")
async def study(
    study_instance_uid: str, engine: Engine, settings: AppSettings, patient: CurrentPatient
) -> FilmStudyDetail:
    """One study for the phone viewer: each series' images as signed JPEG and DICOM addresses."""
    now = datetime.now(UTC)
    rid = patient.regional_patient_id
    detail = await service.study_detail(engine, rid, study_instance_uid, now)
    series: dict[str, FilmSeries] = {}
    for row in detail.images:
        s = series.get(row["series_instance_uid"])
        if s is None:
            s = series[row["series_instance_uid"]] = FilmSeries(
                series_instance_uid=row["series_instance_uid"], series_number=row["series_number"],
                series_description=row["series_description"], modality=row["modality"], images=[],
            )  # fmt: skip
        jpeg, dicom = service.image_urls(
            settings.share_link_secret, rid, study_instance_uid, row["sop_instance_uid"], now
        )
        s.images.append(FilmImage(sop_instance_uid=row["sop_instance_uid"], url=jpeg, dicom_url=dicom))
    base = _study(detail.study)
    return FilmStudyDetail(**dict(base), series=list(series.values()), presets=list(PRESETS))


@router.get(
    f"{FILM}/images/{{regional_patient_id}}/{{study_instance_uid}}/{{sop_instance_uid}}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}, "application/dicom": {}}, "description": "the image"}},
)
async def image(
    regional_patient_id: str,
    study_instance_uid: str,
    sop_instance_uid: str,
    engine: Engine,
    blobs: Blobs,
    settings: AppSettings,
    expires: int = 0,
    signature: str = "",
    preset: str = "default",
    format: Literal["jpeg", "dicom"] = "jpeg",
) -> Response:
    """An image of the patient's study by its signed address (from the study above): JPEG with a window preset,
    or the DICOM file as stored."""
    if preset not in PRESETS:
        raise YilianError(ErrorCode.VALIDATION_FAILED, f"preset must be one of {', '.join(PRESETS)}")
    blob_key = await service.image_blob(
        engine, settings.share_link_secret, regional_patient_id, study_instance_uid, sop_instance_uid, expires,
        signature, datetime.now(UTC),
    )  # fmt: skip
    if format == "dicom":
        headers = {"Content-Disposition": f'attachment; filename="{quote(sop_instance_uid)}.dcm"'}
        return StreamingResponse(retrieve.file_chunks(blobs, blob_key), media_type="application/dicom", headers=headers)
    ds = await retrieve.read_dataset(blobs, blob_key)
    window = PRESETS[preset]
    image = await asyncio.to_thread(
        render, ds, 1, media_type="image/jpeg", quality=85, window=(*window, "linear") if window else None
    )
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600"})


@router.get(
    f"{FILM}/studies/{{study_instance_uid}}/report.pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "the signed report as PDF"}},
)
async def report_pdf(
    study_instance_uid: str, engine: Engine, settings: AppSettings, patient: CurrentPatient
) -> Response:
    try:
        pdf = await service.report_pdf(
            engine, settings.chromium, patient.regional_patient_id, study_instance_uid, datetime.now(UTC)
        )
    except PdfRenderError as exc:
        raise YilianError(ErrorCode.SERVICE_UNAVAILABLE, "the report PDF cannot be made just now") from exc
    headers = {"Content-Disposition": f'attachment; filename="report-{quote(study_instance_uid)}.pdf"'}
    return Response(pdf, media_type="application/pdf", headers=headers)


@router.get(f"{FILM}/accesses")
async def accesses(engine: Engine, patient: CurrentPatient) -> Page[FilmAccess]:
    """Who viewed the patient's images and when (the patient, clinicians by QR, doctors of other hospitals)."""
    async with reading(engine) as conn:
        rows = await q.accesses(conn, patient.regional_patient_id)
    return Page[FilmAccess].of([FilmAccess.model_validate(r) for r in rows])


class NewGrant(RequestBody):
    study_instance_uid: str | None = Field(default=None, max_length=64, description="null: all of your studies")
    hours: int = Field(default=DEFAULT_GRANT_HOURS, ge=1, le=720, description="how long the QR works")


def _grant_out(settings: AppSettings, grant: dict[str, Any], now: datetime) -> FilmGrant:
    state = service.grant_view(grant, now)
    url = f"{settings.public_base_url}/c/{grant_token(settings.share_link_secret, grant['id'])}"
    return FilmGrant.model_validate({**grant, "state": state, "url": url if state is GrantState.ACTIVE else None})


@router.post(f"{FILM}/grants", status_code=201)
async def create_grant(body: NewGrant, engine: Engine, settings: AppSettings, patient: CurrentPatient) -> FilmGrant:
    """A QR for a clinician: one study or all of them, for `hours` (at most YILIAN_FILM_GRANT_MAX_HOURS)."""
    if body.hours > settings.film_grant_max_hours:
        raise YilianError(ErrorCode.VALIDATION_FAILED, f"a QR lasts at most {settings.film_grant_max_hours} hours")
    now = datetime.now(UTC)
    rid = patient.regional_patient_id
    grant_id = new_grant_id()
    async with engine.begin() as conn:
        if body.study_instance_uid is not None and not await q.studies(conn, rid, only=body.study_instance_uid):
            raise YilianError(ErrorCode.NOT_FOUND, service.NOT_YOURS)
        await q.create_grant(conn, grant_id, rid, body.study_instance_uid, now, service.grant_expiry(now, body.hours))
        grant = await q.get_grant(conn, grant_id)
    assert grant is not None
    return _grant_out(settings, grant, now)


@router.get(f"{FILM}/grants")
async def grants(engine: Engine, settings: AppSettings, patient: CurrentPatient) -> Page[FilmGrant]:
    async with reading(engine) as conn:
        rows = await q.grants_of(conn, patient.regional_patient_id)
    now = datetime.now(UTC)
    return Page[FilmGrant].of([_grant_out(settings, g, now) for g in rows])


@router.post(f"{FILM}/grants/{{grant_id}}/revoke")
async def revoke_grant(grant_id: str, engine: Engine, settings: AppSettings, patient: CurrentPatient) -> FilmGrant:
    """Withdraw a QR at once: its page and its viewer session stop working on their next request."""
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        grant = await q.get_grant(conn, grant_id)
        if grant is None or grant["regional_patient_id"] != patient.regional_patient_id:
            raise YilianError(ErrorCode.NOT_FOUND, "no such QR code")
        await q.revoke_grant(conn, grant_id, patient.regional_patient_id, now)
        grant = await q.get_grant(conn, grant_id)
    assert grant is not None
    return _grant_out(settings, grant, now)


@router.post("/api/film-grants/{token}/open")
async def open_grant(token: str, request: Request, engine: Engine, settings: AppSettings) -> OpenedGrant:
    """A clinician (no account needed) opens a patient's QR: the studies and signed reports it covers, and a
    read-only DICOMweb token for exactly those, for the diagnostic viewer. Every opening is in the patient's log."""
    client = request.client.host if request.client else ""
    now = datetime.now(UTC)
    opened = await service.open_grant(engine, settings.share_link_secret, token, client, now)
    viewer_token = issue_grant_token(settings, opened.grant["id"], opened.session_ends)
    uids = ",".join(quote(s["study_instance_uid"]) for s in opened.studies)
    return OpenedGrant(
        patient_name=opened.patient_name,
        expires_at=opened.session_ends,
        viewer_token=viewer_token,
        viewer_url=f"/viewer/viewer?StudyInstanceUIDs={uids}#token={viewer_token}",
        studies=[_study(s) for s in opened.studies],
        notice=NOTICE,
    )


@router.get(f"{FILM}/consent")
async def consent(engine: Engine, patient: CurrentPatient) -> FilmConsent:
    """Whether the patient lets doctors at the other alliance hospitals see their studies (检查结果互认)."""
    async with reading(engine) as conn:
        row = await q.get_consent(conn, patient.regional_patient_id)
    return FilmConsent.model_validate(service.consent_view(row))


@router.post(f"{FILM}/consent")
async def grant_consent(engine: Engine, patient: CurrentPatient) -> FilmConsent:
    """Consent on the phone: from now on (until withdrawn) results are recognised across the alliance."""
    row = await service.set_consent(engine, patient.regional_patient_id, True, "phone", datetime.now(UTC))
    return FilmConsent.model_validate(row)


@router.post(f"{FILM}/consent/withdraw")
async def withdraw_consent(engine: Engine, patient: CurrentPatient) -> FilmConsent:
    """Withdraw consent: other hospitals' doctors stop seeing the studies on their next request (a viewer's frames
    and renderings within 2 s, docs/security.md)."""
    row = await service.set_consent(engine, patient.regional_patient_id, False, "phone", datetime.now(UTC))
    return FilmConsent.model_validate(row)

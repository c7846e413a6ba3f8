"""Patient share links: the county manages them; the patient opens one with the birth date as a second factor."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import Field

from yilian.api.deps import AppSettings, Blobs, CurrentPrincipal, Engine
from yilian.api.models.share_link import (
    ShareAccess,
    SharedPatient,
    SharedResult,
    SharedStudy,
    ShareLink,
    SignedReport,
)
from yilian.api.referral_view import visible_referral
from yilian.api.schemas import Page, RequestBody
from yilian.db.queries import alliance
from yilian.db.queries import imaging as imaging_queries
from yilian.db.queries import referral as rq
from yilian.db.queries import share_link as sq
from yilian.dicom.render import render
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.referral import REPORTED_STATES
from yilian.domain.roles import Role
from yilian.domain.share_link import (
    KEY_IMAGE_TTL_SECONDS,
    LinkStatus,
    key_image_signature,
    key_image_signature_ok,
    link_id_from_token,
    new_link_id,
    refusal,
    second_factor_ok,
    token_for,
)
from yilian.imaging import retrieve

router = APIRouter(tags=["share links"])
PATIENT_NOTICE = "仅供患者参考，非诊断用途 / For the patient's reference, not for diagnosis"
MANAGERS = (Role.COUNTY_DOCTOR, Role.COORDINATOR)


class OpenLink(RequestBody):
    birth_date: date = Field(description="the patient's birth date, YYYY-MM-DD")


class NewLink(RequestBody):
    days: int | None = Field(default=None, ge=1, le=365, description="days it lasts; YILIAN_SHARE_LINK_DAYS if unset")


def _link_out(settings: AppSettings, link: dict[str, Any], now: datetime) -> ShareLink:
    token = token_for(settings.share_link_secret, link["id"])
    status = str(refusal(LinkStatus(link["expires_at"], link["revoked_at"], None), now) or "active")
    return ShareLink.model_validate(
        {
            "link_id": link["id"],
            "referral_id": link["referral_id"],
            "status": status,
            "created_at": link["created_at"],
            "expires_at": link["expires_at"],
            "revoked_at": link["revoked_at"],
            "token": token if status == "active" else None,
            "url": f"{settings.public_base_url}/s/{token}" if status == "active" else None,
        }
    )


async def _visible_link(engine: Engine, principal: Any, link_id: str) -> dict[str, Any]:
    """The link if the caller may see its referral; one 404 either way so nothing about others leaks."""
    async with engine.connect() as conn:
        link = await sq.get_link(conn, link_id)
    if link is not None:
        try:
            await visible_referral(engine, principal, link["referral_id"])
            return link
        except YilianError:
            pass
    raise YilianError(ErrorCode.NOT_FOUND, "no such share link")


def _require_manager(principal: Any) -> None:
    if principal.role not in MANAGERS:
        raise YilianError(ErrorCode.FORBIDDEN, "only the county doctor or a coordinator manages share links")


@router.get("/api/referrals/{referral_id}/share-links")
async def list_links(
    referral_id: str, engine: Engine, settings: AppSettings, principal: CurrentPrincipal
) -> Page[ShareLink]:
    """Links for the patient's QR slip; the URL can be shown again to reprint it."""
    _require_manager(principal)
    await visible_referral(engine, principal, referral_id)
    async with engine.connect() as conn:
        links = await sq.links_for(conn, referral_id)
    now = datetime.now(UTC)
    return Page[ShareLink].of([_link_out(settings, link, now) for link in links])


@router.post("/api/referrals/{referral_id}/share-links", status_code=201)
async def create_link(
    referral_id: str, body: NewLink, engine: Engine, settings: AppSettings, principal: CurrentPrincipal
) -> ShareLink:
    _require_manager(principal)
    row = await visible_referral(engine, principal, referral_id)
    if row["state"] not in REPORTED_STATES:
        raise YilianError(ErrorCode.INVALID_TRANSITION, "a share link is made once the report is final")
    now = datetime.now(UTC)
    link_id = new_link_id()
    async with engine.begin() as conn:
        await sq.create_link(
            conn,
            link_id=link_id,
            referral_id=referral_id,
            patient_ref=row["patient_ref"],
            now=now,
            expires_at=now + timedelta(days=body.days or settings.share_link_days),
        )
        link = await sq.get_link(conn, link_id)
    assert link is not None
    return _link_out(settings, link, now)


@router.post("/api/share-links/{link_id}/revoke")
async def revoke_link(
    link_id: str, engine: Engine, settings: AppSettings, principal: CurrentPrincipal
) -> ShareLink:
    _require_manager(principal)
    await _visible_link(engine, principal, link_id)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await sq.revoke(conn, link_id, principal.user_id, now)
        await sq.log_access(conn, link_id, now, "revoked", f"by {principal.user_id}")
        link = await sq.get_link(conn, link_id)
    assert link is not None
    return _link_out(settings, link, now)


@router.get("/api/share-links/{link_id}/accesses")
async def link_accesses(link_id: str, engine: Engine, principal: CurrentPrincipal) -> Page[ShareAccess]:
    _require_manager(principal)
    await _visible_link(engine, principal, link_id)
    async with engine.connect() as conn:
        rows = await sq.accesses(conn, link_id)
    return Page[ShareAccess].of([ShareAccess.model_validate(r) for r in rows])


@router.post("/api/share/{token}")
async def open_link(
    token: str, body: OpenLink, request: Request, engine: Engine, settings: AppSettings
) -> SharedResult:
    """The patient's view: the signed report (and addenda) after the birth date matches. Every try is logged."""
    now = datetime.now(UTC)
    client = request.client.host if request.client else ""
    link_id = link_id_from_token(settings.share_link_secret, token)
    messages = {
        ErrorCode.SHARE_LINK_REVOKED: "this link has been withdrawn by the hospital",
        ErrorCode.SHARE_LINK_EXPIRED: "this link has expired: ask the hospital for a new one",
        ErrorCode.SHARE_LINK_LOCKED: "too many wrong birth dates: try again in 15 minutes",
    }
    # One transaction holding the link's row lock: simultaneous guesses are counted one after another,
    # so a burst cannot slip past the lock-out.
    async with engine.begin() as conn:
        link = await sq.get_link(conn, link_id, for_update=True) if link_id else None
        if link is None:
            raise YilianError(ErrorCode.NOT_FOUND, "this link is not valid")
        why = refusal(LinkStatus(link["expires_at"], link["revoked_at"], link["locked_until"]), now)
        patient = await alliance.get_patient(conn, link["patient_ref"])
        assert patient is not None
        failed = why is None and not second_factor_ok(body.birth_date, patient["birth_date"])
        if why is not None:
            await sq.log_access(conn, link["id"], now, why, client)
        elif failed:
            await sq.record_failure(conn, link["id"], now)
            await sq.log_access(conn, link["id"], now, "wrong_birth_date", client)
        else:
            await sq.record_success(conn, link["id"])
            await sq.log_access(conn, link["id"], now, "opened", client)
            referral = await rq.get_referral(conn, link["referral_id"])
            reports = await rq.signed_reports(conn, link["referral_id"])
            assert referral is not None
            key_images = await imaging_queries.key_instances(
                conn, referral["study_instance_uid"], referral["requesting_hospital_id"]
            )
    if why is not None:
        raise YilianError(why, messages[why])
    if failed:
        raise YilianError(ErrorCode.WRONG_SECOND_FACTOR, "the birth date does not match")
    assert referral is not None
    return SharedResult(
        notice=PATIENT_NOTICE,
        patient=SharedPatient(name=patient["name"], sex=patient["sex"]),
        study=SharedStudy.model_validate(referral),
        reports=[
            SignedReport(
                kind=r["kind"],
                version=r["version"],
                findings=r["findings"],
                impression=r["impression"],
                signed_by=r["author_name"],
                signed_at=r["created_at"],
            )
            for r in reports
        ],
        key_images=[_key_image_url(settings.share_link_secret, token, link["id"], sop, now) for sop in key_images],
        expires_at=link["expires_at"],
    )


def _key_image_url(secret: str, token: str, link_id: str, sop: str, now: datetime) -> str:
    expires = int(now.timestamp()) + KEY_IMAGE_TTL_SECONDS
    signature = key_image_signature(secret, link_id, sop, expires)
    return f"/api/share/{token}/images/{sop}?expires={expires}&signature={signature}"


@router.get(
    "/api/share/{token}/images/{sop_instance_uid}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "the key image as JPEG"}},
)
async def key_image(
    token: str,
    sop_instance_uid: str,
    engine: Engine,
    blobs: Blobs,
    settings: AppSettings,
    expires: int = 0,
    signature: str = "",
) -> Response:
    """A key image of the shared study as JPEG, for the patient's page (URLs come from opening the link)."""
    now = datetime.now(UTC)
    link_id = link_id_from_token(settings.share_link_secret, token)
    if link_id is None or not key_image_signature_ok(
        settings.share_link_secret, link_id, sop_instance_uid, expires, signature, now
    ):
        raise YilianError(ErrorCode.FORBIDDEN, "this image address has expired: open the link again")
    async with engine.connect() as conn:
        link = await sq.get_link(conn, link_id)
        if link is None:
            raise YilianError(ErrorCode.NOT_FOUND, "this link is not valid")
        why = refusal(LinkStatus(link["expires_at"], link["revoked_at"], link["locked_until"]), now)
        if why is not None:
            raise YilianError(why, "this link is no longer valid")
        referral = await rq.get_referral(conn, link["referral_id"])
        assert referral is not None
        row = await imaging_queries.instance_of_study(conn, referral["study_instance_uid"], sop_instance_uid)
    if row is None:
        raise YilianError(ErrorCode.NOT_FOUND, "no such image in this study")
    ds = await retrieve.read_dataset(blobs, row["blob_key"])
    image = await asyncio.to_thread(render, ds, 1, media_type="image/jpeg", quality=85)
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})

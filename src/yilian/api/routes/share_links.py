"""Patient share links: the county manages them; the patient opens one with the birth date as a second factor."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import Field

from yilian.api import share_link_service as service
from yilian.api.deps import AppSettings, Blobs, Engine, require_role
from yilian.api.models.share_link import (
    ShareAccess,
    SharedPatient,
    SharedResult,
    SharedStudy,
    ShareLink,
    ShareLinks,
    SignedReport,
)
from yilian.api.referral_view import visible_referral
from yilian.api.schemas import Page, RequestBody
from yilian.db.engine import reading
from yilian.db.queries import share_link as sq
from yilian.dicom.render import render
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.referral import REPORTED_STATES
from yilian.domain.roles import Role
from yilian.domain.share_link import (
    KEY_IMAGE_TTL_SECONDS,
    LinkStatus,
    key_image_signature,
    new_link_id,
    refusal,
    token_for,
)
from yilian.imaging import retrieve

router = APIRouter(tags=["share links"])
PATIENT_NOTICE = "仅供患者参考，非诊断用途 / For the patient's reference, not for diagnosis"
# The county doctor or a coordinator manages a case's links (and only of cases they may see).
LinkManager = Annotated[Principal, Depends(require_role(Role.COUNTY_DOCTOR, Role.COORDINATOR))]


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


async def _visible_link(engine: Engine, principal: Principal, link_id: str) -> dict[str, Any]:
    """The link if the caller may see its referral; one 404 either way so nothing about others leaks."""
    async with reading(engine) as conn:
        link = await sq.get_link(conn, link_id)
    if link is not None:
        try:
            await visible_referral(engine, principal, link["referral_id"])
            return link
        except YilianError:
            pass
    raise YilianError(ErrorCode.NOT_FOUND, "no such share link")


@router.get("/api/referrals/{referral_id}/share-links")
async def list_links(referral_id: str, engine: Engine, settings: AppSettings, principal: LinkManager) -> ShareLinks:
    """Links for the patient's QR slip (the URL can be shown again to reprint it), and a new link's lifetime."""
    await visible_referral(engine, principal, referral_id)
    async with reading(engine) as conn:
        links = await sq.links_for(conn, referral_id)
    now = datetime.now(UTC)
    page = Page[ShareLink].of([_link_out(settings, link, now) for link in links])
    return ShareLinks(**dict(page), default_days=settings.share_link_days)


@router.post("/api/referrals/{referral_id}/share-links", status_code=201)
async def create_link(
    referral_id: str, body: NewLink, engine: Engine, settings: AppSettings, principal: LinkManager
) -> ShareLink:
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
async def revoke_link(link_id: str, engine: Engine, settings: AppSettings, principal: LinkManager) -> ShareLink:
    await _visible_link(engine, principal, link_id)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await sq.revoke(conn, link_id, principal.user_id, now)
        await sq.log_access(conn, link_id, now, "revoked", f"by {principal.user_id}")
        link = await sq.get_link(conn, link_id)
    assert link is not None
    return _link_out(settings, link, now)


@router.get("/api/share-links/{link_id}/accesses")
async def link_accesses(link_id: str, engine: Engine, principal: LinkManager) -> Page[ShareAccess]:
    await _visible_link(engine, principal, link_id)
    async with reading(engine) as conn:
        rows = await sq.accesses(conn, link_id)
    return Page[ShareAccess].of([ShareAccess.model_validate(r) for r in rows])


@router.post("/api/share/{token}")
async def open_link(
    token: str, body: OpenLink, request: Request, engine: Engine, settings: AppSettings
) -> SharedResult:
    """The patient's view: the signed report (and addenda) after the birth date matches. Every try is logged."""
    now = datetime.now(UTC)
    client = request.client.host if request.client else ""
    opened = await service.open_link(engine, settings.share_link_secret, token, body.birth_date, client, now)
    patient, referral, link = opened.patient, opened.referral, opened.link
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
            for r in opened.reports
        ],
        key_images=[
            _key_image_url(settings.share_link_secret, token, link["id"], sop, now) for sop in opened.key_images
        ],
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
    secret = settings.share_link_secret
    blob_key = await service.key_image_blob(
        engine, secret, token, sop_instance_uid, expires, signature, datetime.now(UTC)
    )
    ds = await retrieve.read_dataset(blobs, blob_key)
    image = await asyncio.to_thread(render, ds, 1, media_type="image/jpeg", quality=85)
    return Response(image, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=600"})

"""Patient share links as the county manages them, and the patient's view of a shared result."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from yilian.api.schemas import ApiModel, Page, Timestamp
from yilian.domain.report import ReportKind

LinkState = Literal["active", "share_link_expired", "share_link_revoked", "share_link_locked"]


class ShareLink(ApiModel):
    link_id: str
    referral_id: str
    status: LinkState
    created_at: Timestamp
    expires_at: Timestamp
    revoked_at: Timestamp | None
    token: str | None = Field(description="active links only")
    url: str | None = Field(description="active links only: the address the QR code holds")


class ShareLinks(Page[ShareLink]):
    """A case's patient links, and how long a new one lasts unless the county says otherwise."""

    default_days: int = Field(description="days a new link lasts when none are given (YILIAN_SHARE_LINK_DAYS)")


class ShareAccess(ApiModel):
    at: Timestamp
    outcome: str = Field(description="opened, wrong_birth_date, revoked, or why the link was refused")
    client: str


class SharedPatient(ApiModel):
    name: str
    sex: str


class SharedStudy(ApiModel):
    """Only what the patient's page shows: no identifier of the study leaves through a link anyone may hold."""

    modality: str
    body_part: str


class SignedReport(ApiModel):
    kind: ReportKind
    version: int
    findings: str
    impression: str
    signed_by: str
    signed_at: Timestamp


class SharedResult(ApiModel):
    """What the patient sees after the birth date matched: the signed report, its addenda and key images."""

    notice: str
    patient: SharedPatient
    study: SharedStudy
    reports: list[SignedReport]
    key_images: list[str] = Field(description="addresses of key images as JPEG, valid for a few minutes")
    expires_at: Timestamp

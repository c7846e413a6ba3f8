"""Cloud film as the patient's phone and a QR-holding clinician see it."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from yilian.api.schemas import ApiModel, Page, Timestamp
from yilian.domain.cloud_film import GrantState, Viewer


class FilmReport(ApiModel):
    kind: str = Field(description="final or addendum")
    version: int
    findings: str
    impression: str
    signed_by: str
    signed_at: Timestamp


class FilmStudy(ApiModel):
    study_instance_uid: str
    hospital_id: str
    hospital_name: str
    study_date: str = Field(description="DICOM DA, YYYYMMDD ('' when the study has none)")
    study_description: str
    modalities: list[str]
    number_of_series: int
    number_of_instances: int
    reports: list[FilmReport] = Field(description="the signed report and its addenda; empty while none is signed")


def film_study(row: dict[str, Any]) -> FilmStudy:
    """A study of db/queries/cloud_film with its signed reports (db/queries/referral.signed_reports rows)."""
    reports = [{**r, "signed_by": r["author_name"], "signed_at": r["created_at"]} for r in row["reports"]]
    return FilmStudy.model_validate({**row, "reports": [FilmReport.model_validate(r) for r in reports]})


class FilmStudies(Page[FilmStudy]):
    """The patient's studies from every alliance hospital, newest first."""

    notice: str = Field(description="for reference, not for diagnosis (zh-CN and en)")


class FilmImage(ApiModel):
    sop_instance_uid: str
    url: str = Field(description="the rendered JPEG (add &preset=lung etc.), signed for an hour")
    dicom_url: str = Field(description="the original DICOM file, signed for an hour")


class FilmSeries(ApiModel):
    series_instance_uid: str
    series_number: int | None
    series_description: str
    modality: str
    images: list[FilmImage]


class FilmStudyDetail(FilmStudy):
    series: list[FilmSeries]
    presets: list[str] = Field(description="window presets the image URLs take as ?preset=")


class FilmAccess(ApiModel):
    at: Timestamp
    viewer: Viewer
    viewer_label: str = Field(description="who: a doctor's name and hospital, or the QR's id")
    action: str
    study_instance_uid: str | None
    study_description: str | None
    hospital_name: str | None
    grant_id: str | None


class FilmGrant(ApiModel):
    id: str
    study_instance_uid: str | None = Field(description="null: all of the patient's studies")
    state: GrantState
    created_at: Timestamp
    expires_at: Timestamp
    revoked_at: Timestamp | None
    url: str | None = Field(description="what the QR holds; active grants only")


class OpenedGrant(ApiModel):
    """What a clinician gets for a QR: the studies and reports, and a read-only viewer session for exactly those."""

    patient_name: str
    expires_at: Timestamp
    viewer_token: str = Field(description="Bearer token for DICOMweb, limited to these studies")
    viewer_url: str = Field(description="the OHIF viewer for these studies (the token goes in its #fragment)")
    studies: list[FilmStudy]
    notice: str


class FilmConsent(ApiModel):
    """检查结果互认: while granted, doctors at the other alliance hospitals that hold a record of the patient see the
    patient's studies from elsewhere (among their priors and in the viewer)."""

    granted: bool
    granted_at: Timestamp | None
    granted_via: str | None = Field(description="phone (the patient) or desk (a hospital, with a code by SMS)")
    revoked_at: Timestamp | None

"""The outcome of uploading a study through the API."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel
from yilian.imaging.ingest import Outcome


class StoredStudy(ApiModel):
    study_instance_uid: str
    retrieve_url: str


class UploadedFile(ApiModel):
    file: str = Field(description="the file's name; a zip's members as zip/member")
    outcome: Outcome
    sop_instance_uid: str = Field(description="empty when the file could not be read as DICOM")
    reason: str | None = Field(default=None, description="why it was rejected")
    failure_reason: str | None = Field(default=None, description="rejected: the DICOM failure reason, 4 hex digits")


class UploadResult(ApiModel):
    stored: int
    failed: int
    studies: list[StoredStudy]
    files: list[UploadedFile]

"""A signed report's instance on its way to the county's PACS, as the hospital's gateway sees it."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.pacs_delivery import DeliveryKind, DeliveryState


class PacsDelivery(ApiModel):
    id: int
    referral_id: str
    report_version: int
    kind: DeliveryKind = Field(description="pdf: Encapsulated PDF; sr: Basic Text SR")
    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    size: int
    sha256: str
    state: DeliveryState
    dicom_status: int | None = Field(description="the PACS's C-STORE status, once the gateway has tried")
    detail: str
    created_at: Timestamp
    updated_at: Timestamp

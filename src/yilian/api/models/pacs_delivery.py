"""A signed report's instance on its way to the county's PACS, as the hospital's gateway and its people see it."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.pacs_delivery import DeliveryKind, DeliveryState
from yilian.domain.report import ReportKind


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


class ReportDelivery(ApiModel):
    """A report instance on its way to the sending hospital's PACS, as the hospital's people see it."""

    id: int
    referral_id: str
    report_version: int
    report_kind: ReportKind = Field(description="final: the signed report; addendum: one signed after it")
    kind: DeliveryKind = Field(description="pdf: Encapsulated PDF; sr: Basic Text SR")
    hospital_id: str = Field(description="the sending hospital, whose gateway stores it into its PACS")
    hospital_name: str
    study_instance_uid: str
    sop_instance_uid: str
    patient_name: str = Field(description="the case's patient, as the case shows the name")
    state: DeliveryState
    attempts: int = Field(
        description="the PACS's answers the gateway reported (delivered or failed); tries without an answer (the PACS "
        "unreachable, out of resources) are counted at the gateway only"
    )
    dicom_status: int | None = Field(description="the PACS's last C-STORE status; null: not tried yet")
    detail: str = Field(description="the gateway's words on its last try")
    created_at: Timestamp
    updated_at: Timestamp

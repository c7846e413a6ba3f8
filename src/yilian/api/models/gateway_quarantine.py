"""Instances a hospital's gateway set aside because the cloud refused them for good (issue 16)."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp


class QuarantinedInstance(ApiModel):
    sop_instance_uid: str
    study_instance_uid: str
    code: str | None = Field(description="the DICOM FailureReason the cloud gave (hex), e.g. C000; null: none")
    reason: str = Field(description="the gateway's technical detail, as it logged it")
    first_seen_at: Timestamp = Field(description="when the gateway set it aside")
    reported_at: Timestamp
    gateway: str = Field(description="the label of the API key the gateway reported with")


class QuarantineView(ApiModel):
    hospital_id: str
    count: int = Field(description="every instance the hospital's gateways hold in quarantine (listed or not)")
    reported_at: Timestamp | None = Field(description="the latest report; null: no gateway has reported")
    items: list[QuarantinedInstance]


class QuarantineReceipt(ApiModel):
    count: int
    listed: int
    received_at: Timestamp

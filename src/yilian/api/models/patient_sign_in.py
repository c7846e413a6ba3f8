"""A patient's sign-in (cloud film): the code request's answer, the session, and the local SMS outbox."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp


class CodeRequested(ApiModel):
    sent: bool = Field(description="always true: whether the number is registered is not told")
    expires_in: int = Field(description="seconds the code is good for")
    resend_after: int = Field(description="seconds before another code may be asked for")


class PatientSession(ApiModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    regional_patient_id: str
    name: str


class OutboxMessage(ApiModel):
    phone: str
    body: str
    sent_at: Timestamp

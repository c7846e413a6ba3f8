"""A hospital's API keys for its gateway."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.api_key import KeyScope


class ApiKey(ApiModel):
    id: str
    label: str
    scope: KeyScope
    created_by: str
    created_at: Timestamp
    revoked_at: Timestamp | None


class IssuedApiKey(ApiModel):
    id: str
    label: str
    hospital_id: str
    scope: KeyScope
    api_key: str = Field(description="the key itself: shown this once, never stored")
    note: str

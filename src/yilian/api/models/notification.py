"""The in-app inbox."""

from __future__ import annotations

from pydantic import Field

from yilian.api.schemas import ApiModel, Timestamp
from yilian.domain.notice import NoticeKind


class Notification(ApiModel):
    """A notice in a person's inbox (and the SSE `notification` event): a kind and its parameters, which the web app
    puts into the reader's language."""

    id: int
    kind: NoticeKind
    referral_id: str | None
    params: dict[str, str] = Field(description="the kind's parameters (domain.notice.NOTICE_PARAMS)")
    title: str | None = Field(
        default=None, description="only on notices recorded before they had parameters: the English text they carried"
    )
    body: str | None = Field(default=None, description="as title")
    created_at: Timestamp
    read_at: Timestamp | None


class NotificationRead(ApiModel):
    id: int
    read: bool

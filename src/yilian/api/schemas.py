"""The bases of the API's bodies: what requests must hold (no NUL text) and how every list is paged (Page[T])."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Generic, Self, TypeVar

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, WithJsonSchema, model_validator

# A field with a default is still always sent: the generated client types it as present, not optional.
_ALWAYS_SENT = ConfigDict(json_schema_serialization_defaults_required=True)

# An instant as the API has always written it (datetime.isoformat: +00:00, not Z), so stored copies of what the API
# showed (the admin change log) and the live stream's events read the same as a fresh answer.
Timestamp = Annotated[
    datetime,
    PlainSerializer(datetime.isoformat, return_type=str, when_used="json"),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class RequestBody(BaseModel):
    model_config = _ALWAYS_SENT

    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL text cannot store U+0000: refused here it is a 422, not a 500 or a stuck workflow.
        if _has_nul(data):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return data


class ApiModel(BaseModel):
    """The base of every response body."""

    model_config = _ALWAYS_SENT


class ErrorBody(ApiModel):
    """Every refusal and failure (4xx, 5xx): a stable code from the catalogue, words for a person, and details."""

    error: str = Field(description="a stable code from the error catalogue, e.g. validation_failed")
    message: str
    details: Any = Field(description="what was wrong where, e.g. [{field, problem}]; null when nothing more to say")


T = TypeVar("T")


class Page(ApiModel, Generic[T]):
    """One page of a list. Every list the API returns is one; a list that is never cut has limit null."""

    items: list[T]
    limit: int | None = Field(description="the most items one page holds; null: the whole list is this page")
    offset: int = Field(description="how many items come before this page")
    next_offset: int | None = Field(description="the offset of the next page; null: there is none after this one")

    @classmethod
    def of(cls, items: Sequence[T], *, limit: int | None = None, offset: int = 0) -> Self:
        """A full page may have a next one (which may be empty); a shorter one is the last."""
        more = limit is not None and len(items) >= limit
        return cls(items=list(items), limit=limit, offset=offset, next_offset=offset + len(items) if more else None)

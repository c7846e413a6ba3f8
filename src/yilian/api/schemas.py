"""The base of every request body: text that PostgreSQL or a report could not hold is refused up front."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(v) for v in value)
    return False


class RequestBody(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _no_nul_characters(cls, data: Any) -> Any:
        # PostgreSQL text cannot store U+0000: refused here it is a 422, not a 500 or a stuck workflow.
        if _has_nul(data):
            raise ValueError("text must not contain the NUL character (U+0000)")
        return data

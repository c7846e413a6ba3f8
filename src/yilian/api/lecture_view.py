"""A lecture as the caller sees it: the row exists (404), the caller's place in its audience (403), its buttons."""

from __future__ import annotations

from typing import Any

from yilian.api.models.lecture import Lecture
from yilian.domain.access import Principal
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.lecture import (
    Audience,
    LectureCase,
    LectureState,
    allowed_actions,
    in_audience,
    may_moderate,
    sees_attendance,
)


def seen_lecture(lecture_id: str, row: dict[str, Any] | None) -> dict[str, Any]:
    if row is None:
        raise YilianError(ErrorCode.NOT_FOUND, f"no lecture {lecture_id}")
    return row


def audience_of(row: dict[str, Any]) -> Audience:
    return Audience(row["organiser_id"], tuple(row["speaker_ids"]), tuple(row["audience_hospital_ids"]))


def must_watch(principal: Principal, row: dict[str, Any]) -> None:
    if not in_audience(principal, audience_of(row)):
        raise YilianError(
            ErrorCode.FORBIDDEN,
            "this lecture is for other hospitals' doctors",
            {"audience_hospital_ids": list(row["audience_hospital_ids"]), "hospital_id": principal.hospital_id},
        )


def must_moderate(principal: Principal, row: dict[str, Any]) -> None:
    if not may_moderate(principal, audience_of(row)):
        raise YilianError(ErrorCode.FORBIDDEN, "only the lecture's organiser, an educator or a speaker moderates")


def must_see_attendance(principal: Principal) -> None:
    if not sees_attendance(principal):
        raise YilianError(ErrorCode.FORBIDDEN, "attendance is for educators, coordinators and admins")


def lecture_case(row: dict[str, Any]) -> LectureCase:
    return LectureCase(row["id"], LectureState(row["state"]), row["organiser_id"], tuple(row["speaker_ids"]),
                       row["last_seq"])  # fmt: skip


def lecture_out(row: dict[str, Any], principal: Principal, registered: bool) -> Lecture:
    actions = allowed_actions(lecture_case(row), principal.actor)
    has_quiz = bool((row.get("quiz") or {}).get("questions"))
    return Lecture.model_validate(
        {**row, "seq": row["last_seq"], "registered": registered, "has_quiz": has_quiz, "allowed_actions": actions}
    )

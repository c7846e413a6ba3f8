"""A consult as the caller sees it: who may see it (404 otherwise), the case the table reads, its allowed actions."""

from __future__ import annotations

from typing import Any

from yilian.api.models.consult import Consult
from yilian.api.referral_view import referral_scope
from yilian.domain.access import Principal, can_view
from yilian.domain.consult import ConsultCase, ConsultScope, ConsultState, allowed_actions, can_view_consult
from yilian.domain.errors import ErrorCode, YilianError


def consult_case(row: dict[str, Any]) -> ConsultCase:
    """The projection row as the action table reads it (the referral's parties only matter to a request)."""
    return ConsultCase(
        consult_id=row["id"],
        hospital_ids=tuple(row["hospital_ids"]),
        state=ConsultState(row["state"]),
        requested_by=row["requested_by"],
        host_id=row["host_id"],
        invitee_ids=tuple(row["invitee_ids"]),
        seq=row["last_seq"],
    )


def consult_scope(row: dict[str, Any], principal: Principal, cases: list[dict[str, Any]]) -> ConsultScope:
    return ConsultScope(
        host_id=row["host_id"],
        requested_by=row["requested_by"],
        invitee_ids=frozenset(row["invitee_ids"]),
        hospital_ids=frozenset(row["hospital_ids"]),
        sees_a_case=any(can_view(principal, referral_scope(c)) for c in cases),
    )


def seen_consult(
    principal: Principal, consult_id: str, row: dict[str, Any] | None, cases: list[dict[str, Any]]
) -> dict[str, Any]:
    """`row` if it exists and the caller may see it; 404 otherwise (the same answer for both)."""
    if row is None or not can_view_consult(principal, consult_scope(row, principal, cases)):
        raise YilianError(ErrorCode.NOT_FOUND, f"no consult {consult_id} that you can see")
    return row


def shown_cases(principal: Principal, row: dict[str, Any], cases: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The consult's cases the caller is shown: those they may see, and all of them to its host and invited (who
    open their studies in the room; domain.access.can_view_study grants it) unless it was cancelled."""
    taking_part = principal.user_id in (row["host_id"], *row["invitee_ids"]) and row["state"] != ConsultState.CANCELLED
    return [c for c in cases if taking_part or can_view(principal, referral_scope(c))]


def consult_out(row: dict[str, Any], principal: Principal) -> Consult:
    actions = [str(a) for a in allowed_actions(consult_case(row), principal.actor)]
    return Consult.model_validate({**row, "seq": row["last_seq"], "allowed_actions": actions})

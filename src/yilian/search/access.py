"""The domain's access rule (domain/access.py) compiled to an OpenSearch filter, as db/queries/access.py compiles it
to SQL: the reports a principal may find are those of the referrals they may see. The index carries the referral's
parties under the same names as the projection's columns (Party values)."""

from __future__ import annotations

from typing import Any

from yilian.domain.access import REFERRAL_GRANTS, Grant, Match, Principal, mine

MATCH_NONE: dict[str, Any] = {"match_none": {}}
MATCH_ALL: dict[str, Any] = {"match_all": {}}


def _match(m: Match, p: Principal) -> dict[str, Any]:
    field, ours = m.party.value, mine(p, m.mine)
    if ours is None:
        return MATCH_NONE
    if isinstance(ours, frozenset):
        return {"terms": {field: sorted(ours)}} if ours else MATCH_NONE
    return {"term": {field: ours}}


def _grant(grant: Grant, p: Principal) -> dict[str, Any]:
    if not grant:
        return MATCH_ALL
    return {"bool": {"filter": [_match(m, p) for m in grant]}}


def visible_reports(p: Principal) -> dict[str, Any]:
    """A filter clause: the documents `p` may find, exactly those `domain.access.can_view` lets through."""
    grants = REFERRAL_GRANTS.get(p.role, ())
    if not grants:
        return MATCH_NONE
    return {"bool": {"should": [_grant(g, p) for g in grants], "minimum_should_match": 1}}

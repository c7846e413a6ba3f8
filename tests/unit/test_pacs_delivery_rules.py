"""Rules of a report's delivery to a county PACS, and the gateway's key scopes in the one access rule."""

from __future__ import annotations

import pytest

from yilian.domain.access import Principal, StudyScope, can_view_study
from yilian.domain.errors import YilianError
from yilian.domain.pacs_delivery import DeliveryState, check_outcome
from yilian.domain.roles import Role

S = DeliveryState


@pytest.mark.parametrize(
    ("current", "reported", "changes"),
    [
        (S.PENDING, S.QUEUED, True),
        (S.PENDING, S.DELIVERED, True),
        (S.QUEUED, S.QUEUED, False),  # the gateway re-fetched it (a lost spool): nothing new to record
        (S.QUEUED, S.DELIVERED, True),
        (S.QUEUED, S.FAILED, True),
        (S.FAILED, S.DELIVERED, True),  # sent again once the PACS was fixed
        (S.DELIVERED, S.DELIVERED, False),  # a retried report of the outcome
    ],
)
def test_what_the_gateway_may_report(current: S, reported: S, changes: bool) -> None:
    assert check_outcome(current, reported) is changes


@pytest.mark.parametrize(
    ("current", "reported"), [(S.DELIVERED, S.FAILED), (S.DELIVERED, S.QUEUED), (S.QUEUED, S.PENDING)]
)
def test_a_report_that_cannot_follow_is_refused(current: S, reported: S) -> None:
    with pytest.raises(YilianError) as refused:
        check_outcome(current, reported)
    assert refused.value.code == "invalid_transition"


def test_a_gateway_key_reads_only_with_the_retrieve_scope_and_only_its_hospitals_studies() -> None:
    own, other = StudyScope("2.25.1", "h-anping", "P1"), StudyScope("2.25.2", "h-qingshan", "P2")
    store_only = Principal("api-key:a", Role.GATEWAY, "h-anping", "CT room")
    retrieving = Principal("api-key:b", Role.GATEWAY, "h-anping", "PACS gateway", may_retrieve=True)
    assert not can_view_study(store_only, own, [])
    assert can_view_study(retrieving, own, [])
    assert not can_view_study(retrieving, other, [])

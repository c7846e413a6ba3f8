"""Who may view a referral and who sees drafts, for every role."""

from __future__ import annotations

import pytest

from yilian.domain.access import Principal, ReferralScope, can_view, sees_drafts
from yilian.domain.roles import Actor, Role

REQ = "h-county"
READ = "h-tertiary"
OTHER = "h-other"
SCOPE = ReferralScope(requesting_hospital_id=REQ, reading_hospital_id=READ, offered_to="u-offered",
                      reader_id="u-reader")


def _p(user_id: str, role: Role, hospital_id: str | None, licensed_for: frozenset[str] = frozenset()) -> Principal:
    return Principal(user_id, role, hospital_id, user_id, licensed_for)


# (principal, can_view, sees_drafts)
TABLE = [
    pytest.param(_p("u-admin", Role.ADMIN, None), True, True, id="admin"),
    pytest.param(_p("u-county", Role.COUNTY_DOCTOR, REQ), True, False, id="county-doctor-requesting"),
    pytest.param(_p("u-county-2", Role.COUNTY_DOCTOR, OTHER), False, False, id="county-doctor-other"),
    pytest.param(_p("u-county-3", Role.COUNTY_DOCTOR, READ), False, False, id="county-doctor-of-reading-hospital"),
    pytest.param(_p("u-coord-read", Role.COORDINATOR, READ), True, True, id="coordinator-reading"),
    pytest.param(_p("u-coord-req", Role.COORDINATOR, REQ), True, False, id="coordinator-requesting"),
    pytest.param(_p("u-coord-other", Role.COORDINATOR, OTHER), False, False, id="coordinator-unrelated"),
    pytest.param(_p("u-expert", Role.EXPERT, READ), False, True, id="expert-reading-unlicensed"),
    pytest.param(_p("u-expert", Role.EXPERT, READ, frozenset({OTHER})), False, True,
                 id="expert-reading-licensed-elsewhere"),
    pytest.param(_p("u-expert", Role.EXPERT, READ, frozenset({REQ})), True, True, id="expert-reading-licensed"),
    pytest.param(_p("u-senior", Role.SENIOR, READ), False, True, id="senior-reading-unlicensed"),
    pytest.param(_p("u-senior", Role.SENIOR, READ, frozenset({REQ})), True, True, id="senior-reading-licensed"),
    pytest.param(_p("u-expert-x", Role.EXPERT, OTHER, frozenset({REQ})), False, True,
                 id="expert-other-hospital-licensed"),
    pytest.param(_p("u-offered", Role.EXPERT, OTHER), True, True, id="offered-expert-always"),
    pytest.param(_p("u-reader", Role.SENIOR, READ), True, True, id="reader-always"),
    pytest.param(_p("u-patient", Role.PATIENT, None), False, False, id="patient"),
    pytest.param(_p("u-patient", Role.PATIENT, REQ), False, False, id="patient-with-hospital"),
    pytest.param(_p("system", Role.SYSTEM, None), False, False, id="system"),
]


@pytest.mark.parametrize(("principal", "view", "drafts"), TABLE)
def test_can_view_and_sees_drafts(principal: Principal, view: bool, drafts: bool) -> None:
    assert can_view(principal, SCOPE) is view
    assert sees_drafts(principal, SCOPE) is drafts


def test_offered_expert_sees_only_while_named() -> None:
    offered = _p("u-offered", Role.EXPERT, READ)
    assert can_view(offered, SCOPE) is True
    after = ReferralScope(REQ, READ, offered_to=None, reader_id="u-reader")
    assert can_view(offered, after) is False


def test_principal_actor() -> None:
    assert _p("u-1", Role.EXPERT, READ, frozenset({REQ})).actor == Actor("u-1", Role.EXPERT, READ, "u-1")

"""Who may view a referral and a study, and who sees drafts, for every role."""

from __future__ import annotations

import pytest

from yilian.domain.access import (
    REFERRAL_GRANTS,
    STUDY_GRANTS,
    Principal,
    ReferralScope,
    ReferralStudy,
    StudyScope,
    TeachingCopy,
    can_view,
    can_view_study,
    sees_drafts,
)
from yilian.domain.roles import Actor, Role
from yilian.domain.teaching import TeachingState, Visibility

REQ = "h-county"
READ = "h-tertiary"
OTHER = "h-other"
SCOPE = ReferralScope(
    requesting_hospital_id=REQ, reading_hospital_id=READ, offered_to="u-offered", reader_id="u-reader"
)


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
    pytest.param(
        _p("u-expert", Role.EXPERT, READ, frozenset({OTHER})), False, True, id="expert-reading-licensed-elsewhere"
    ),
    pytest.param(_p("u-expert", Role.EXPERT, READ, frozenset({REQ})), True, True, id="expert-reading-licensed"),
    pytest.param(_p("u-senior", Role.SENIOR, READ), False, True, id="senior-reading-unlicensed"),
    pytest.param(_p("u-senior", Role.SENIOR, READ, frozenset({REQ})), True, True, id="senior-reading-licensed"),
    pytest.param(
        _p("u-expert-x", Role.EXPERT, OTHER, frozenset({REQ})), False, True, id="expert-other-hospital-licensed"
    ),
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


# ---- studies: the sending hospital, and readers through referrals they may see (with that patient's priors) ------
STUDY = StudyScope("1.2.3", REQ, "P1")
PRIOR = StudyScope("1.2.9", REQ, "P1")
ELSEWHERE = StudyScope("1.2.3", OTHER, "P1")  # the same UID and Patient ID at another hospital
CASE = ReferralStudy(SCOPE, "1.2.3", "P1")

# (principal, sees the case's study, sees the patient's prior, sees another hospital's study of that UID)
STUDY_TABLE = [
    pytest.param(_p("u-admin", Role.ADMIN, None), True, True, True, id="admin"),
    pytest.param(_p("u-county", Role.COUNTY_DOCTOR, REQ), True, True, False, id="county-own-hospital"),
    pytest.param(_p("u-county-2", Role.COUNTY_DOCTOR, OTHER), False, False, True, id="county-other-hospital"),
    pytest.param(_p("u-coord-read", Role.COORDINATOR, READ), True, False, False, id="coordinator-reading"),
    pytest.param(_p("u-expert", Role.EXPERT, READ, frozenset({REQ})), True, True, False, id="expert-licensed"),
    pytest.param(_p("u-expert", Role.EXPERT, READ), False, False, False, id="expert-unlicensed"),
    pytest.param(_p("u-offered", Role.EXPERT, OTHER), True, True, False, id="offered-expert"),
    pytest.param(_p("u-gateway", Role.GATEWAY, REQ), False, False, False, id="gateway-stores-only"),
    pytest.param(_p("u-patient", Role.PATIENT, REQ), False, False, False, id="patient"),
]


@pytest.mark.parametrize(("principal", "case", "prior", "elsewhere"), STUDY_TABLE)
def test_can_view_study(principal: Principal, case: bool, prior: bool, elsewhere: bool) -> None:
    assert can_view_study(principal, STUDY, [CASE]) is case
    assert can_view_study(principal, PRIOR, [CASE]) is prior
    assert can_view_study(principal, ELSEWHERE, [CASE]) is elsewhere


def test_every_role_is_named_or_sees_nothing() -> None:
    """A new role sees nothing until the rule names it: no grant is implied."""
    unnamed = set(Role) - set(REFERRAL_GRANTS)
    # Educators curate teaching cases: they see the de-identified copies (below), not the referrals or the archive.
    assert unnamed == {Role.PATIENT, Role.GATEWAY, Role.SYSTEM, Role.EDUCATOR}
    assert set(Role) - set(STUDY_GRANTS) == unnamed


def test_a_teaching_copy_is_seen_by_whoever_may_see_its_case() -> None:
    """The de-identified copy of a published case is every doctor's; a draft's copy is the educators' only."""
    published, draft = (
        TeachingCopy(TeachingState.PUBLISHED, Visibility.ALLIANCE),
        TeachingCopy(TeachingState.IN_REVIEW, Visibility.DRAFT),
    )
    copy = StudyScope("2.25.1", "h-anping", "TEACH-1")
    for role in (Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR, Role.EDUCATOR):
        p = Principal("x", role, "h-qingshan", "X")
        assert can_view_study(p, copy, [], published)
        assert can_view_study(p, copy, [], draft) is (role is Role.EDUCATOR)
    assert not can_view_study(Principal("g", Role.GATEWAY, "h-anping", "G"), copy, [], published)

"""The teaching-case rules as data: every action from every state by every role, nominating, curation limits, who
sees what (a draft is invisible to learners), and the unknown-case comparison."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role
from yilian.domain.teaching import (
    PERSON_ACTIONS,
    RULES,
    TEACHING_GRANTS,
    Curation,
    Given,
    SignedCase,
    TeachingAction,
    TeachingCase,
    TeachingState,
    Visibility,
    allowed_actions,
    can_see,
    compare,
    may_nominate,
    transition,
    validate,
)

A, T = TeachingAction, TeachingState
HE = Actor("he.educator", Role.EDUCATOR, "h-provincial", "He")
WANG = Actor("wang.expert", Role.EXPERT, "h-provincial", "Wang")
CHEN = Actor("chen.senior", Role.SENIOR, "h-provincial", "Chen")
ZHAO = Actor("zhao.anping", Role.COUNTY_DOCTOR, "h-anping", "Zhao")
LIU = Actor("liu.coord", Role.COORDINATOR, "h-provincial", "Liu")
ADMIN = Actor("admin", Role.ADMIN, None, "Admin")
EVERYONE = (HE, WANG, CHEN, ZHAO, LIU, ADMIN, SYSTEM_ACTOR)
READY = Curation(title="右肺上叶错构瘤", diagnosis="错构瘤 hamartoma", icd10="D14.3", visibility=Visibility.ALLIANCE)
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def given_for(action: TeachingAction) -> Given:
    return Given(curation=READY, comment="不再适合教学 / superseded")


@pytest.mark.parametrize("action", list(RULES))
@pytest.mark.parametrize("state", list(TeachingState))
def test_every_action_from_every_state_by_every_role(action: TeachingAction, state: TeachingState) -> None:
    rule = RULES[action]
    case = TeachingCase("tc-1", state, nominated_by="wang.expert", curation=READY)
    for actor in EVERYONE:
        expected_role = Role.SYSTEM if rule.guard == "system" else Role.EDUCATOR
        if actor.role is not expected_role:
            with pytest.raises(YilianError) as refused:
                validate(case, action, actor, given_for(action))
            assert refused.value.code is ErrorCode.FORBIDDEN
        elif state not in rule.from_states:
            with pytest.raises(YilianError) as refused:
                validate(case, action, actor, given_for(action))
            assert refused.value.code is ErrorCode.INVALID_TRANSITION
        else:
            validate(case, action, actor, given_for(action))
            new, event = transition(case, action, actor, NOW, curation=READY if action is A.EDIT else None)
            assert new.state is (rule.to_state or state)
            assert (event.seq, event.from_state, event.to_state) == (1, state, new.state)


def test_the_loop_accept_deidentify_edit_publish_unpublish_publish() -> None:
    case = TeachingCase("tc-1", nominated_by="wang.expert")
    case, _ = transition(case, A.ACCEPT, HE, NOW)
    assert (case.state, case.curator_id) == (T.DEIDENTIFYING, "he.educator")
    case, _ = transition(case, A.DEIDENTIFIED, SYSTEM_ACTOR, NOW, curation=Curation(modality="CT", body_part="CHEST"))
    assert (case.state, case.version) == (T.IN_REVIEW, 1)
    with pytest.raises(YilianError) as not_ready:
        validate(case, A.PUBLISH, HE)
    assert not_ready.value.code is ErrorCode.VALIDATION_FAILED
    assert set(not_ready.value.details["problems"]) == {
        "no title", "no diagnosis", "visibility is draft: choose alliance or public"
    }  # fmt: skip
    case, _ = transition(case, A.EDIT, HE, NOW, curation=READY)
    assert case.version == 2
    validate(case, A.PUBLISH, HE)
    case, _ = transition(case, A.PUBLISH, HE, NOW)
    assert allowed_actions(case, HE) == [A.EDIT, A.UNPUBLISH]
    with pytest.raises(YilianError):
        validate(case, A.UNPUBLISH, HE, Given(comment="  "))  # a reason is needed
    case, _ = transition(case, A.UNPUBLISH, HE, NOW)
    assert case.state is T.UNPUBLISHED and A.PUBLISH in allowed_actions(case, HE)
    assert case.seq == 5


def test_learners_get_no_buttons() -> None:
    for state in TeachingState:
        case = TeachingCase("tc-1", state)
        for actor in (WANG, CHEN, ZHAO, LIU, ADMIN):
            assert allowed_actions(case, actor) == []
    assert set(PERSON_ACTIONS) <= set(RULES)


SIGNED = SignedCase("ref-1", True, "h-provincial", reader_id="wang.expert", second_reader_id="chen.senior")


def test_who_may_flag_a_signed_case() -> None:
    for actor in (WANG, CHEN, HE):
        may_nominate(actor, SIGNED)
    other_expert = Actor("li.expert", Role.EXPERT, "h-provincial", "Li")
    for actor in (other_expert, ZHAO, LIU, ADMIN):
        with pytest.raises(YilianError) as refused:
            may_nominate(actor, SIGNED)
        assert refused.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(YilianError) as unsigned:
        may_nominate(WANG, SignedCase("ref-2", False, "h-provincial", "wang.expert", None))
    assert unsigned.value.code is ErrorCode.INVALID_TRANSITION


@pytest.mark.parametrize(
    ("curation", "problem"),
    [
        (Curation(icd10="lung cancer"), "'lung cancer' is not an ICD-10 code"),
        (Curation(tags=["ok", " "]), "a list has more than 30 items, or an empty or too long item"),
        (Curation(title="x" * 201), "text is too long"),
    ],
)
def test_curation_limits(curation: Curation, problem: str) -> None:
    assert problem in curation.problems(ready=False)


def test_a_draft_is_invisible_to_learners() -> None:
    learners = [role for role, grant in TEACHING_GRANTS.items() if not grant.every_state]
    assert set(learners) == {Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR}
    for role in learners:
        for state in TeachingState:
            for visibility in Visibility:
                expected = state is T.PUBLISHED and visibility is not Visibility.DRAFT
                assert can_see(role, state, visibility) is expected, (role, state, visibility)
    for state in TeachingState:
        assert can_see(Role.EDUCATOR, state, Visibility.DRAFT)
        assert not can_see(Role.PATIENT, state, Visibility.PUBLIC)
        assert not can_see(Role.GATEWAY, state, Visibility.PUBLIC)


def test_compare_findings_present_absent_uncertain() -> None:
    expert = {"nodule": "present", "calcification": "present", "effusion": "negated", "lymphadenopathy": "uncertain"}
    yours = {"nodule": "present", "effusion": "present", "pneumothorax": "negated", "lymphadenopathy": "present"}
    c = compare(expert, yours)
    by = {f.concept: f for f in c.findings}
    assert [f.concept for f in c.findings] == ["calcification", "effusion", "lymphadenopathy", "nodule", "pneumothorax"]
    assert by["nodule"].agrees and by["pneumothorax"].agrees  # denied vs not mentioned: both say absent
    assert not by["calcification"].agrees and not by["effusion"].agrees and not by["lymphadenopathy"].agrees
    assert (c.agreed, c.missed, c.extra) == (2, ["calcification"], ["effusion"])
    assert compare({}, {}).findings == []

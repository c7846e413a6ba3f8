"""The whole action in the table: what each rule needs, what it does, its condition, and `allowed_actions`.

`test_referral_rules.py` enumerates who may act in which state; this file enumerates the rest of each rule and
proves that the buttons `allowed_actions` offers are exactly the actions `validate` accepts.
"""

from __future__ import annotations

import pytest

from tests.unit.test_referral_rules import ADMITTED, AT, REFUSED, _case
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.referral import (
    NO_CONDITIONS,
    PERSON_ACTIONS,
    RULES,
    Action,
    Condition,
    Effect,
    Given,
    Guard,
    Need,
    ReferralState,
    allowed_actions,
    conditions,
    person_action,
    transition,
    validate,
)
from yilian.domain.report import Discrepancy, ReportContent
from yilian.domain.roles import Actor

A, N, E = Action, Need, Effect

NEEDS: dict[Action, frozenset[Need]] = {
    A.OFFER: frozenset({N.TARGET}),
    A.SAVE_DRAFT: frozenset({N.DRAFT_REPORT}),
    A.SUBMIT_PRELIMINARY: frozenset({N.COMPLETE_REPORT}),
    A.APPROVE: frozenset({N.DISCREPANCY}),
    A.REQUEST_CHANGES: frozenset({N.DISCREPANCY, N.COMMENT}),
    A.REQUEST_INFO: frozenset({N.COMMENT}),
    A.PROVIDE_INFO: frozenset({N.COMMENT}),
    A.CANCEL: frozenset({N.COMMENT}),
    A.CORRECT_QUESTION: frozenset({N.COMMENT}),
    A.REQUEST_RETAKE: frozenset({N.COMMENT}),
    A.REASSIGN: frozenset({N.TARGET, N.COMMENT}),
    A.REROUTE: frozenset({N.COMMENT}),
    A.ADD_ADDENDUM: frozenset({N.COMPLETE_REPORT}),
}  # every other action needs nothing

EFFECTS: dict[Action, Effect] = {
    A.OFFER: E.OFFER,
    A.REASSIGN: E.OFFER,
    A.ACCEPT: E.ASSIGN,
    A.DECLINE: E.WITHDRAW,
    A.OFFER_EXPIRE: E.WITHDRAW,
    A.CANCEL: E.WITHDRAW,
    A.REROUTE: E.RELEASE,
    A.SLA_REASSIGN: E.RELEASE,
    A.APPROVE: E.SECOND_READ,
    A.REQUEST_CHANGES: E.SECOND_READ,
}  # every other action leaves the people on the case as they are

COMPLETE = ReportContent("Findings.", "Impression.")
# Satisfies every need at once: what a well-formed request for any action carries.
EVERYTHING = Given(comment="because", report=COMPLETE, discrepancy=Discrepancy.AGREE, target="u-next")
# Lacks exactly one need each.
WITHOUT: dict[Need, Given] = {
    N.COMMENT: Given(comment="  ", report=COMPLETE, discrepancy=Discrepancy.AGREE, target="u-next"),
    N.DRAFT_REPORT: Given(comment="because", discrepancy=Discrepancy.AGREE, target="u-next"),
    N.COMPLETE_REPORT: Given(
        comment="because", report=ReportContent("", "Impression."), discrepancy=Discrepancy.AGREE, target="u-next"
    ),
    N.DISCREPANCY: Given(comment="because", report=COMPLETE, target="u-next"),
    N.TARGET: Given(comment="because", report=COMPLETE, discrepancy=Discrepancy.AGREE),
}
EVERY_ACTOR: list[Actor] = sorted(
    {actor for actors in (*ADMITTED.values(), *REFUSED.values()) for actor in actors}, key=lambda a: a.user_id
)
HOLDINGS = [NO_CONDITIONS, frozenset({Condition.CRITICAL_OPEN})]


def test_needs_table() -> None:
    assert {a: r.needs for a, r in RULES.items() if r.needs} == NEEDS


def test_effects_table() -> None:
    assert {a: r.effect for a, r in RULES.items() if r.effect is not None} == EFFECTS


def test_only_acknowledging_a_critical_finding_has_a_condition() -> None:
    assert {a: r.when for a, r in RULES.items() if r.when is not None} == {
        A.ACKNOWLEDGE_CRITICAL: Condition.CRITICAL_OPEN
    }


def test_person_actions_are_the_non_system_actions_but_reroute() -> None:
    people = {a for a, r in RULES.items() if r.guard is not Guard.SYSTEM}
    assert set(PERSON_ACTIONS) == people - {A.REROUTE}  # reroute is the reassign panel without an expert
    assert len(PERSON_ACTIONS) == len(set(PERSON_ACTIONS)) == 16


def _allowed_state(action: Action) -> ReferralState:
    return sorted(RULES[action].from_states)[0]


@pytest.mark.parametrize(("action", "need"), [(a, n) for a, needs in NEEDS.items() for n in sorted(needs)])
def test_an_action_without_what_it_needs_is_a_validation_failure(action: Action, need: Need) -> None:
    rule = RULES[action]
    case = _case(_allowed_state(action))
    actor = ADMITTED[rule.guard][0]
    assert validate(case, action, actor, EVERYTHING, holding=frozenset(Condition)) is rule
    with pytest.raises(YilianError) as err:
        validate(case, action, actor, WITHOUT[need], holding=frozenset(Condition))
    assert err.value.code is ErrorCode.VALIDATION_FAILED
    assert (err.value.details["action"], err.value.details["need"]) == (action, need)
    assert err.value.details["problems"]


def test_a_draft_may_be_incomplete_but_not_too_long() -> None:
    case, reader = _case(ReferralState.IN_READING), ADMITTED[Guard.ASSIGNED_READER][0]
    validate(case, A.SAVE_DRAFT, reader, Given(report=ReportContent("", "")))
    with pytest.raises(YilianError) as err:
        validate(case, A.SAVE_DRAFT, reader, Given(report=ReportContent("x" * 20001, "")))
    assert err.value.details["problems"] == ["report text is too long"]


def test_a_critical_finding_needs_its_note_before_it_is_sent() -> None:
    case, reader = _case(ReferralState.IN_READING), ADMITTED[Guard.ASSIGNED_READER][0]
    critical = ReportContent("Findings.", "Impression.", critical=True)
    with pytest.raises(YilianError) as err:
        validate(case, A.SUBMIT_PRELIMINARY, reader, Given(report=critical))
    assert err.value.details["problems"] == ["a critical finding needs a note saying what is critical"]


def test_acknowledging_needs_an_open_critical_finding() -> None:
    case, county = _case(ReferralState.RETURNED), ADMITTED[Guard.REFERRING_DOCTOR][0]
    with pytest.raises(YilianError) as err:
        validate(case, A.ACKNOWLEDGE_CRITICAL, county, Given(), holding=conditions(critical_open=False))
    assert err.value.code is ErrorCode.INVALID_TRANSITION
    assert err.value.details == {"action": A.ACKNOWLEDGE_CRITICAL, "condition": Condition.CRITICAL_OPEN}
    assert "no critical finding" in err.value.message
    validate(case, A.ACKNOWLEDGE_CRITICAL, county, Given(), holding=conditions(critical_open=True))


def test_who_and_when_are_refused_before_what_is_missing() -> None:
    """A stranger learns nothing about the input a rule wants; a wrong state is told before a missing comment."""
    case = _case(ReferralState.IN_READING)
    with pytest.raises(YilianError) as err:
        validate(case, A.REQUEST_INFO, REFUSED[Guard.ASSIGNED_READER][0], Given())
    assert err.value.code is ErrorCode.FORBIDDEN
    with pytest.raises(YilianError) as err:
        validate(_case(ReferralState.PRELIMINARY), A.REQUEST_INFO, ADMITTED[Guard.ASSIGNED_READER][0], Given())
    assert err.value.code is ErrorCode.INVALID_TRANSITION


def test_transition_leaves_conditions_and_input_to_validate_but_needs_a_target_for_an_offer() -> None:
    """The workflow validates first, then changes its own state (a critical finding is closed) and transitions."""
    county = ADMITTED[Guard.REFERRING_DOCTOR][0]
    new, _ = transition(_case(ReferralState.RETURNED), A.ACKNOWLEDGE_CRITICAL, county, AT)
    assert new.state is ReferralState.RETURNED
    with pytest.raises(YilianError) as err:
        transition(_case(ReferralState.SUBMITTED), A.OFFER, ADMITTED[Guard.SYSTEM][0], AT)
    assert err.value.details["need"] == N.TARGET


@pytest.mark.parametrize("update", [a.value for a in PERSON_ACTIONS])
def test_each_person_update_names_its_action(update: str) -> None:
    assert person_action(update, EVERYTHING) is Action(update)


def test_reassign_without_an_expert_is_a_reroute() -> None:
    assert person_action("reassign", Given(comment="back to routing")) is A.REROUTE
    assert person_action("reassign", Given(comment="to Dr Li", target="li")) is A.REASSIGN


def _accepted(state: ReferralState, actor: Actor, holding: frozenset[Condition]) -> set[Action]:
    accepted = set()
    for action in PERSON_ACTIONS:
        try:
            validate(_case(state), action, actor, EVERYTHING, holding=holding)
        except YilianError:
            continue
        accepted.add(action)
    return accepted


@pytest.mark.parametrize("holding", HOLDINGS, ids=["no-critical", "critical-open"])
@pytest.mark.parametrize("state", list(ReferralState))
def test_allowed_actions_are_exactly_what_the_validator_accepts(
    state: ReferralState, holding: frozenset[Condition]
) -> None:
    for actor in EVERY_ACTOR:
        allowed = allowed_actions(_case(state), actor, holding)
        assert set(allowed) == _accepted(state, actor, holding), actor
        assert allowed == [a for a in PERSON_ACTIONS if a in allowed]  # in the table's order, no repeats


def test_allowed_actions_examples() -> None:
    """A few cases read as the people on them see them."""
    S = ReferralState
    offered, reader = ADMITTED[Guard.OFFERED_EXPERT][0], ADMITTED[Guard.ASSIGNED_READER][0]
    senior, county = ADMITTED[Guard.SECOND_READER][0], ADMITTED[Guard.REFERRING_DOCTOR][0]
    coordinator = ADMITTED[Guard.COORDINATOR][0]
    assert allowed_actions(_case(S.OFFERED), offered) == [A.ACCEPT, A.DECLINE]
    assert allowed_actions(_case(S.OFFERED), county) == [A.CANCEL, A.CORRECT_QUESTION]
    assert allowed_actions(_case(S.IN_READING), county) == []  # reading started: the question stays
    assert allowed_actions(_case(S.OFFERED), coordinator) == [A.REASSIGN]
    assert allowed_actions(_case(S.IN_READING), reader) == [
        A.SAVE_DRAFT, A.SUBMIT_PRELIMINARY, A.REQUEST_INFO, A.GRADE_QUALITY, A.REQUEST_RETAKE
    ]  # fmt: skip
    assert allowed_actions(_case(S.CHANGES_REQUESTED), reader) == [A.SAVE_DRAFT, A.SUBMIT_PRELIMINARY, A.GRADE_QUALITY]
    assert allowed_actions(_case(S.PRELIMINARY), senior) == [A.APPROVE, A.REQUEST_CHANGES]
    assert allowed_actions(_case(S.PRELIMINARY), reader) == []
    assert allowed_actions(_case(S.NEEDS_INFO), county) == [A.PROVIDE_INFO]
    critical = conditions(critical_open=True)
    assert allowed_actions(_case(S.RETURNED), county, critical) == [A.ACKNOWLEDGE_RECEIPT, A.ACKNOWLEDGE_CRITICAL]
    assert allowed_actions(_case(S.RETURNED), county) == [A.ACKNOWLEDGE_RECEIPT]
    assert allowed_actions(_case(S.CLOSED), reader) == [A.ADD_ADDENDUM]
    assert allowed_actions(_case(S.CANCELLED), county) == []

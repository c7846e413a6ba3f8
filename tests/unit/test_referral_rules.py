"""Enumerate the referral transition table: every action in every state, by every kind of actor."""

from __future__ import annotations

import dataclasses
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.referral import RULES, Action, Guard, ReferralCase, ReferralState, transition
from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role

REQ = "h-county"
READ = "h-tertiary"
OTHER = "h-other"
AT = datetime(2024, 3, 1, 9, 30, tzinfo=UTC)
TARGET = "u-next"

COUNTY = Actor("u-county", Role.COUNTY_DOCTOR, REQ)
COUNTY_OTHER = Actor("u-county-2", Role.COUNTY_DOCTOR, OTHER)
OFFERED = Actor("u-offered", Role.EXPERT, READ)
OFFERED_SENIOR = Actor("u-offered", Role.SENIOR, READ)
OTHER_EXPERT = Actor("u-expert-2", Role.EXPERT, READ)
READER = Actor("u-reader", Role.EXPERT, READ)
READER_AS_SENIOR = Actor("u-reader", Role.SENIOR, READ)
SENIOR = Actor("u-senior", Role.SENIOR, READ)
SENIOR_OTHER = Actor("u-senior-2", Role.SENIOR, OTHER)
EXPERT_OTHER = Actor("u-expert-3", Role.EXPERT, OTHER)
COORD_READ = Actor("u-coord-read", Role.COORDINATOR, READ)
COORD_REQ = Actor("u-coord-req", Role.COORDINATOR, REQ)
COORD_OTHER = Actor("u-coord-other", Role.COORDINATOR, OTHER)
COORD_NONE = Actor("u-coord-none", Role.COORDINATOR, None)
ADMIN = Actor("u-admin", Role.ADMIN, None)
# Someone whose user id matches the case's people but whose role does not.
COUNTY_NAMED_OFFERED = Actor("u-offered", Role.COUNTY_DOCTOR, REQ)
COUNTY_NAMED_READER = Actor("u-reader", Role.COUNTY_DOCTOR, REQ)

ADMITTED: dict[Guard, list[Actor]] = {
    Guard.SYSTEM: [SYSTEM_ACTOR],
    Guard.REFERRING_DOCTOR: [COUNTY],
    Guard.OFFERED_EXPERT: [OFFERED, OFFERED_SENIOR],
    Guard.ASSIGNED_READER: [READER, READER_AS_SENIOR],
    Guard.SECOND_READER: [SENIOR],
    Guard.COORDINATOR: [COORD_READ, COORD_REQ],
    Guard.SIGNER: [READER, READER_AS_SENIOR],
}

REFUSED: dict[Guard, list[Actor]] = {
    Guard.SYSTEM: [COUNTY, READER, SENIOR, COORD_READ, ADMIN],
    Guard.REFERRING_DOCTOR: [COUNTY_OTHER, COORD_REQ, READER, SYSTEM_ACTOR, ADMIN],
    Guard.OFFERED_EXPERT: [OTHER_EXPERT, READER, SENIOR, COUNTY_NAMED_OFFERED, SYSTEM_ACTOR],
    Guard.ASSIGNED_READER: [OFFERED, OTHER_EXPERT, SENIOR, COUNTY_NAMED_READER, SYSTEM_ACTOR],
    Guard.SECOND_READER: [READER_AS_SENIOR, READER, SENIOR_OTHER, OTHER_EXPERT, COORD_READ, SYSTEM_ACTOR],
    Guard.COORDINATOR: [COORD_OTHER, COORD_NONE, SENIOR, COUNTY, ADMIN, SYSTEM_ACTOR],
    # A senior who did not second-read this case does not answer for its report.
    Guard.SIGNER: [SENIOR, OTHER_EXPERT, EXPERT_OTHER, SENIOR_OTHER, COUNTY, COORD_READ, SYSTEM_ACTOR],
}

# What each action does to the people on the case, starting from `_case()` (offered_to u-offered,
# reader u-reader, no second reader), with the first admitted actor: (offered_to, reader_id, second_reader_id).
EFFECTS: dict[Action, tuple[str | None, str | None, str | None]] = {
    Action.OFFER: (TARGET, None, None),
    Action.AWAIT_IMAGES: ("u-offered", "u-reader", None),
    Action.IMAGES_ARRIVED: ("u-offered", "u-reader", None),
    Action.REASSIGN: (TARGET, None, None),
    Action.ACCEPT: (None, "u-offered", None),
    Action.DECLINE: (None, "u-reader", None),
    Action.OFFER_EXPIRE: (None, "u-reader", None),
    Action.REROUTE: (None, None, None),
    Action.SLA_REASSIGN: (None, None, None),
    Action.APPROVE: ("u-offered", "u-reader", "u-senior"),
    Action.REQUEST_CHANGES: ("u-offered", "u-reader", "u-senior"),
    Action.ESCALATE: ("u-offered", "u-reader", None),
    Action.SAVE_DRAFT: ("u-offered", "u-reader", None),
    Action.SUBMIT_PRELIMINARY: ("u-offered", "u-reader", None),
    Action.FINALIZE: ("u-offered", "u-reader", None),
    Action.RETURN: ("u-offered", "u-reader", None),
    Action.ACKNOWLEDGE_RECEIPT: ("u-offered", "u-reader", None),
    Action.REQUEST_INFO: ("u-offered", "u-reader", None),
    Action.PROVIDE_INFO: ("u-offered", "u-reader", None),
    Action.CANCEL: (None, "u-reader", None),  # a withdrawn offer is no longer on anyone's worklist
    Action.SLA_WARN: ("u-offered", "u-reader", None),
    Action.SLA_BREACH: ("u-offered", "u-reader", None),
    Action.NOTIFY_CRITICAL: ("u-offered", "u-reader", None),
    Action.ACKNOWLEDGE_CRITICAL: ("u-offered", "u-reader", None),
    Action.ESCALATE_CRITICAL: ("u-offered", "u-reader", None),
    Action.ADD_ADDENDUM: ("u-offered", "u-reader", None),
    Action.CORRECT_QUESTION: ("u-offered", "u-reader", None),
    Action.GRADE_QUALITY: ("u-offered", "u-reader", None),
    Action.REQUEST_RETAKE: ("u-offered", "u-reader", None),
    Action.CONSULT_REQUESTED: ("u-offered", "u-reader", None),
    Action.CONSULT_SCHEDULED: ("u-offered", "u-reader", None),
    Action.CONSULT_CANCELLED: ("u-offered", "u-reader", None),
    Action.CONSULT_CONCLUDED: ("u-offered", "u-reader", None),
}


def _case(state: ReferralState) -> ReferralCase:
    return ReferralCase("r-1", REQ, READ, state=state, offered_to="u-offered", reader_id="u-reader", seq=4)


def _target(action: Action) -> str | None:
    return TARGET if action in (Action.OFFER, Action.REASSIGN) else None


def _label(actor: Actor) -> str:
    return f"{actor.role}:{actor.user_id}@{actor.hospital_id}"


ADMITTED_CASES = [
    pytest.param(action, state, actor, id=f"{action}-{state}-{_label(actor)}")
    for action, rule in RULES.items()
    for state in ReferralState
    for actor in ADMITTED[rule.guard]
]
REFUSED_CASES = [
    pytest.param(action, state, actor, id=f"{action}-{state}-{_label(actor)}")
    for action, rule in RULES.items()
    for state in sorted(rule.from_states)
    for actor in REFUSED[rule.guard]
]


def test_tables_cover_every_rule_and_guard() -> None:
    assert set(EFFECTS) == set(RULES)
    assert set(ADMITTED) == set(Guard) == set(REFUSED)


@pytest.mark.parametrize(("action", "state", "actor"), ADMITTED_CASES)
def test_admitted_actor_succeeds_iff_state_allows(action: Action, state: ReferralState, actor: Actor) -> None:
    rule = RULES[action]
    case = _case(state)
    if state in rule.from_states:
        new, event = transition(case, action, actor, AT, target=_target(action))
        expected_state = rule.to_state if rule.to_state is not None else state
        assert new.state is expected_state
        assert new.seq == 5
        assert (new.referral_id, new.requesting_hospital_id, new.reading_hospital_id) == ("r-1", REQ, READ)
        assert (event.referral_id, event.seq, event.action) == ("r-1", 5, action)
        assert (event.from_state, event.to_state) == (state, expected_state)
        assert event.actor == actor
        assert event.at == AT
    else:
        with pytest.raises(YilianError) as err:
            transition(case, action, actor, AT, target=_target(action))
        assert err.value.code is ErrorCode.INVALID_TRANSITION
        assert err.value.http_status == 409
        assert err.value.details["state"] == state
        assert err.value.details["allowed_from"] == sorted(rule.from_states)
    assert case == _case(state)  # the input value is never changed


@pytest.mark.parametrize(("action", "state", "actor"), REFUSED_CASES)
def test_refused_actor_is_forbidden_in_an_allowed_state(action: Action, state: ReferralState, actor: Actor) -> None:
    case = _case(state)
    with pytest.raises(YilianError) as err:
        transition(case, action, actor, AT, target=_target(action))
    assert err.value.code is ErrorCode.FORBIDDEN
    assert err.value.http_status == 403
    assert err.value.details == {"action": action, "required": RULES[action].guard}
    assert case == _case(state)


@pytest.mark.parametrize("action", [a for a, r in RULES.items() if set(ReferralState) - r.from_states])
def test_wrong_actor_in_wrong_state_is_forbidden_not_told_the_state(action: Action) -> None:
    rule = RULES[action]
    state = sorted(set(ReferralState) - rule.from_states)[0]
    with pytest.raises(YilianError) as err:
        transition(_case(state), action, REFUSED[rule.guard][0], AT, target=_target(action))
    assert err.value.code is ErrorCode.FORBIDDEN


@pytest.mark.parametrize("action", list(RULES))
def test_field_effects(action: Action) -> None:
    rule = RULES[action]
    state = sorted(rule.from_states)[0]
    case = _case(state)
    new, _ = transition(case, action, ADMITTED[rule.guard][0], AT, target=_target(action))
    offered_to, reader_id, second_reader_id = EFFECTS[action]
    expected_state = rule.to_state if rule.to_state is not None else state
    assert new == replace(
        case,
        state=expected_state,
        seq=5,
        offered_to=offered_to,
        reader_id=reader_id,
        second_reader_id=second_reader_id,
    )


@pytest.mark.parametrize(
    ("action", "state"), [(Action.OFFER, ReferralState.SUBMITTED), (Action.REASSIGN, ReferralState.IN_READING)]
)
@pytest.mark.parametrize("target", [None, ""])
def test_offer_without_target_is_a_validation_failure(action: Action, state: ReferralState, target: str | None) -> None:
    case = _case(state)
    actor = ADMITTED[RULES[action].guard][0]
    with pytest.raises(YilianError) as err:
        transition(case, action, actor, AT, target=target)
    assert err.value.code is ErrorCode.VALIDATION_FAILED
    assert err.value.http_status == 422
    assert case == _case(state)


def test_a_short_happy_path_counts_every_event() -> None:
    case = ReferralCase("r-9", REQ, READ)
    steps: list[tuple[Action, Actor, str | None]] = [
        (Action.OFFER, SYSTEM_ACTOR, "u-offered"),
        (Action.ACCEPT, OFFERED, None),
        (Action.SAVE_DRAFT, OFFERED, None),
        (Action.SUBMIT_PRELIMINARY, OFFERED, None),
        (Action.APPROVE, SENIOR, None),
        (Action.RETURN, SYSTEM_ACTOR, None),
        (Action.ACKNOWLEDGE_RECEIPT, COUNTY, None),
    ]
    seen = []
    for action, actor, target in steps:
        case, event = transition(case, action, actor, AT, target=target)
        seen.append((event.seq, event.from_state, event.to_state))
    S = ReferralState
    assert seen == [
        (1, S.SUBMITTED, S.OFFERED),
        (2, S.OFFERED, S.IN_READING),
        (3, S.IN_READING, S.IN_READING),
        (4, S.IN_READING, S.PRELIMINARY),
        (5, S.PRELIMINARY, S.FINAL),
        (6, S.FINAL, S.RETURNED),
        (7, S.RETURNED, S.CLOSED),
    ]
    assert (case.reader_id, case.second_reader_id, case.offered_to) == ("u-offered", "u-senior", None)


def test_case_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        _case(ReferralState.SUBMITTED).state = ReferralState.CLOSED  # type: ignore[misc]

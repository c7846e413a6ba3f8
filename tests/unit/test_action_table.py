"""The action table every capability declares (domain/action_table.py), on a small table of its own: who before when
before with what, needs in their order, conditions, the buttons, and the words and details of each refusal."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

import pytest

from yilian.domain.action_table import ActionTable, Rule
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import SYSTEM_ACTOR, Actor, Role


class Door(StrEnum):
    OPEN = "open"
    SHUT = "shut"


class Act(StrEnum):
    FIT = "fit"
    OPEN = "open"
    SHUT = "shut"
    OIL = "oil"


class Guard(StrEnum):
    KEEPER = "keeper"
    SYSTEM = "system"


class Need(StrEnum):
    KEY = "key"
    NOTE = "note"


class Cond(StrEnum):
    UNLOCKED = "unlocked"


@dataclass(frozen=True)
class Case:
    keeper: str
    state: Door | None = None


@dataclass(frozen=True)
class Given:
    key: str = ""
    note: str = ""


RULES: dict[Act, Rule[Door | None, Guard, Need]] = {
    Act.FIT: Rule(frozenset({None}), Door.SHUT, Guard.KEEPER),
    Act.OPEN: Rule(frozenset({Door.SHUT}), Door.OPEN, Guard.KEEPER, frozenset({Need.NOTE, Need.KEY}),
                   when=Cond.UNLOCKED),
    Act.SHUT: Rule(frozenset({Door.OPEN}), Door.SHUT, Guard.KEEPER),
    Act.OIL: Rule(frozenset({Door.OPEN, Door.SHUT}), None, Guard.SYSTEM),
}  # fmt: skip


def _allows(guard: Guard, case: Case, actor: Actor) -> bool:
    return actor.role is Role.SYSTEM if guard is Guard.SYSTEM else actor.user_id == case.keeper


def _missing(case: Case, action: Act, actor: Actor, need: Need, given: Given) -> list[str]:
    return [f"no {need}"] if not getattr(given, need) else []


TABLE = ActionTable(
    RULES, (Act.SHUT, Act.OPEN, Act.FIT), _allows, _missing, Given(), this="this door", kind="a door",
    unborn="not yet fitted", unmet={Cond.UNLOCKED: "the door is locked"},
)  # fmt: skip
KEEPER = Actor("wu.keeper", Role.COORDINATOR, "h-1")
STRANGER = Actor("qian.stranger", Role.COORDINATOR, "h-1")
UNLOCKED = frozenset({Cond.UNLOCKED})


def refusal(call: Callable[[], object]) -> YilianError:
    with pytest.raises(YilianError) as refused:
        call()
    return refused.value


def test_who_is_asked_before_when() -> None:
    err = refusal(lambda: TABLE.check(Case("wu.keeper", Door.OPEN), Act.OPEN, STRANGER))
    assert (err.code, err.message) == (ErrorCode.FORBIDDEN, "coordinator qian.stranger may not open this door")
    assert err.details == {"action": Act.OPEN, "required": Guard.KEEPER}


def test_when_names_the_state_and_where_the_action_may_start() -> None:
    err = refusal(lambda: TABLE.check(Case("wu.keeper", Door.OPEN), Act.OPEN, KEEPER))
    assert (err.code, err.message) == (ErrorCode.INVALID_TRANSITION, "cannot open a door that is open")
    assert err.details == {"action": Act.OPEN, "state": Door.OPEN, "allowed_from": ["shut"]}
    err = refusal(lambda: TABLE.check(Case("wu.keeper"), Act.OIL, SYSTEM_ACTOR))
    assert err.message == "cannot oil a door that is not yet fitted"
    assert err.details["allowed_from"] == ["open", "shut"]


def test_a_condition_is_asked_only_when_the_caller_says_what_holds() -> None:
    shut = Case("wu.keeper", Door.SHUT)
    assert TABLE.check(shut, Act.OPEN, KEEPER) is RULES[Act.OPEN]  # transition() leaves it to validate()
    err = refusal(lambda: TABLE.validate(shut, Act.OPEN, KEEPER, Given("k", "n")))
    assert (err.code, err.message) == (ErrorCode.INVALID_TRANSITION, "cannot open: the door is locked")
    assert err.details == {"action": Act.OPEN, "condition": Cond.UNLOCKED}
    assert TABLE.validate(shut, Act.OPEN, KEEPER, Given("k", "n"), holding=UNLOCKED) is RULES[Act.OPEN]


def test_needs_are_checked_in_their_order_and_nothing_sent_is_the_empty_given() -> None:
    shut = Case("wu.keeper", Door.SHUT)
    err = refusal(lambda: TABLE.validate(shut, Act.OPEN, KEEPER, holding=UNLOCKED))
    assert (err.code, err.message) == (ErrorCode.VALIDATION_FAILED, "open needs key: no key")
    assert err.details == {"action": Act.OPEN, "need": Need.KEY, "problems": ["no key"]}
    err = refusal(lambda: TABLE.validate(shut, Act.OPEN, KEEPER, Given(key="k"), holding=UNLOCKED))
    assert err.details["need"] == Need.NOTE
    assert TABLE.lacking(shut, Act.OPEN, KEEPER, Need.KEY, Given(key="k")) is None


def test_the_buttons_are_the_person_actions_permitted_now_in_their_order() -> None:
    shut, fresh = Case("wu.keeper", Door.SHUT), Case("wu.keeper")
    assert TABLE.allowed_actions(shut, KEEPER) == []  # open needs the door unlocked
    assert TABLE.allowed_actions(shut, KEEPER, UNLOCKED) == [Act.OPEN]
    assert TABLE.allowed_actions(fresh, KEEPER) == [Act.FIT]
    assert TABLE.allowed_actions(Case("wu.keeper", Door.OPEN), KEEPER) == [Act.SHUT]
    assert TABLE.allowed_actions(shut, STRANGER, UNLOCKED) == []
    assert TABLE.allowed_actions(shut, SYSTEM_ACTOR, UNLOCKED) == []  # oiling is the system's, and no button
    assert TABLE.permitted(shut, Act.OIL, SYSTEM_ACTOR) and not TABLE.permitted(fresh, Act.OIL, SYSTEM_ACTOR)

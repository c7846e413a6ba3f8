"""The action table: a capability's state machine as data, and the one check of an action against it.

Each rule says from which states an action may be taken, to which state it leads, who may take it (its guard),
what must come with it (its needs) and, for some, what must hold on the case besides its state (`when`). A
capability (referral, consult, lecture, teaching case) declares its states, actions, guards and needs, its `RULES`,
what its guards and needs mean for its cases and how a refusal names it; `ActionTable` gives it the rest: `check`
(who, then when), `validate` (and with what: the one check its workflow's Update validators, the workflow's re-check
under its lock and the API call), `permitted` and `allowed_actions` (the buttons). A refusal is the same catalogue
error in every capability, naming the action and the guard, state, condition or need that refused it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeVar

from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Actor

StateT = TypeVar("StateT")
GuardT = TypeVar("GuardT", bound=StrEnum)
NeedT = TypeVar("NeedT", bound=StrEnum)


@dataclass(frozen=True)
class Rule(Generic[StateT, GuardT, NeedT]):
    """One action's rule. A capability whose actions also change who holds the case adds an `effect` field."""

    from_states: frozenset[StateT]
    to_state: StateT | None  # None: an audited event that leaves the state as it is
    guard: GuardT
    needs: frozenset[NeedT] = frozenset()
    when: StrEnum | None = field(default=None, kw_only=True)  # a condition that must hold besides the state


class Case(Protocol):
    """What the table reads of a capability's case: its state (None before its first action, where there is one)."""

    @property
    def state(self) -> object: ...


CaseT = TypeVar("CaseT", bound=Case)
ActionT = TypeVar("ActionT", bound=StrEnum)
RuleT = TypeVar("RuleT", bound=Rule[Any, Any, Any])
GivenT = TypeVar("GivenT")
NO_CONDITIONS: frozenset[Any] = frozenset()


@dataclass(frozen=True)
class ActionTable(Generic[CaseT, ActionT, RuleT, GivenT]):
    rules: Mapping[ActionT, RuleT]
    person_actions: tuple[ActionT, ...]  # the actions people take, in the order of their buttons
    guard_allows: Callable[[Any, CaseT, Actor], bool]  # (guard, case, actor): the capability's meaning of a guard
    missing: Callable[[CaseT, ActionT, Actor, Any, GivenT], list[str]]  # (.., need, given): what it lacks, or []
    nothing_given: GivenT  # what an action comes with when nothing is sent
    this: str  # how a refusal of who names the case: "this lecture"
    kind: str  # how a refusal of when names its kind: "a lecture"
    unborn: str = ""  # how it names the state before the first action: "not yet scheduled"
    unmet: Mapping[Any, str] = field(default_factory=dict)  # a condition's words when it does not hold
    # The person actions each state may lead to: a worklist asks for every row it shows, and a state rules out most
    # actions before any guard is asked.
    _from_state: dict[object, tuple[ActionT, ...]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        states = {s for a in self.person_actions for s in self.rules[a].from_states}
        by_state = {s: tuple(a for a in self.person_actions if s in self.rules[a].from_states) for s in states}
        object.__setattr__(self, "_from_state", by_state)

    def check(self, case: CaseT, action: ActionT, actor: Actor, *, holding: frozenset[Any] | None = None) -> RuleT:
        """Raise the catalogue error that says why `actor` may not take `action` now: guard, then state, then the
        rule's condition (only when `holding` says which conditions hold)."""
        rule = self.rules[action]
        if not self.guard_allows(rule.guard, case, actor):
            raise YilianError(
                ErrorCode.FORBIDDEN,
                f"{actor.role} {actor.user_id} may not {action} {self.this}",
                {"action": action, "required": rule.guard},
            )
        if case.state not in rule.from_states:
            raise YilianError(
                ErrorCode.INVALID_TRANSITION,
                f"cannot {action} {self.kind} that is {case.state or self.unborn}",
                {"action": action, "state": case.state,
                 "allowed_from": sorted(str(s) for s in rule.from_states if s is not None)},
            )  # fmt: skip
        if holding is not None and rule.when is not None and rule.when not in holding:
            raise YilianError(
                ErrorCode.INVALID_TRANSITION,
                f"cannot {action}: {self.unmet[rule.when]}",
                {"action": action, "condition": rule.when},
            )
        return rule

    def lacking(self, case: CaseT, action: ActionT, actor: Actor, need: Any, given: GivenT) -> YilianError | None:
        """The refusal when `given` lacks what `need` asks for; None when it is there."""
        problems = self.missing(case, action, actor, need, given)
        if not problems:
            return None
        return YilianError(
            ErrorCode.VALIDATION_FAILED,
            f"{action} needs {need}: " + "; ".join(problems),
            {"action": action, "need": need, "problems": problems},
        )

    def validate(
        self,
        case: CaseT,
        action: ActionT,
        actor: Actor,
        given: GivenT | None = None,
        *,
        holding: frozenset[Any] = NO_CONDITIONS,
    ) -> RuleT:
        """The one check of an action: who (guard), when (state, condition) and with what (needs, in their order)."""
        rule = self.check(case, action, actor, holding=holding)
        sent = self.nothing_given if given is None else given
        for need in sorted(rule.needs):
            if refusal := self.lacking(case, action, actor, need, sent):
                raise refusal
        return rule

    def permitted(self, case: CaseT, action: ActionT, actor: Actor, holding: frozenset[Any] = NO_CONDITIONS) -> bool:
        """Whether `actor` may take `action` now, given whatever it needs."""
        rule = self.rules[action]
        return (
            self.guard_allows(rule.guard, case, actor)
            and case.state in rule.from_states
            and (rule.when is None or rule.when in holding)
        )

    def allowed_actions(self, case: CaseT, actor: Actor, holding: frozenset[Any] = NO_CONDITIONS) -> list[ActionT]:
        """The person actions `actor` may take on the case now: the buttons the web app shows them."""
        return [a for a in self._from_state.get(case.state, ()) if self.permitted(case, a, actor, holding)]

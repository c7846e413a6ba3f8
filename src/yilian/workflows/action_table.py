"""The action table in a workflow: a person's Update validated by the domain's table, re-checked under the
workflow's lock, refused with the catalogue error; and the one way a step's record activity is run.

Every capability's workflow (the single writer of its thing) mixes in `ActionTableWorkflow`, says how its domain
validates an action on its current case (`_check`) and which action an Update is (`_action_of`), and registers
`_validate_update` as the validator of each person's Update. A handler does its effect inside `_acting(...)`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Any, Generic, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from yilian.domain.errors import YilianError
    from yilian.workflows.rejection import rejection

ActionT = TypeVar("ActionT")
InputT = TypeVar("InputT")
ACTIVITY_TIMEOUT = timedelta(seconds=30)
# Side effects must eventually happen: retry without limit, backing off to once every 30 s; a refusal is final.
ACTIVITY_RETRY = RetryPolicy(maximum_interval=timedelta(seconds=30), non_retryable_error_types=["YilianError"])


@contextlib.contextmanager
def refusing() -> Iterator[None]:
    """A domain refusal raised inside becomes the Update's rejection (the API turns it back into the same error)."""
    try:
        yield
    except YilianError as err:
        raise rejection(err) from err


class ActionTableWorkflow(Generic[ActionT, InputT]):
    """The validate-and-act part every capability's workflow shares."""

    _lock: asyncio.Lock  # held by every change: Updates, timers and the main line

    def _check(self, action: ActionT, inp: InputT) -> None:
        """The domain's `validate` of `action` on the current case, with what `inp` sends."""
        raise NotImplementedError

    def _action_of(self, update: str, inp: InputT) -> ActionT:
        """The domain action an Update asks for (an Update is named after its action)."""
        raise NotImplementedError

    def _validate(self, action: ActionT, inp: InputT) -> None:
        with refusing():
            self._check(action, inp)

    def _validate_update(self, inp: InputT) -> None:
        """The validator of every person's Update: the rule of the action the Update is named after."""
        info = workflow.current_update_info()
        assert info is not None  # Temporal sets it for every validator
        self._validate(self._action_of(info.name, inp), inp)

    @contextlib.asynccontextmanager
    async def _acting(self, action: ActionT, inp: InputT) -> AsyncIterator[None]:
        """Hold the lock and re-check: another Update may have changed the case since this one was validated."""
        async with self._lock:
            self._validate(action, inp)
            yield


async def record_step(activity: str, arg: Any) -> None:
    """Run a step's record activity: its audit event, the projection and its notices, in one transaction."""
    await workflow.execute_activity(activity, arg, start_to_close_timeout=ACTIVITY_TIMEOUT, retry_policy=ACTIVITY_RETRY)

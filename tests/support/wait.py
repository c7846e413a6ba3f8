"""Waiting for a condition in tests: poll until it holds, or fail by name with the last value seen."""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def wait_until(
    look: Callable[[], Awaitable[T] | T],
    what: str,
    *,
    ok: Callable[[T], Any] = bool,
    within: float = 60.0,
    every: float = 0.1,
) -> T:
    """Call `look` (sync or async) every `every` s until `ok` of its value is true; that value.

    At the deadline: AssertionError naming `what` and the last value `look` returned."""
    deadline = time.monotonic() + within
    while True:
        value = look()
        if inspect.isawaitable(value):
            value = await value
        if ok(value):  # type: ignore[arg-type]
            return value  # type: ignore[return-value]
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within} s waiting for {what}; last saw {value!r}")
        await asyncio.sleep(every)

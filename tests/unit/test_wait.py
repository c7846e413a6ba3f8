"""tests/support/wait.py: a wait returns the value that holds, or fails by name with the last value at its deadline."""

from __future__ import annotations

import pytest

from tests.support.wait import wait_until


async def test_returns_the_first_value_that_holds_sync_or_async() -> None:
    seen = iter(range(10))
    assert await wait_until(lambda: next(seen), "three", ok=lambda v: v == 3, every=0) == 3

    async def look() -> str:
        return "ready"

    assert await wait_until(look, "ready", every=0) == "ready"


async def test_fails_at_its_deadline_naming_the_condition_and_the_last_value() -> None:
    # Harness.wait_row used to hand back the last row here, so a test waiting for a state never reached passed.
    with pytest.raises(AssertionError, match=r"waiting for the case to be offered; last saw \{'state': 'submitted'\}"):
        await wait_until(
            lambda: {"state": "submitted"}, "the case to be offered", ok=lambda r: r["state"] == "offered", within=0.05
        )

"""IngestBatch waits for its files' stagings (thread-pool futures) in one wake-up of the event loop."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import Future
from typing import Any

import pytest

from yilian.imaging.ingest import _all_done, _settle


def _finish_later(futures: list[Future[Any]], *, fail: int | None = None) -> threading.Thread:
    def run() -> None:
        for i, future in enumerate(futures):
            time.sleep(0.01)
            if i == fail:
                future.set_exception(OSError("EIO"))
            else:
                future.set_result(i)

    thread = threading.Thread(target=run)
    thread.start()
    return thread


async def test_it_returns_once_every_future_is_done_with_one_wake_up(monkeypatch: pytest.MonkeyPatch) -> None:
    loop = asyncio.get_running_loop()
    wake_ups: list[object] = []
    real = loop.call_soon_threadsafe
    # The session's loop is shared with other threads (the Temporal worker's, the API's): count only this wait's calls.
    monkeypatch.setattr(
        loop, "call_soon_threadsafe", lambda *a, **k: (a[0] is _settle and wake_ups.append(a), real(*a, **k))[1]
    )
    done_before: Future[Any] = Future()
    done_before.set_result("already")
    futures: list[Future[Any]] = [Future() for _ in range(6)]
    thread = _finish_later(futures, fail=3)

    await _all_done([done_before, *futures])

    assert all(f.done() for f in futures)  # none left running: result() below never blocks the loop
    assert [f.exception() is not None for f in futures] == [False, False, False, True, False, False]
    assert len(wake_ups) == 1
    thread.join()


async def test_nothing_pending_needs_no_wait() -> None:
    done: Future[Any] = Future()
    done.set_result(1)
    await asyncio.wait_for(_all_done([done]), 0.5)
    await asyncio.wait_for(_all_done([]), 0.5)


async def test_a_cancelled_waiter_leaves_the_futures_alone() -> None:
    loop = asyncio.get_running_loop()
    errors: list[dict[str, Any]] = []
    before = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: errors.append(context))
    futures: list[Future[Any]] = [Future() for _ in range(3)]
    waiter = asyncio.create_task(_all_done(futures))
    await asyncio.sleep(0)
    waiter.cancel()
    thread = _finish_later(futures)
    with pytest.raises(asyncio.CancelledError):
        await waiter
    thread.join()
    try:
        await asyncio.sleep(0.05)  # the last callback reaches the loop after the waiter is gone
    finally:
        loop.set_exception_handler(before)  # the loop is the session's: leave its handler as it was
    assert [f.result() for f in futures] == [0, 1, 2]
    assert errors == []

"""uploader.wake_from_threads: the SCP's threads wake the upload lanes through the loop, and skip it while the
event is still set; no instance is left for the lanes' 5 s safety poll."""

from __future__ import annotations

import asyncio
import random
import threading

from yilian.gateway.uploader import wake_from_threads


class CountingEvent(asyncio.Event):
    def __init__(self) -> None:
        super().__init__()
        self.sets = 0

    def set(self) -> None:
        self.sets += 1
        super().set()


def test_a_set_event_is_not_set_again_and_a_cleared_one_is() -> None:
    async def run() -> tuple[int, int]:
        wake = CountingEvent()
        set_soon = wake_from_threads(asyncio.get_running_loop(), wake)
        wake.set()
        calls = threading.Thread(target=lambda: [set_soon() for _ in range(100)])
        calls.start()
        calls.join()
        await asyncio.sleep(0.05)
        while_set = wake.sets
        wake.clear()
        threading.Thread(target=set_soon).start()
        await asyncio.wait_for(wake.wait(), 2)
        return while_set, wake.sets

    assert asyncio.run(run()) == (1, 2)  # the first set only, then one more after the clear


def test_every_row_is_found_by_a_look_after_its_wake_up() -> None:
    """A lane's loop as uploader._lane runs it (clear, then look) against threads that commit, then wake: every row
    is found without waiting out a timeout, however the two interleave."""
    rows: list[int] = []
    lock = threading.Lock()
    total = 3 * 2000

    async def run() -> int:
        wake = asyncio.Event()
        set_soon = wake_from_threads(asyncio.get_running_loop(), wake)

        def association(seed: int) -> None:
            rng = random.Random(seed)
            for i in range(total // 3):
                with lock:
                    rows.append(i)  # the row committed
                set_soon()
                if rng.random() < 0.05:
                    threading.Event().wait(rng.random() / 1000)

        threads = [threading.Thread(target=association, args=(seed,)) for seed in range(3)]
        for thread in threads:
            thread.start()
        seen, timeouts = 0, 0
        while seen < total:
            wake.clear()  # before looking, as a lane does
            with lock:
                seen = len(rows)
            if seen < total:
                try:
                    await asyncio.wait_for(wake.wait(), 1.0)
                except TimeoutError:
                    timeouts += 1  # a lost wake-up: only the safety poll would find the rest
        for thread in threads:
            thread.join()
        return timeouts

    assert asyncio.run(run()) == 0


def test_each_row_alone_wakes_the_lane() -> None:
    """One association, one row at a time, each waiting until the lane has seen it: every call must wake the lane."""
    total = 2000

    async def run() -> int:
        wake = asyncio.Event()
        set_soon = wake_from_threads(asyncio.get_running_loop(), wake)
        committed, seen = [0], [0]
        seen_changed = threading.Condition()

        def association() -> None:
            for i in range(1, total + 1):
                committed[0] = i
                set_soon()
                with seen_changed:
                    seen_changed.wait_for(lambda i=i: seen[0] >= i, timeout=5)

        thread = threading.Thread(target=association)
        thread.start()
        timeouts = 0
        while seen[0] < total:
            wake.clear()
            with seen_changed:
                seen[0] = committed[0]
                seen_changed.notify_all()
            if seen[0] < total:
                try:
                    await asyncio.wait_for(wake.wait(), 0.2)
                except TimeoutError:
                    timeouts += 1
        thread.join()
        return timeouts

    assert asyncio.run(run()) == 0

"""The upload lanes through uploader.upload_forever against a raw HTTP cloud: one lane looks at the queue at a time,
so a study's arrivals cost about one look per batch, not one per idle lane per arrival; the lanes still all carry
requests at once under a backlog; `stop` ends them at once, lingering or idle."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path
from typing import Any

import httpx

from tests.support import dicom_gen
from tests.unit.gateway.test_stow_connection import OK, Cloud, Request
from yilian.gateway.queue import InstanceQueue, QueuedInstance
from yilian.gateway.settings import GatewaySettings
from yilian.gateway.uploader import Arrivals, upload_forever, wake_from_threads


class CountingQueue(InstanceQueue):
    """The real queue, counting the lanes' looks at it."""

    looks = 0

    def next_batch(self, *args: Any, **kwargs: Any) -> list[QueuedInstance]:
        self.looks += 1
        return super().next_batch(*args, **kwargs)


def _instances(tmp_path: Path, n: int) -> list[bytes]:
    series = dicom_gen.ct_series(n, 16, 16)
    return [dicom_gen.write(ds, tmp_path / f"{i}.dcm").read_bytes() for i, ds in enumerate(series)]


def _put(queue: InstanceQueue, data: bytes, n: int) -> None:
    queue.put(data, sop_instance_uid=f"1.2.3.{n}", sop_class_uid="1.2", study_instance_uid="1.3")


def _sent(queue: InstanceQueue) -> int:
    return queue.snapshot().sent


async def _until(condition: Any, seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"timed out after {seconds} s waiting for {what}"
        await asyncio.sleep(0.01)


def _serve(cloud: Cloud) -> None:
    threading.Thread(target=cloud.serve, daemon=True).start()


async def test_a_study_arriving_costs_about_one_look_per_batch_not_one_per_idle_lane(tmp_path: Path) -> None:
    """200 instances arriving one at a time on an open association, 4 lanes, batches of 10, a 50 ms linger: each
    instance reaches the cloud once, and the lanes look at the queue at most twice per batch sent plus once per
    lane. When every arrival woke every idle lane, each of them looked, then lingered: 82-90 looks for 30-34
    requests here (34-38 for 20-21 with one lane looking at a time)."""
    n, batch_size = 200, 10
    cloud = Cloud()
    _serve(cloud)
    queue = CountingQueue(tmp_path / "spool")
    settings = GatewaySettings(
        cloud_url=cloud.url,
        api_key="key-1",
        spool_dir=tmp_path / "spool",
        batch_size=batch_size,
        batch_linger_seconds=0.05,
        upload_lanes=4,
    )
    instances = _instances(tmp_path, n)
    loop = asyncio.get_running_loop()
    wake, stop, storing_ended = asyncio.Event(), asyncio.Event(), asyncio.Event()
    on_queued = wake_from_threads(loop, wake)
    storing = [1]

    def association() -> None:  # as the SCP's thread: queue, then wake
        for i, data in enumerate(instances):
            _put(queue, data, i)
            on_queued()
            time.sleep(0.002)
        storing[0] = 0
        loop.call_soon_threadsafe(storing_ended.set)

    async with httpx.AsyncClient() as client:
        lanes = asyncio.create_task(
            upload_forever(settings, queue, client, wake, stop, arrivals=Arrivals(lambda: storing[0], storing_ended))
        )
        sender = threading.Thread(target=association)
        sender.start()
        try:
            await _until(lambda: _sent(queue) == n, 30, f"all {n} instances sent")
        finally:
            stop.set()
            await asyncio.wait_for(lanes, 5)
            sender.join()
    cloud.sock.close()
    queue.close()
    requests = len(cloud.requests)
    bodies = b"".join(request.body for request in cloud.requests)
    assert bodies.count(b"DICM") == n  # each instance's preamble once: none sent twice
    assert requests >= n // batch_size
    assert queue.looks <= 2 * requests + settings.upload_lanes + 2, (queue.looks, requests)


async def test_every_lane_carries_a_request_at_once_under_a_backlog(tmp_path: Path) -> None:
    """A backlog of 8 batches and a cloud that takes 0.3 s an answer: 4 requests are in flight at once."""
    in_flight, most = [0], [0]
    lock = threading.Lock()

    def slow(_: Request) -> bytes:
        with lock:
            in_flight[0] += 1
            most[0] = max(most[0], in_flight[0])
        time.sleep(0.3)
        with lock:
            in_flight[0] -= 1
        return OK

    cloud = Cloud(answer=slow)
    _serve(cloud)
    queue = InstanceQueue(tmp_path / "spool")
    for i, data in enumerate(_instances(tmp_path, 40)):
        _put(queue, data, i)
    settings = GatewaySettings(cloud_url=cloud.url, api_key="key-1", spool_dir=tmp_path / "spool", batch_size=5)
    wake, stop = asyncio.Event(), asyncio.Event()
    wake.set()
    async with httpx.AsyncClient() as client:
        lanes = asyncio.create_task(upload_forever(settings, queue, client, wake, stop))
        try:
            await _until(lambda: _sent(queue) == 40, 20, "the backlog sent")
        finally:
            stop.set()
            await asyncio.wait_for(lanes, 5)
    cloud.sock.close()
    queue.close()
    assert len(cloud.requests) == 8
    assert most[0] == settings.upload_lanes == 4


async def test_stop_ends_lanes_that_linger_or_wait_for_work_at_once(tmp_path: Path) -> None:
    """One instance on an association that stays open, a 10 s linger: the lane holding the turn lingers, the others
    wait for it; `stop` ends them all within a second, as it does idle lanes (whose safety poll is 5 s)."""
    cloud = Cloud()
    _serve(cloud)
    settings = GatewaySettings(
        cloud_url=cloud.url, api_key="key-1", spool_dir=tmp_path / "spool", batch_linger_seconds=10.0
    )
    async with httpx.AsyncClient() as client:
        for backlog in (0, 1):
            queue = InstanceQueue(tmp_path / f"spool-{backlog}")
            for i, data in enumerate(_instances(tmp_path, backlog)):
                _put(queue, data, i)
            wake, stop = asyncio.Event(), asyncio.Event()
            wake.set()
            arrivals = Arrivals(lambda: 1, asyncio.Event())
            lanes = asyncio.create_task(upload_forever(settings, queue, client, wake, stop, arrivals=arrivals))
            await asyncio.sleep(0.3)
            started = time.monotonic()
            stop.set()
            await asyncio.wait_for(lanes, 5)
            assert time.monotonic() - started < 1.0, backlog
            queue.close()
    cloud.sock.close()
    assert cloud.requests == []  # the lingering instance was not sent: the association is still open


async def test_a_linger_ends_once_a_full_batch_has_arrived(tmp_path: Path) -> None:
    """A 10 s linger on an association that stays open: the lane looking finds 3 instances and lingers; once 7 more
    have arrived its batch is full and goes at once, and so does the next full one, without waiting out the
    linger (while one lane lingers the others wait for its turn, so a linger that ignored a full batch held the
    whole series back). The last 2 stay: the association is still open and their linger has 10 s to go."""
    cloud = Cloud()
    _serve(cloud)
    queue = InstanceQueue(tmp_path / "spool")
    settings = GatewaySettings(
        cloud_url=cloud.url, api_key="key-1", spool_dir=tmp_path / "spool", batch_size=10, batch_linger_seconds=10.0
    )
    instances = _instances(tmp_path, 22)
    loop = asyncio.get_running_loop()
    wake, stop = asyncio.Event(), asyncio.Event()
    arrivals = Arrivals(lambda: 1, asyncio.Event(), loop)
    wake_soon = wake_from_threads(loop, wake)

    def arrive(first: int, last: int) -> None:  # as the SCP's thread: queue, then count and wake
        for i in range(first, last):
            _put(queue, instances[i], i)
            arrivals.queued()
            wake_soon()

    async with httpx.AsyncClient() as client:
        lanes = asyncio.create_task(upload_forever(settings, queue, client, wake, stop, arrivals=arrivals))
        try:
            await asyncio.to_thread(arrive, 0, 3)
            await _until(lambda: arrivals.full_at is not None, 5, "a lane lingering over the first 3")
            started = time.monotonic()
            await asyncio.to_thread(arrive, 3, 22)
            await _until(lambda: _sent(queue) == 20, 5, "two full batches sent during the 10 s linger")
            elapsed = time.monotonic() - started
            await asyncio.sleep(0.3)
            assert _sent(queue) == 20  # the last 2 linger on: the association is open
        finally:
            stop.set()
            await asyncio.wait_for(lanes, 5)
    cloud.sock.close()
    queue.close()
    assert elapsed < 2.0
    assert [request.body.count(b"DICM") for request in cloud.requests] == [10, 10]


async def test_a_later_linger_expecting_the_same_count_is_ended_too() -> None:
    """After a failed upload puts its rows back, a later linger can expect the very count an earlier one did: the
    threads must ask the loop to end it again, not take it for the linger they already ended."""
    arrivals = Arrivals(lambda: 1, asyncio.Event(), asyncio.get_running_loop())

    def arrive(n: int) -> None:  # as the SCP's threads
        for _ in range(n):
            arrivals.queued()

    for linger, arriving in enumerate((5, 1)):  # the second expects 5 again, with 6 arrived by then
        arrivals.storing_ended.clear()
        arrivals.expect(5)
        await asyncio.to_thread(arrive, arriving)
        await _until(arrivals.storing_ended.is_set, 2, f"linger {linger} ended once 5 instances had arrived")
        arrivals.expect(None)

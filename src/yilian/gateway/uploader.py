"""Forwarding the queue to the cloud by STOW-RS: oldest first, in batches, with backoff, at least once."""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

import httpx

from yilian.gateway.queue import InstanceQueue, QueuedInstance, drop_cached_pages
from yilian.gateway.settings import GatewaySettings
from yilian.gateway.stow import StowBody, StowResult, Verdict, interpret_stow_response, stow_body
from yilian.gateway.stow_connection import (
    StowConnectFailed,
    StowConnection,
    StowConnectionBroke,
    StowTimedOut,
    direct_connection_possible,
    tls_context,
)

log = logging.getLogger(__name__)
_T = TypeVar("_T")

_IDLE_POLL_SECONDS = 5.0  # a safety net only: new instances wake the uploader at once
_PRUNE_EVERY_SECONDS = 3600.0
_CONNECT_SECONDS = 10.0  # as the httpx client of `yilian gateway run` (httpx.Timeout(..., connect=10.0))


async def upload_forever(
    settings: GatewaySettings,
    queue: InstanceQueue,
    client: httpx.AsyncClient,
    wake: asyncio.Event,
    stop: asyncio.Event,
    *,
    verify: ssl.SSLContext | bool = True,
    arrivals: Arrivals | None = None,
) -> None:
    """Send batches on `settings.upload_lanes` requests at once until `stop` is set; each lane backs off
    exponentially (with jitter) while the cloud is unreachable.

    Delivery is at least once: an instance is marked sent only after the cloud's answer says so, so a crash
    between the answer and the mark re-sends it, which the cloud accepts as the same instance (STOW-06). No two
    lanes ever hold the same instance, nor two versions of one SOP Instance UID (so versions stay in order).

    Each lane posts on its own keep-alive connection from its own thread (DirectSender), verifying TLS with
    `verify` as `client` does; only with a proxy in the environment do the lanes post through `client`.

    A lane lingers for the rest of a series only while `arrivals` says a storage association is open (without
    `arrivals`, always: a caller with no SCP cannot tell). One lane at a time holds the turn to look at the queue,
    wait for `wake` and linger (InFlight.turn); the idle others sleep until it takes a batch.
    """
    arrivals = arrivals or Arrivals.unknown()
    flight = InFlight()
    senders: list[DirectSender | None] = [None] * settings.upload_lanes
    if direct_connection_possible(settings.stow_url):
        tls = tls_context(verify) if urlsplit(settings.stow_url).scheme == "https" else None
        senders = [DirectSender.open(settings, tls) for _ in range(settings.upload_lanes)]
    # The lanes wait on one event at a time; `stop` reaches them by setting the events they may be waiting on.
    stopping = asyncio.create_task(_wake_on_stop(stop, wake, arrivals.storing_ended))
    try:
        await asyncio.gather(
            *(
                _lane(settings, queue, client, wake, stop, flight, arrivals, senders[lane])
                for lane in range(settings.upload_lanes)
            )
        )
    finally:
        stopping.cancel()
        for sender in senders:
            if sender is not None:
                sender.close()


async def _wake_on_stop(stop: asyncio.Event, *events: asyncio.Event) -> None:
    await stop.wait()
    for event in events:
        event.set()


@dataclass
class Arrivals:
    """Whether a modality can still add to the queue: `open_stores()` counts the storage associations open now
    (gateway.admission.AssociationSlots, for both SCPs), and `storing_ended` is set, on the event loop, each time
    that count falls to zero. Once none is open, nothing more can join a batch, so waiting for it is only delay."""

    open_stores: Callable[[], int]
    storing_ended: asyncio.Event  # the lingering lane's one event: the association's end, or its batch full
    loop: asyncio.AbstractEventLoop | None = None  # None: arrivals are not counted (`queued` is never called)
    # Instances queued so far, numbered by the SCP's threads (`queued`); next() on a count is atomic in CPython. Two
    # threads may store their numbers out of order: then a linger can miss its end and last its whole time, as before.
    arrived: int = 0
    _numbers: Iterator[int] = field(default_factory=lambda: itertools.count(1))
    # The count at which the lingering lane's batch is full (`expect`), None while no lane lingers; and the count a
    # thread has asked the loop to end the linger for, so that it asks once per linger.
    full_at: int | None = None
    _asked_for: int | None = None

    @classmethod
    def unknown(cls) -> Arrivals:
        """No SCP to ask: as if an association were always open, so lanes linger the whole time, as they used to."""
        return cls(lambda: 1, asyncio.Event())

    def queued(self) -> None:
        """One more instance queued (from the SCP's threads, after its row is committed). Once the lingering lane's
        batch would be full, its linger ends: a series arriving faster than the linger leaves in full batches
        instead of waiting out the linger while a batch's worth and more piles up behind the one lane looking."""
        self.arrived = next(self._numbers)
        full_at = self.full_at
        if full_at is not None and self.arrived >= full_at and self._asked_for != full_at and self.loop is not None:
            self._asked_for = full_at
            self.loop.call_soon_threadsafe(self._batch_full, full_at)

    def expect(self, full_at: int | None) -> None:
        """On the loop: a lane lingers until `full_at` instances have arrived (None: it stopped lingering). Each
        linger is asked for afresh: after a failed upload puts rows back, a later linger can expect the same count."""
        self._asked_for = None
        self.full_at = full_at

    def _batch_full(self, full_at: int) -> None:
        if self.full_at == full_at:  # still that linger: a late call must not end the next one
            self.storing_ended.set()


def wake_from_threads(loop: asyncio.AbstractEventLoop, wake: asyncio.Event) -> Callable[[], None]:
    """`wake.set()` for the SCP's threads (each newly queued instance), through the loop, unless `wake` is still set.

    Still set means no lane has cleared it since it was last set, and a lane clears it before each look at the queue,
    so the next look comes after this call and finds the row committed before it. While the lanes linger or upload
    (most of a study's arrival), that spares the loop a wake-up per instance.
    """

    def set_soon() -> None:
        if not wake.is_set():  # a plain read of the event's flag; the set itself runs on the loop
            loop.call_soon_threadsafe(wake.set)

    return set_soon


@dataclass
class DirectSender:
    """One lane's STOW-RS connection and the thread that uses it (gateway/stow_connection.py)."""

    connection: StowConnection
    thread: ThreadPoolExecutor

    @classmethod
    def open(cls, settings: GatewaySettings, tls: ssl.SSLContext | None = None) -> DirectSender:
        """`tls`: the context for an https cloud (`stow_connection.tls_context`); None there means httpx's default."""
        connection = StowConnection(
            settings.stow_url, tls=tls, timeout=settings.request_timeout_seconds, connect_timeout=_CONNECT_SECONDS
        )
        return cls(connection, ThreadPoolExecutor(max_workers=1, thread_name_prefix="gateway-stow"))

    async def run(self, job: Callable[..., _T], *args: object) -> _T:
        """`job(*args)` on the lane's thread, the one that uses `connection`."""
        return await asyncio.get_running_loop().run_in_executor(self.thread, job, *args)

    def close(self) -> None:
        self.thread.shutdown(wait=False, cancel_futures=True)
        self.connection.close()


class _StoredFiles(threading.local):
    """Per lane's thread: the spooled files of its last batch the cloud stored, whose page cache goes back once the
    lane has its next answer. Nothing reads a sent file again soon, and pages freed now are what the next spooled
    write takes, still backed by the host (docs/gateway.md, Performance notes). Not at once: sendfile(2) lends the
    pages to the socket's buffers, which may hold them a little after the answer, and a lent page is not dropped."""

    def __init__(self) -> None:
        self.paths: list[Path] = []

    def now_stored(self, stored: list[Path]) -> None:
        earlier, self.paths = self.paths, stored
        drop_cached_pages(earlier)


_stored_by_this_lane = _StoredFiles()


@dataclass
class InFlight:
    """The queue rows and SOP Instance UIDs some lane is sending now, and the turn to look at the queue."""

    ids: set[int] = field(default_factory=set)
    uids: set[str] = field(default_factory=set)
    # One lane at a time looks at the queue, and it keeps the turn while it waits for work or lingers: an arrival
    # wakes that one lane, not every idle one, and the others sleep here until it has taken a batch. Two lanes
    # looking at once would also both pick the same rows.
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    next_prune: float = 0.0  # monotonic; the lane holding the turn prunes

    def take(self, batch: list[QueuedInstance]) -> None:
        self.ids.update(item.id for item in batch)
        self.uids.update(item.sop_instance_uid for item in batch)

    def release(self, batch: list[QueuedInstance]) -> None:
        self.ids.difference_update(item.id for item in batch)
        self.uids.difference_update(item.sop_instance_uid for item in batch)


async def _lane(
    settings: GatewaySettings,
    queue: InstanceQueue,
    client: httpx.AsyncClient,
    wake: asyncio.Event,
    stop: asyncio.Event,
    flight: InFlight,
    arrivals: Arrivals,
    sender: DirectSender | None,
) -> None:
    failures = 0
    while not stop.is_set():
        async with flight.turn:
            batch = await _take_batch(settings, queue, wake, stop, flight, arrivals)
        if not batch:
            continue  # stopping
        try:
            delivered = await upload_batch(settings, queue, client, batch, sender)
        finally:
            flight.release(batch)
        if delivered:
            failures = 0
            continue
        failures += 1
        delay = backoff_delay(failures, settings.backoff_min_seconds, settings.backoff_max_seconds)
        log.info("retrying in %.1f s (attempt %d failed)", delay, failures)
        await _wait(stop, delay)


async def _take_batch(
    settings: GatewaySettings,
    queue: InstanceQueue,
    wake: asyncio.Event,
    stop: asyncio.Event,
    flight: InFlight,
    arrivals: Arrivals,
) -> list[QueuedInstance]:
    """With the turn held: look at the queue until there is a batch to send, waiting for arrivals and lingering
    for the rest of a series as needed; the batch is taken (in flight) when returned, empty once `stop` is set."""
    lingered = False  # this lane has just waited for the rest of a series
    while True:
        await _prune_when_due(settings, queue, flight)
        wake.clear()  # before looking, so an instance queued while we look still wakes us
        if stop.is_set():  # after the clear: `stop` set later sets `wake` again (upload_forever)
            return []
        batch = await _look(settings, queue, flight)
        # After the look: an instance arriving during it counts here but is not in the batch, so the linger may wait
        # for one more than it needs; counted before, such a batch left one short of full.
        seen = arrivals.arrived
        # A batch not full while the modality is still sending (one instance at a time) waits for more, once:
        # sending each instance as it came made many small requests, and the cloud's cost is mostly per request.
        wait_for_more = (
            not lingered
            and bool(settings.batch_linger_seconds)
            and _room_left(batch, settings)
            and arrivals.open_stores() > 0
        )
        if batch and not wait_for_more:
            flight.take(batch)
            return batch
        if not batch and not await _wait(wake, _IDLE_POLL_SECONDS):
            continue  # the safety poll
        if settings.batch_linger_seconds:  # let the rest of the series arrive, up to a full batch
            await _linger(settings.batch_linger_seconds, arrivals, stop, seen + settings.batch_size - len(batch))
            lingered = True


async def _look(settings: GatewaySettings, queue: InstanceQueue, flight: InFlight) -> list[QueuedInstance]:
    """The next batch no other lane holds. The SQLite read runs in a thread: the queue's lock is also held across
    the SCP's group commits (an fsync), which the event loop must not wait behind."""
    return await asyncio.to_thread(
        queue.next_batch,
        settings.batch_size,
        settings.batch_bytes,
        skip_ids=frozenset(flight.ids),
        skip_uids=frozenset(flight.uids),
    )


async def _prune_when_due(settings: GatewaySettings, queue: InstanceQueue, flight: InFlight) -> None:
    if time.monotonic() < flight.next_prune:
        return
    pruned = await asyncio.to_thread(queue.prune_sent, time.time() - settings.retention_days * 86400)
    if pruned:
        log.info("deleted %d sent files older than %g days", pruned, settings.retention_days)
    flight.next_prune = time.monotonic() + _PRUNE_EVERY_SECONDS


async def _linger(seconds: float, arrivals: Arrivals, stop: asyncio.Event, full_at: int) -> None:
    """Wait up to `seconds` for more of the series, but only while a storage association is open: a modality that
    released (or lost) its association sends nothing more into it, so the last batch of a study goes at once. The
    wait also ends once `full_at` instances have arrived in all (Arrivals.queued): the batch is full then."""
    arrivals.storing_ended.clear()  # before counting: an association ending after the count still ends the wait
    if arrivals.open_stores() and not stop.is_set():
        arrivals.expect(full_at)
        try:
            if arrivals.arrived < full_at:  # arrived meanwhile: no need to wait
                await _wait(arrivals.storing_ended, seconds)
        finally:
            arrivals.expect(None)


def _room_left(batch: list[QueuedInstance], settings: GatewaySettings) -> bool:
    return len(batch) < settings.batch_size and sum(item.size for item in batch) < settings.batch_bytes


async def upload_batch(
    settings: GatewaySettings,
    queue: InstanceQueue,
    client: httpx.AsyncClient,
    batch: list[QueuedInstance],
    sender: DirectSender | None = None,
) -> bool:
    """POST one batch and record each instance's fate; False when the caller should back off before the next.

    The POST goes through `sender` when given, else through `client`. Through `sender`, the files' check, the POST
    and the recording of its outcome are one job on the lane's thread: one trip off the event loop and back per
    batch where there were two (the POST, then marking the instances sent)."""
    if sender is not None:
        outcome = await sender.run(_upload_direct, settings, queue, sender.connection, batch)
    else:
        outcome = await _upload_via_client(settings, queue, client, batch)
    if isinstance(outcome, bool):
        return outcome
    # The answer refused the batch and blamed no instance: one at a time finds the one the cloud will not take.
    outcomes = [await upload_batch(settings, queue, client, [item], sender) for item in outcome]
    return all(outcomes)


def _upload_direct(
    settings: GatewaySettings, queue: InstanceQueue, connection: StowConnection, batch: list[QueuedInstance]
) -> bool | list[QueuedInstance]:
    """`upload_batch` through the lane's own connection, on the lane's thread (blocking)."""
    present, missing = _split_missing(batch)
    if missing:
        _mark_missing(queue, missing)
    if not present:
        return True
    result = _post_direct(settings, connection, present)
    outcome = _record_outcome(queue, present, result)
    _stored_by_this_lane.now_stored([item.path for item in present if item.sop_instance_uid in result.sent])
    return outcome


async def _upload_via_client(
    settings: GatewaySettings, queue: InstanceQueue, client: httpx.AsyncClient, batch: list[QueuedInstance]
) -> bool | list[QueuedInstance]:
    """`upload_batch` through httpx (a proxy is configured): the POST on the loop, the queue's writes in a thread."""
    present, missing = _split_missing(batch)
    if missing:
        await asyncio.to_thread(_mark_missing, queue, missing)
    if not present:
        return True
    result = await _post(settings, client, present)
    return await asyncio.to_thread(_record_outcome, queue, present, result)


def _split_missing(batch: list[QueuedInstance]) -> tuple[list[QueuedInstance], dict[int, str]]:
    """The instances whose spooled file is still there, and the reason for each of the others (one pass: looking
    each item up in `present` compared whole dataclasses, quadratic in the batch)."""
    present: list[QueuedInstance] = []
    missing: dict[int, str] = {}
    for item in batch:
        if item.path.exists():
            present.append(item)
        else:
            missing[item.id] = f"the spooled file {item.path} is missing; ask the modality to send it again"
    return present, missing


def _mark_missing(queue: InstanceQueue, missing: dict[int, str]) -> None:
    queue.mark_failed(missing)
    queue.record_error(next(iter(missing.values())))


def _record_outcome(
    queue: InstanceQueue, present: list[QueuedInstance], result: StowResult
) -> bool | list[QueuedInstance]:
    """Record the cloud's answer for `present` in the queue (blocking). True or False as `upload_batch` returns;
    `present` itself when the answer refused the whole batch without blaming an instance (the caller splits it)."""
    by_uid = {item.sop_instance_uid: item for item in present}
    if result.verdict is Verdict.ANSWERED:
        if result.sent:
            queue.mark_sent([by_uid[uid].id for uid in result.sent])
        if result.failed:
            queue.mark_failed({by_uid[uid].id: reason for uid, reason in result.failed.items()})
            uid, reason = next(iter(result.failed.items()))
            queue.record_error(
                f"{reason} (SOP Instance {uid}"
                + (f", and {len(result.failed) - 1} more)" if len(result.failed) > 1 else ")")
            )
            log.warning("the cloud refused %d instance(s): %s", len(result.failed), result.failed)
        if result.unanswered:
            queue.mark_retry([by_uid[uid].id for uid in result.unanswered], "the cloud's answer did not mention it")
        log.info("sent %d, refused %d, to retry %d", len(result.sent), len(result.failed), len(result.unanswered))
        return not result.unanswered or bool(result.sent)
    if result.verdict is Verdict.REFUSED:
        if len(present) > 1:
            return present
        error = result.error or "the cloud refused the instance"
        queue.mark_failed({present[0].id: error})
        queue.record_error(f"{error} (SOP Instance {present[0].sop_instance_uid})")
        return True
    error = result.error or "the upload failed"
    queue.mark_retry([item.id for item in present], error)
    queue.record_error(error)
    log.warning("%s; %d instance(s) kept in the queue", error, len(present))
    return False


def _request(settings: GatewaySettings, batch: list[QueuedInstance]) -> tuple[StowBody, dict[str, str]]:
    """The body and headers of the POST of `batch`; FileNotFoundError when a spooled file has gone."""
    body = stow_body([item.path for item in batch])
    headers = {
        "Content-Type": body.content_type,
        "Content-Length": str(body.length),
        "Accept": "application/dicom+json",
    }
    if settings.api_key is not None:
        headers["Authorization"] = f"Bearer {settings.api_key.get_secret_value()}"
    return body, headers


def _vanished(exc: FileNotFoundError) -> StowResult:
    """A spooled file pruned or removed between the check and now: try again next round."""
    return StowResult(Verdict.TRANSIENT, error=f"a spooled file vanished while sending: {exc.filename}")


async def _post(settings: GatewaySettings, client: httpx.AsyncClient, batch: list[QueuedInstance]) -> StowResult:
    url = settings.stow_url
    try:
        body, headers = _request(settings, batch)
    except FileNotFoundError as exc:
        return _vanished(exc)
    try:
        response = await client.post(url, content=body.stream(), headers=headers)
    except httpx.TimeoutException:
        return StowResult(
            Verdict.TRANSIENT,
            error=f"the cloud at {settings.cloud_url} did not answer within {settings.request_timeout_seconds:g} s",
        )
    except httpx.ConnectError as exc:
        return StowResult(Verdict.TRANSIENT, error=f"cannot reach the cloud at {settings.cloud_url}: {_plain(exc)}")
    except httpx.HTTPError as exc:
        return StowResult(
            Verdict.TRANSIENT, error=f"the connection to the cloud at {settings.cloud_url} broke: {_plain(exc)}"
        )
    return interpret_stow_response(
        response.status_code, response.content, [item.sop_instance_uid for item in batch], settings.cloud_url
    )


def _post_direct(settings: GatewaySettings, connection: StowConnection, batch: list[QueuedInstance]) -> StowResult:
    """`_post` on the lane's own connection (blocking): the same request, and the same words for the same failures."""
    try:
        body, headers = _request(settings, batch)
        response = connection.post(body, headers)
    except FileNotFoundError as exc:  # also when removed after the body was made
        return _vanished(exc)
    except StowTimedOut:
        return StowResult(
            Verdict.TRANSIENT,
            error=f"the cloud at {settings.cloud_url} did not answer within {settings.request_timeout_seconds:g} s",
        )
    except StowConnectFailed as exc:
        return StowResult(Verdict.TRANSIENT, error=f"cannot reach the cloud at {settings.cloud_url}: {_plain(exc)}")
    except StowConnectionBroke as exc:
        return StowResult(
            Verdict.TRANSIENT, error=f"the connection to the cloud at {settings.cloud_url} broke: {_plain(exc)}"
        )
    return interpret_stow_response(
        response.status_code, response.content, [item.sop_instance_uid for item in batch], settings.cloud_url
    )


def backoff_delay(failures: int, minimum: float, maximum: float, rng: random.Random | None = None) -> float:
    """Exponential backoff with jitter: about minimum x 2^(failures-1), capped, scaled by 0.5-1.0.

    The jitter keeps many gateways that lost the cloud together from all coming back in the same second.
    """
    ceiling = min(maximum, minimum * 2.0 ** min(max(failures - 1, 0), 32))
    jitter = rng.uniform(0.5, 1.0) if rng is not None else random.uniform(0.5, 1.0)
    return max(minimum, ceiling * jitter)


def _plain(exc: BaseException) -> str:
    """What an operator can read: the root cause ('connection refused'), not httpx's 'All connection attempts'."""
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, socket.gaierror):
            return f"the name cannot be resolved ({cause.strerror or cause})"
        if isinstance(cause, ssl.SSLError):
            return f"TLS failed: {cause.reason or cause}"
        if isinstance(cause, OSError) and cause.errno and cause.errno > 0:
            return os.strerror(cause.errno).lower()
        cause = cause.__cause__ or cause.__context__
    text = re.sub(r"^\[Errno -?\d+\]\s*", "", (str(exc) or type(exc).__name__).strip())
    return text[:1].lower() + text[1:]


async def _wait(event: asyncio.Event, seconds: float) -> bool:
    """Wait for `event` at most `seconds`; True when it was set. No task of its own: a lane waits several times per
    batch, and creating and cancelling two tasks each time (`event` or `stop`) was a good part of the lanes' CPU on
    the event loop. `upload_forever` sets the events a lane may wait on when `stop` is set."""
    if event.is_set():
        return True
    try:
        async with asyncio.timeout(seconds):
            await event.wait()
    except TimeoutError:
        return False
    return True

"""The API process's one LISTEN connection to PostgreSQL, fanned out to the live-update streams of signed-in people.

Writers announce changes with pg_notify in their own transaction (db/queries/events.py). The hub hears each
announcement once, reads the referral's projection row once, and hands it to every subscriber allowed to see
it (domain.access.can_view). Subscriber queues are bounded: a consumer that falls behind is dropped and told
to refetch, so one slow browser cannot grow the process's memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
from dataclasses import dataclass
from typing import Any

import asyncpg  # type: ignore[import-untyped]  # no stubs; used in this module only
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.consult_view import consult_out, consult_scope
from yilian.api.models.consult import ConsultMessage
from yilian.api.models.notification import Notification
from yilian.api.referral_view import allowed_for, referral_out, referral_scope
from yilian.db.engine import reading
from yilian.db.queries import consult as consult_queries
from yilian.db.queries import notification as notification_queries
from yilian.db.queries import referral as q
from yilian.db.queries.events import NOTIFICATIONS_CHANNEL, REFERRALS_CHANNEL, heard_notification
from yilian.domain.access import Principal, can_view
from yilian.domain.consult import can_view_consult

log = logging.getLogger(__name__)

QUEUE_SIZE = 256  # events waiting for one subscriber before it is dropped
INBOX_SIZE = 10_000  # announcements heard but not yet fanned out
APPLICATION_NAME = "yilian-events"  # how the LISTEN connection shows in pg_stat_activity


@dataclass(frozen=True)
class Event:
    """One server-sent event: its name (`referral`, `notification`, `resync`), JSON data and stream id."""

    name: str
    data: dict[str, Any]
    id: int


def listen_dsn(database_url: str) -> str:
    """A libpq-style DSN for asyncpg from the SQLAlchemy URL (drops a `+asyncpg` driver suffix)."""
    return make_url(database_url).set(drivername="postgresql").render_as_string(hide_password=False)


class Subscription:
    """One open event stream: whose it is, and the events waiting to be written to it."""

    def __init__(self, principal: Principal, size: int) -> None:
        self.principal = principal
        self.dropped: str | None = None  # why the hub let go of it; the stream then ends with `resync`
        self._queue: asyncio.Queue[Event | None] = asyncio.Queue(size)

    def offer(self, event: Event) -> bool:
        """Queue an event; False when the queue is full (the hub then drops the subscription)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    def drop(self, reason: str) -> None:
        self.dropped = reason
        with contextlib.suppress(asyncio.QueueFull):  # wake a waiting reader; a full queue has none
            self._queue.put_nowait(None)

    async def next(self, wait: float) -> Event | None:
        """The next event, or None after `wait` seconds or once dropped."""
        if self.dropped:
            return None
        try:
            return await asyncio.wait_for(self._queue.get(), wait)
        except TimeoutError:
            return None


class EventHub:
    """Started and stopped by the app's lifespan; `subscribe` is refused (None) while it is not running."""

    def __init__(
        self,
        dsn: str,
        engine: AsyncEngine,
        *,
        queue_size: int = QUEUE_SIZE,
        probe_seconds: float = 30.0,
        backoff: tuple[float, float] = (0.5, 30.0),
    ) -> None:
        self._dsn = dsn
        self._engine = engine
        self._queue_size = queue_size
        self._probe_seconds = probe_seconds
        self._backoff = backoff
        self._subscribers: set[Subscription] = set()
        self._inbox: asyncio.Queue[tuple[str, str]] = asyncio.Queue(INBOX_SIZE)
        self._ids = itertools.count(1)
        self._tasks: list[asyncio.Task[None]] = []
        self._listening = asyncio.Event()

    # ---- life -----------------------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return bool(self._tasks)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()

    async def start(self, wait_for_listen: float = 5.0) -> None:
        """Start listening; waits a little for the first connection but does not fail without one."""
        if self._tasks:
            return
        self._tasks = [asyncio.create_task(self._listen()), asyncio.create_task(self._dispatch())]
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._listening.wait(), wait_for_listen)
        if not self.listening:
            log.warning("live updates: not yet listening to PostgreSQL; retrying in the background")

    async def stop(self) -> None:
        for sub in list(self._subscribers):
            self._drop(sub, "server shutting down")
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._listening.clear()

    # ---- subscribers ----------------------------------------------------------------------------
    def subscribe(self, principal: Principal) -> Subscription | None:
        if not self.running:
            return None
        sub = Subscription(principal, self._queue_size)
        self._subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        self._subscribers.discard(sub)

    def next_id(self) -> int:
        return next(self._ids)

    def _offer(self, sub: Subscription, name: str, data: dict[str, Any]) -> None:
        if not sub.offer(Event(name, data, self.next_id())):
            self._drop(sub, "too many events waiting for this stream")

    def _drop(self, sub: Subscription, reason: str) -> None:
        self._subscribers.discard(sub)
        sub.drop(reason)

    def _resync_all(self, reason: str) -> None:
        for sub in list(self._subscribers):
            self._offer(sub, "resync", {"reason": reason})

    # ---- the LISTEN connection ------------------------------------------------------------------
    def _heard(self, _conn: object, _pid: int, channel: str, payload: str) -> None:
        try:
            self._inbox.put_nowait((channel, payload))
        except asyncio.QueueFull:
            log.warning("live updates: announcement backlog full; asking every stream to refetch")
            self._resync_all("updates were missed")

    async def _listen(self) -> None:
        """Hold one connection with LISTEN on both channels; reconnect with backoff when it goes."""
        low, high = self._backoff
        failures = 0
        while True:
            try:
                conn: asyncpg.Connection = await asyncpg.connect(
                    self._dsn, timeout=10, server_settings={"application_name": APPLICATION_NAME}
                )
            except Exception as exc:  # whatever the cause, the listener must outlive it and retry
                delay = min(high, low * 2**failures)
                failures += 1
                log.warning("live updates: cannot connect to PostgreSQL (%s); retrying in %.1fs", exc, delay)
                await asyncio.sleep(delay)
                continue
            lost = asyncio.Event()
            try:
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(REFERRALS_CHANNEL, self._heard)
                await conn.add_listener(NOTIFICATIONS_CHANNEL, self._heard)
                await conn.add_listener(consult_queries.CONSULTS_CHANNEL, self._heard)
                failures = 0
                self._listening.set()
                # Streams opened while we were not listening (or before a drop) may have missed updates.
                self._resync_all("the server reconnected to its database")
                while not lost.is_set():
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), self._probe_seconds)
                    if not lost.is_set():  # a half-open connection only shows when it is used
                        await asyncio.wait_for(conn.fetchval("SELECT 1"), 10)
                log.warning("live updates: the LISTEN connection closed; reconnecting")
            except Exception as exc:
                log.warning("live updates: the LISTEN connection failed (%s); reconnecting", exc)
            finally:
                self._listening.clear()
                conn.terminate()
            await asyncio.sleep(low)

    async def _dispatch(self) -> None:
        while True:
            channel, payload = await self._inbox.get()
            try:
                if channel == NOTIFICATIONS_CHANNEL:
                    await self._notification_added(payload)
                elif channel == REFERRALS_CHANNEL and self._subscribers:
                    await self._referral_changed(payload)
                elif channel == consult_queries.CONSULTS_CHANNEL and self._subscribers:
                    await self._consult_changed(payload)
            except Exception:
                log.exception("live updates: could not fan out %s %s; asking streams to refetch", channel, payload)
                self._resync_all("updates were missed")

    async def _notification_added(self, payload: str) -> None:
        """Hand a new notice to its recipient's streams as the inbox shows it (kind and parameters; the browser
        puts it into the reader's language)."""
        user_id, notification_id = heard_notification(payload)
        listeners = [sub for sub in self._subscribers if sub.principal.user_id == user_id]
        if not listeners or notification_id is None:
            return  # an announcement without an id (an older writer): the inbox shows it at its next read
        async with reading(self._engine) as conn:
            row = await notification_queries.get(conn, notification_id)
        if row is None:
            return
        data = Notification.model_validate(row).model_dump(mode="json")
        for sub in listeners:
            self._offer(sub, "notification", data)

    async def _referral_changed(self, referral_id: str) -> None:
        async with reading(self._engine) as conn:
            row = await q.get_referral(conn, referral_id)
        if row is None:
            return
        scope = referral_scope(row)
        viewers = [sub for sub in self._subscribers if can_view(sub.principal, scope)]
        if viewers:
            # One row for everyone; what each may do with it is theirs (a reader and a county doctor differ).
            data = referral_out(row, viewers[0].principal).model_dump(mode="json")
            for sub in viewers:
                self._offer(sub, "referral", {**data, "allowed_actions": allowed_for(row, sub.principal)})

    async def _consult_changed(self, payload: str) -> None:
        """A consult changed, or a line was added to its chat: to everyone who may see the consult."""
        consult_id, message_id = consult_queries.heard(payload)
        async with reading(self._engine) as conn:
            row = await consult_queries.get(conn, consult_id)
            cases = await consult_queries.case_rows(conn, list(row["case_ids"])) if row else []
            line = await consult_queries.message(conn, message_id) if row and message_id is not None else None
        if row is None:
            return
        viewers = [
            sub
            for sub in self._subscribers
            if can_view_consult(sub.principal, consult_scope(row, sub.principal, cases))
        ]
        if line is not None:
            data = ConsultMessage.model_validate(line).model_dump(mode="json")
            for sub in viewers:
                self._offer(sub, "consult_message", data)
            return
        for sub in viewers:
            self._offer(sub, "consult", consult_out(row, sub.principal).model_dump(mode="json"))

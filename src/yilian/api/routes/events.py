"""Live updates for the web front end: one Server-Sent Events stream per signed-in person.

GET /api/events (text/event-stream, `Authorization: Bearer <token>`). Every event has an `id:`; the events:

    ready            {"user_id", "role", "expires_at", "heartbeat_seconds"}   first, once subscribed
    referral         the referral as GET /api/referrals/{id} shows it           a case you may see changed
    notification     {"user_id"}                                                 your in-app inbox has news
    consult          the consult as GET /api/consults/{id} lists it              a consult you may see changed
    consult_message  a chat line as GET /api/consults/{id}/messages shows it     in a consult you may see
    resync           {"reason"}                     updates may have been lost: refetch what is on screen
    session_expired  {"expires_at"}                 the token ran out: sign in again; the stream then ends

A comment line (`: heartbeat`) goes out every 15 s so proxies keep the connection. When a `resync` ends the
stream (the client fell behind, or the server is stopping) the client reconnects and refetches; ids are not
resumable across connections (Last-Event-ID is ignored), so every new stream starts with a fresh `ready`.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.responses import StreamingResponse

from yilian.api.deps import AppSettings, Credentials, Engine, Events, Session, authenticate, principal_or_gateway
from yilian.api.event_hub import EventHub, Subscription
from yilian.domain import api_key
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.roles import Role

router = APIRouter(prefix="/api/events", tags=["events"])

HEARTBEAT_SECONDS = 15.0
# People with a worklist, a dashboard or an inbox; a gateway's API key and the patient's link have none.
STREAM_ROLES = frozenset({Role.COUNTY_DOCTOR, Role.EXPERT, Role.SENIOR, Role.COORDINATOR, Role.ADMIN})


async def stream_session(settings: AppSettings, engine: Engine, creds: Credentials) -> Session:
    """The caller and when their token runs out: the stream says `session_expired` and ends then."""
    if creds is not None and creds.credentials.startswith(api_key.PREFIX):
        gateway = await principal_or_gateway(settings, engine, creds)
        raise YilianError(ErrorCode.FORBIDDEN, "live updates are for signed-in people", {"role": gateway.role})
    session = await authenticate(settings, engine, creds)
    if session.principal.role not in STREAM_ROLES:
        raise YilianError(
            ErrorCode.FORBIDDEN, "live updates are for signed-in people", {"role": session.principal.role}
        )
    return session


def frame(name: str, data: dict[str, Any], event_id: int) -> str:
    """One event in the text/event-stream format (the data is one line of JSON)."""
    return f"id: {event_id}\nevent: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"


async def stream_events(hub: EventHub, sub: Subscription, session: Session, heartbeat: float) -> AsyncIterator[str]:
    p = session.principal
    try:
        ready = {
            "user_id": p.user_id,
            "role": p.role,
            "expires_at": session.expires_at.isoformat(),
            "heartbeat_seconds": heartbeat,
        }
        yield frame("ready", ready, hub.next_id())
        next_beat = time.monotonic() + heartbeat
        while True:
            left = (session.expires_at - datetime.now(UTC)).total_seconds()
            if left <= 0:
                yield frame("session_expired", {"expires_at": session.expires_at.isoformat()}, hub.next_id())
                return
            event = await sub.next(max(0.0, min(left, next_beat - time.monotonic())))
            if sub.dropped:
                yield frame("resync", {"reason": sub.dropped}, hub.next_id())
                return
            if event is not None:
                yield frame(event.name, event.data, event.id)
            elif time.monotonic() >= next_beat:
                yield ": heartbeat\n\n"
                next_beat = time.monotonic() + heartbeat
    finally:
        hub.unsubscribe(sub)


@router.get(
    "",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "a stream of live updates"}},
)
async def events(hub: Events, session: Annotated[Session, Depends(stream_session)]) -> StreamingResponse:
    """Live updates of the cases you may see, and of your inbox, as Server-Sent Events."""
    sub = hub.subscribe(session.principal)
    if sub is None:
        raise YilianError(ErrorCode.SERVICE_UNAVAILABLE, "live updates are not running: reload to refresh")
    return StreamingResponse(
        stream_events(hub, sub, session, HEARTBEAT_SECONDS),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

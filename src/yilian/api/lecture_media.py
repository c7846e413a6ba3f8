"""Serving a lecture's HLS files to viewers, and counting what they watched.

A viewer never joins the live room: the API mints them a short-lived watch token (one viewer, one lecture; signed
with a key derived from the JWT secret, so no sign-in token is a watch token or the other way round), the playlist
they get carries it in every URI, and each file fetch checks it without touching the database. Attendance is the
distinct segments a doctor fetched times their #EXTINF durations: each fetch is put in an in-memory buffer that one
task writes in batches (500 viewers fetch a segment every two seconds each); a batch of replay views tells the
lecture's workflow who to tally for credit.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.responses import FileResponse, Response

from yilian.db.queries import lectures as q
from yilian.domain import lecture_media as media
from yilian.domain.errors import ErrorCode, YilianError

log = logging.getLogger(__name__)
WATCH_TOKEN_TTL = timedelta(minutes=30)  # the player asks for a fresh one well before (web/src/lecture)
_AUDIENCE = "yilian-lecture-hls"
FLUSH_SECONDS = 1.0
BATCH = 2000  # views per INSERT
LIVE, REPLAY = "live", "replay"


def _key(secret: str) -> bytes:
    return hashlib.sha256(f"lecture-watch:{secret}".encode()).digest()


@dataclass(frozen=True)
class WatchClaims:
    lecture_id: str
    user_id: str
    mode: str
    expires_at: datetime


def mint(secret: str, lecture_id: str, user_id: str, mode: str, now: datetime) -> tuple[str, datetime]:
    exp = now + WATCH_TOKEN_TTL
    claims = {"lec": lecture_id, "sub": user_id, "m": mode, "aud": _AUDIENCE, "exp": exp}
    return jwt.encode(claims, _key(secret), algorithm="HS256"), exp


def verify(secret: str, token: str | None, lecture_id: str) -> WatchClaims:
    """The token's claims; 401 when it is missing, malformed or expired, 403 when it is for another lecture."""
    return admit(decode(secret, token, lecture_id), lecture_id, time.time())


def decode(secret: str, token: str | None, lecture_id: str) -> WatchClaims:
    """The claims of a well-signed, unexpired watch token (for whichever lecture); 401 otherwise."""
    if not token:
        raise YilianError(ErrorCode.UNAUTHENTICATED, f"no watch token: {_how(lecture_id)}", {"reason": "missing"})
    try:
        got = jwt.decode(token, _key(secret), algorithms=["HS256"], audience=_AUDIENCE)
    except jwt.ExpiredSignatureError as exc:
        raise _expired(lecture_id) from exc
    except jwt.InvalidTokenError as exc:
        raise YilianError(ErrorCode.UNAUTHENTICATED, f"not a valid watch token: {_how(lecture_id)}",
                          {"reason": "invalid"}) from exc  # fmt: skip
    return WatchClaims(str(got.get("lec")), str(got["sub"]), str(got.get("m", LIVE)),
                       datetime.fromtimestamp(got["exp"], UTC))  # fmt: skip


def admit(claims: WatchClaims, lecture_id: str, now: float) -> WatchClaims:
    """Decoded claims checked for this lecture at `now` (a kept token expires like a fresh one: exp <= now)."""
    if claims.expires_at.timestamp() <= now:
        raise _expired(lecture_id)
    if claims.lecture_id != lecture_id:
        raise YilianError(ErrorCode.FORBIDDEN, "this watch token is for another lecture", {"reason": "other_lecture"})
    return claims


def _how(lecture_id: str) -> str:
    return f"HLS files need the watch token from POST /api/lectures/{lecture_id}/watch as ?t="


def _expired(lecture_id: str) -> YilianError:
    return YilianError(ErrorCode.UNAUTHENTICATED, f"the watch token expired: {_how(lecture_id)}", {"reason": "expired"})


class WatchTokens:
    """Watch tokens whose signature was checked, with their claims: a viewer sends the same token with every fetch
    for up to 30 minutes, so its HMAC and JSON are worked through once; expiry and lecture are checked each time."""

    def __init__(self, secret: str, size: int = 8192) -> None:
        self.secret = secret
        self.size = size
        self._known: OrderedDict[str, WatchClaims] = OrderedDict()

    def verify(self, token: str | None, lecture_id: str) -> WatchClaims:
        claims = self._known.get(token) if token else None
        if claims is None:
            claims = decode(self.secret, token, lecture_id)
            assert token is not None
            self._known[token] = claims
            if len(self._known) > self.size:
                self._known.popitem(last=False)
        return admit(claims, lecture_id, time.time())


class SegmentTimes:
    """Each segment's duration, from the lecture's playlists, re-read only when a playlist file changes."""

    def __init__(self) -> None:
        self._seen: dict[str, tuple[tuple[int, int], dict[str, float]]] = {}

    def of(self, folder: Path) -> dict[str, float]:
        key = str(folder)  # string paths: this runs on every segment fetch
        stamps = (_mtime(f"{key}/{media.LIVE_PLAYLIST}"), _mtime(f"{key}/{media.REPLAY_PLAYLIST}"))
        cached = self._seen.get(key)
        if cached is not None and cached[0] == stamps:
            return cached[1]
        times: dict[str, float] = {}
        for name, stamp in zip((media.LIVE_PLAYLIST, media.REPLAY_PLAYLIST), stamps, strict=True):
            if stamp:
                with contextlib.suppress(OSError):
                    times.update((s.uri, s.seconds) for s in media.segments((folder / name).read_text("utf-8")))
        self._seen[key] = (stamps, times)
        return times


def _mtime(path: str) -> int:
    try:
        return os.stat(path).st_mtime_ns
    except OSError:
        return 0


Tell = Callable[[str, list[str]], Awaitable[None]]  # (lecture id, doctors) whose replay attendance moved


class LectureViews:
    """The buffer of segment views: `record` is synchronous and cheap; one task writes batches and exits when idle
    (started again by the next view), so nothing runs between lectures."""

    def __init__(self, engine: AsyncEngine, tell: Tell) -> None:
        self._engine = engine
        self._tell = tell
        self._pending: dict[tuple[str, str, str], tuple[float, str, datetime]] = {}
        self._task: asyncio.Task[None] | None = None
        self._full = asyncio.Event()

    def record(self, lecture_id: str, user_id: str, segment: str, seconds: float, mode: str) -> None:
        self._pending.setdefault((lecture_id, user_id, segment), (seconds, mode, datetime.now(UTC)))
        if len(self._pending) >= BATCH:
            self._full.set()
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._pending:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._full.wait(), FLUSH_SECONDS)
            self._full.clear()
            try:
                await self.flush()
            except Exception:  # a database hiccup must not lose the buffer's task for good: retry next round
                log.exception("lecture views: a batch was not written; retrying")
                await asyncio.sleep(FLUSH_SECONDS)

    async def flush(self) -> None:
        taken, self._pending = self._pending, {}
        if not taken:
            return
        rows = [
            {"lecture_id": lec, "user_id": user, "segment": seg, "seconds": s, "mode": mode, "at": at}
            for (lec, user, seg), (s, mode, at) in taken.items()
        ]
        try:
            for i in range(0, len(rows), BATCH):
                async with self._engine.begin() as conn:
                    await q.add_views(conn, rows[i : i + BATCH])
        except Exception:
            for key, value in taken.items():  # put back what was not written; a repeat is harmless (ON CONFLICT)
                self._pending.setdefault(key, value)
            raise
        replay: dict[str, set[str]] = {}
        for (lec, user, _), (_, mode, _) in taken.items():
            if mode == REPLAY:
                replay.setdefault(lec, set()).add(user)
        for lec, users in replay.items():
            try:
                await self._tell(lec, sorted(users))
            except Exception:  # the tally catches up with the next batch of this doctor
                log.warning("lecture %s: could not tell the workflow who watched", lec, exc_info=True)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.flush()


PLAYLIST_TYPE = "application/vnd.apple.mpegurl"
SEGMENT_CACHE = "private, max-age=3600"  # a segment never changes once written


def servable(name: str) -> None:
    if not media.servable(name):
        raise YilianError(ErrorCode.NOT_FOUND, f"{name!r} is not a file of a lecture", {"file": name})


def no_playlist(name: str) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"no {name} yet", {"file": name})


def no_file(name: str) -> YilianError:
    return YilianError(ErrorCode.NOT_FOUND, f"no {name} in this lecture", {"file": name})


def playlist_cache(name: str, text: str) -> str:
    """The live playlist changes every segment until it ends; the replay and an ended one keep a minute."""
    return "no-cache" if name == media.LIVE_PLAYLIST and not media.ended(text) else "private, max-age=60"


def media_type(name: str) -> str:
    if name.endswith(".json"):
        return "application/json"
    return "video/mp2t" if name.endswith(".ts") else "application/octet-stream"


def count_view(times: SegmentTimes, views: LectureViews, claims: WatchClaims, folder: Path, name: str) -> None:
    """A segment fetched counts toward attendance (a playlist's #EXTINF gives its seconds)."""
    seconds = times.of(folder).get(name)
    if seconds is not None:
        views.record(claims.lecture_id, claims.user_id, name, seconds, claims.mode)


def serve(root: Path, times: SegmentTimes, views: LectureViews, claims: WatchClaims, name: str, token: str) -> Response:
    """One file of the lecture's directory: a playlist rewritten for this viewer, or a segment (counted). The HLS
    door (api/hls_door.py) answers plain GETs the short way; this serves what it passes on (HEAD, ranges)."""
    servable(name)
    folder = root / claims.lecture_id
    path = folder / name
    if name in media.PLAYLISTS:
        try:
            text = path.read_text("utf-8")
        except OSError as exc:
            raise no_playlist(name) from exc
        return Response(media.with_token(text, token), media_type=PLAYLIST_TYPE,
                        headers={"Cache-Control": playlist_cache(name, text)})  # fmt: skip
    if not path.is_file():
        raise no_file(name)
    count_view(times, views, claims, folder, name)
    return FileResponse(path, media_type=media_type(name), headers={"Cache-Control": SEGMENT_CACHE})

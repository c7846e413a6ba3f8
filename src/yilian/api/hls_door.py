"""The HLS door: a lecture's playlist and segment requests, answered before FastAPI's routing.

Each viewer fetches a playlist and a segment every 2 s, so 500 viewers are 500 requests a second. Through the
router, its dependencies and FileResponse (a thread hop for the stat, the open and every 64 KiB read) one cost
about 4 ms of API CPU (docs/benchmarks.md). Here the same checks run in one plain ASGI function: the watch token
(no database: `lecture_media.verify`), the file name, the view put in the batched attendance buffer, then the
bytes in one message. Every viewer reads the newest segments within seconds of each other, so files are kept in
memory while unchanged (size and mtime), up to a budget; a playlist's per-viewer text (its URIs carry the
viewer's token) is prepared once per version of the file.

It sits inside the metrics middleware (the request is counted under the route's template) and before the edge,
whose parameter checks guard what a route would bind and query (here the token is checked for itself, the names
are matched whole), so it adds the edge's security headers itself. Range and conditional GETs go on to the route,
which serves them with FileResponse (players do not send them for HLS); other methods to the router, as before.
"""

from __future__ import annotations

import os
import re
import stat
from collections import OrderedDict
from pathlib import Path
from urllib.parse import parse_qsl

from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from yilian.api import lecture_media as door
from yilian.api.deps import LectureMedia
from yilian.api.edge import security_headers
from yilian.api.errors import error_response
from yilian.domain import lecture_media as media
from yilian.domain.errors import YilianError

TEMPLATE = "/api/lectures/{lecture_id}/hls/{file}"  # the route's, as api/routes/lectures.py declares it
_PATH = re.compile(r"^/api/lectures/([^/]+)/hls/([^/]+)$")
_LONG_WAY = frozenset({b"range", b"if-range", b"if-none-match", b"if-modified-since"})
CACHE_BYTES = 64 * 1024 * 1024  # ~400 segments of a 600 kbit/s, 2 s stream
LARGEST_CACHED = 8 * 1024 * 1024
PLAYLISTS_KEPT = 256  # prepared playlists (two per lecture being watched)

Stamp = tuple[int, int]  # (size, mtime in ns): a segment is written once; a playlist is replaced whole


class FileCache:
    """Files read whole and kept while their size and mtime stay the same; the least recently used go first."""

    def __init__(self, budget: int = CACHE_BYTES) -> None:
        self.budget = budget
        self.held = 0
        self._files: OrderedDict[str, tuple[Stamp, bytes]] = OrderedDict()

    def read(self, path: str) -> tuple[Stamp, bytes] | None:
        """The file's stamp and bytes; None when it is not a regular file (or vanished while being read)."""
        try:
            st = os.stat(path)
        except OSError:
            return None
        if not stat.S_ISREG(st.st_mode):
            return None
        stamp = (st.st_size, st.st_mtime_ns)
        found = self._files.get(path)
        if found is not None and found[0] == stamp:
            self._files.move_to_end(path)
            return found
        try:
            with open(path, "rb") as file:  # in page cache: the live process wrote it seconds ago
                data = file.read()
        except OSError:
            return None
        self._forget(path)
        if len(data) <= LARGEST_CACHED:
            self._files[path] = (stamp, data)
            self.held += len(data)
            while self.held > self.budget:
                self._forget(next(iter(self._files)))
        return stamp, data

    def _forget(self, path: str) -> None:
        gone = self._files.pop(path, None)
        if gone is not None:
            self.held -= len(gone[1])


class HlsDoor:
    """ASGI middleware: a plain GET /api/lectures/{id}/hls/{file}?t= is answered here; anything else passes on."""

    def __init__(self, app: ASGIApp, files: LectureMedia, cache: FileCache | None = None) -> None:
        self.app = app
        self.files = files
        self.cache = cache or FileCache()
        self.tokens = door.WatchTokens(files.secret)
        self._headers = security_headers(TEMPLATE)
        self._slots: dict[str, tuple[Stamp, list[str], bytes]] = {}  # playlist path -> its token slots
        self._route = Route(TEMPLATE, endpoint=_never)  # for the metrics label, as if the router had matched

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = _PATH.match(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else None
        if found is None or any(name in _LONG_WAY for name, _ in scope["headers"]):
            await self.app(scope, receive, send)
            return
        scope["route"] = self._route
        lecture_id, name = found.groups()
        try:
            kind, cache, body = self.answer(lecture_id, name, _token(scope["query_string"]))
        except YilianError as exc:

            async def with_headers(message: Message) -> None:
                if message["type"] == "http.response.start":
                    message = {**message, "headers": [*message.get("headers", []), *self._headers]}
                await send(message)

            await error_response(exc.code, exc.message, exc.details)(scope, receive, with_headers)
            return
        headers = [(b"content-type", kind), (b"content-length", b"%d" % len(body)), (b"cache-control", cache),
                   *self._headers]  # fmt: skip
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def answer(self, lecture_id: str, name: str, token: str | None) -> tuple[bytes, bytes, bytes]:
        """(content type, cache control, body) of one file for the token's viewer; the route's refusals."""
        claims = self.tokens.verify(token, lecture_id)
        door.servable(name)
        folder = self.files.root / claims.lecture_id
        if name in media.PLAYLISTS:
            assert token is not None  # verify refused a missing one
            slots, cache = self._playlist(folder / name, name)
            return door.PLAYLIST_TYPE.encode(), cache, token.join(slots).encode()
        read = self.cache.read(str(folder / name))
        if read is None:
            raise door.no_file(name)
        door.count_view(self.files.times, self.files.views, claims, folder, name)
        return door.media_type(name).encode(), door.SEGMENT_CACHE.encode(), read[1]

    def _playlist(self, path: Path, name: str) -> tuple[list[str], bytes]:
        key = str(path)
        read = self.cache.read(key)
        if read is None:
            raise door.no_playlist(name)
        stamp, data = read
        known = self._slots.get(key)
        if known is None or known[0] != stamp:
            text = data.decode("utf-8")
            known = (stamp, media.token_slots(text), door.playlist_cache(name, text).encode())
            self._slots.pop(key, None)
            self._slots[key] = known
            if len(self._slots) > PLAYLISTS_KEPT:
                del self._slots[next(iter(self._slots))]
        return known[1], known[2]


def _token(query_string: bytes) -> str | None:
    """The last `t` of the query, as FastAPI reads a single-valued parameter."""
    found = None
    for key, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        if key == "t":
            found = value
    return found


async def _never(scope: Scope, receive: Receive, send: Send) -> None:  # pragma: no cover - a label, never routed
    raise AssertionError("the HLS door's route object only names the route for metrics")

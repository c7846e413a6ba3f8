"""Activities of the lecture workflow: recording a step (one transaction), closing the live room, publishing the
recording as the replay (no re-encoding: the live segments under a VOD playlist), and the attendance tally."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.ext.asyncio import AsyncEngine
from temporalio import activity

from yilian.db.engine import reading
from yilian.db.queries import consult as consult_queries
from yilian.db.queries import lectures as q
from yilian.domain import lecture_media as media
from yilian.domain.errors import ErrorCode, YilianError
from yilian.domain.lecture import Standing, earns_credit
from yilian.domain.lecture_io import (
    LectureActivity,
    LectureRef,
    RecordLectureStepInput,
    ReplayResult,
    TallyInput,
    TallyResult,
)
from yilian.domain.notice import NoticeKind, notice_params
from yilian.domain.referral_io import Audience, NotifyInput
from yilian.notify import dispatch
from yilian.notify.port import Notifier

log = logging.getLogger(__name__)
CONTROL_TIMEOUT = httpx.Timeout(5.0)


class LectureActivities:
    """Bound to one engine, the lecture media root and the live processes' secret; every method is idempotent."""

    def __init__(self, engine: AsyncEngine, notifiers: list[Notifier], media_root: Path, live_secret: str) -> None:
        self._engine = engine
        self._notifiers = notifiers
        self._media_root = media_root
        self._live_secret = live_secret

    @activity.defn(name=LectureActivity.RECORD_STEP)
    async def record_step(self, inp: RecordLectureStepInput) -> bool:
        """Audit event, projection and notices: all or nothing, once per (lecture, step)."""
        e = inp.event
        async with self._engine.begin() as conn:
            details = dict(inp.details)
            registered = await q.registered_ids(conn, e.lecture_id) if any(n.registered for n in inp.notes) else []
            step = f"{e.lecture_id}/{e.seq}"
            audiences = [(n, sorted({*n.user_ids, *(registered if n.registered else [])})) for n in inp.notes]
            notices = [
                NotifyInput(f"{step}/{n.kind}", "", n.kind, Audience(user_ids=who), e.at, dict(n.params))
                for n, who in audiences
                if who
            ]
            if told := await dispatch.notify_all(conn, self._notifiers, notices):
                details["notified"] = told
            return await q.record_step(conn, inp, details)

    @activity.defn(name=LectureActivity.CLOSE_ROOM)
    async def close_room(self, inp: LectureRef) -> bool:
        """Close the lecture's room on the live process it is pinned to, which finalises the recording (live.m3u8
        ended, replay.m3u8 and chapters.json written). A process that restarted and no longer knows the room gets it
        opened again with the same lecture id first, which recovers the directory, then closed. No pin: the room
        never opened (nobody published), nothing to close. False when the process does not answer (publishing then
        makes the replay from the live playlist)."""
        room = media.room_id(inp.lecture_id)
        async with reading(self._engine) as conn:
            url = await consult_queries.pinned(conn, room)
        if url is None:
            return False
        headers = {"Authorization": f"Bearer {self._live_secret}"}
        try:
            async with httpx.AsyncClient(timeout=CONTROL_TIMEOUT) as client:
                answer = await client.delete(f"{url}/rooms/{room}", headers=headers)
                if answer.status_code == 404:
                    await client.put(f"{url}/rooms/{room}", json={"lecture_id": inp.lecture_id}, headers=headers)
                    answer = await client.delete(f"{url}/rooms/{room}", headers=headers)
        except httpx.HTTPError as exc:
            log.warning("lecture %s: live process %s did not answer the close (%s)", inp.lecture_id, url, exc)
            return False
        return answer.status_code < 300

    @activity.defn(name=LectureActivity.PUBLISH_REPLAY)
    async def publish_replay(self, inp: LectureRef) -> ReplayResult:
        """The replay playlist: the packager's own when it wrote one, else the live playlist made VOD (the same
        segments). Nothing recorded: zero seconds."""
        folder = self._media_root / inp.lecture_id
        replay, live = folder / media.REPLAY_PLAYLIST, folder / media.LIVE_PLAYLIST
        if not replay.exists() and live.exists():
            text = media.replay_from_live(live.read_text(encoding="utf-8"))
            tmp = folder / f".{media.REPLAY_PLAYLIST}.{os.getpid()}.tmp"
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(replay)
        if not replay.exists():
            return ReplayResult(0.0, 0, 0)
        found = media.segments(replay.read_text(encoding="utf-8"))
        chapters = 0
        with_chapters = folder / media.CHAPTERS
        if with_chapters.exists():
            try:
                loaded = json.loads(with_chapters.read_text(encoding="utf-8"))
                chapters = len(loaded.get("chapters", loaded) if isinstance(loaded, dict) else loaded)
            except (ValueError, TypeError):
                chapters = 0
        return ReplayResult(round(sum(s.seconds for s in found), 3), len(found), chapters)

    @activity.defn(name=LectureActivity.TALLY)
    async def tally(self, inp: TallyInput) -> TallyResult:
        """Each doctor's standing against the credit rule; credits for those who earn one (once each), and a notice."""
        async with self._engine.begin() as conn:
            row = await q.get(conn, inp.lecture_id)
            if row is None:
                raise YilianError(ErrorCode.NOT_FOUND, f"no lecture {inp.lecture_id}")
            has_quiz = bool(q.quiz_of(row).questions)
            found = await q.standings(conn, inp.lecture_id, inp.user_ids)
            earned: list[dict[str, Any]] = []
            for s in found:
                passed = bool(s["quiz_passed"]) if has_quiz else None
                standing = Standing(float(s["watched_seconds"]), inp.recorded_seconds, passed)
                if earns_credit(standing, inp.threshold):
                    earned.append({"user_id": s["user_id"], "hospital_id": s["hospital_id"], "credit": inp.credit,
                                   "watched_seconds": standing.watched_seconds, "quiz_passed": passed})  # fmt: skip
            now = datetime.now(UTC)
            new = await q.award(conn, inp.lecture_id, earned, now)
            for user_id in new:
                params = notice_params(NoticeKind.LECTURE_CREDIT, lecture_id=inp.lecture_id, title=row["title"],
                                       credit=f"{inp.credit:g}")  # fmt: skip
                note = NotifyInput(f"{inp.lecture_id}/credit/{user_id}", "", NoticeKind.LECTURE_CREDIT,
                                   Audience(user_ids=[user_id]), now, params)  # fmt: skip
                await dispatch.notify(conn, self._notifiers, note)
        return TallyResult(len(found), len(new), new)

    def all(self) -> list[Callable[..., Any]]:
        return [self.record_step, self.close_room, self.publish_replay, self.tally]

"""A consult's recordings: the consent set handed to its live room, and the WebM files the room wrote, as its
participants play them afterwards (docs/consults.md "Recording").

The live process writes one WebM per publisher under `Settings.recordings_root()/consults/<consult_id>/`, only
while everyone in the room consented; the API serves them from the same root (one host, or a shared mount).
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from yilian.api.live_door import LiveProcesses, LiveUnavailable
from yilian.db.engine import reading
from yilian.db.queries import consult as q
from yilian.domain.errors import ErrorCode, YilianError
from yilian.live.protocol import RecordingInfo, StartRecording

log = logging.getLogger(__name__)
# recording.py names them <n>-<user id>-<participant id>.webm
FILE_NAME = re.compile(r"^(?P<n>\d{3,})-(?P<user>[A-Za-z0-9._-]+)-(?P<participant>p\d+-[0-9a-f]{8})\.webm$")


def directory(consult_id: str) -> str:
    """Where the room writes, relative to the recordings root."""
    return f"consults/{consult_id}"


@dataclass(frozen=True)
class RecordedFile:
    name: str
    user_id: str
    bytes: int
    modified_at: datetime


def files(root: Path, consult_id: str) -> list[RecordedFile]:
    found = []
    folder = root / directory(consult_id)
    for path in sorted(folder.glob("*.webm")) if folder.is_dir() else []:
        m = FILE_NAME.match(path.name)
        if m is None:
            continue
        stat = path.stat()
        found.append(RecordedFile(path.name, m["user"], stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC)))
    return found


def file_path(root: Path, consult_id: str, name: str) -> Path:
    """The file of that name in the consult's recordings; 404 for any other name."""
    path = root / directory(consult_id) / name
    if FILE_NAME.match(name) is None or not path.is_file():
        raise YilianError(ErrorCode.NOT_FOUND, f"no recording {name} of consult {consult_id}")
    return path


async def hand_consents_to_room(engine: AsyncEngine, processes: LiveProcesses, consult_id: str) -> RecordingInfo | None:
    """Arm the room's recording with who consented now (the room pauses itself for anyone else). None when the room
    is not open on a live process: its next join hands them over."""
    async with reading(engine) as conn:
        consents = await q.consents(conn, consult_id)
    if not consents:
        return None  # nobody has said anything: the room is not armed
    consented = sorted(user for user, yes in consents.items() if yes)
    body = StartRecording(directory=directory(consult_id), consented=consented)
    try:
        return await processes.arm_recording(engine, consult_id, body)
    except LiveUnavailable as exc:  # consent is recorded; the room gets it at the next join
        log.warning("consult %s: consents not handed to the room (%s)", consult_id, exc)
        return None

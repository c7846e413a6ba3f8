"""The uploader's own STOW-RS connection against the httpx path it replaced: the same request, answers, failures."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.support import dicom_gen
from yilian.gateway import uploader
from yilian.gateway.queue import InstanceQueue, drop_cached_pages
from yilian.gateway.settings import GatewaySettings
from yilian.gateway.stow import Verdict, stow_body
from yilian.gateway.stow_connection import (
    StowConnectFailed,
    StowConnection,
    StowConnectionBroke,
    StowTimedOut,
    direct_connection_possible,
)
from yilian.gateway.uploader import DirectSender, upload_batch

OK = b"HTTP/1.1 200 OK\r\nContent-Type: application/dicom+json\r\nContent-Length: 2\r\n\r\n{}"


@dataclass
class Request:
    head: dict[str, str]
    body: bytes


@dataclass
class Cloud:
    """A raw HTTP/1.1 server on a thread: records each request whole and answers what `answer` says."""

    answer: Callable[[Request], bytes | None] = lambda _: OK  # None: close the connection without an answer
    keep_alive: bool = True
    requests: list[Request] = field(default_factory=list)
    connections: int = 0
    sock: socket.socket = field(default_factory=lambda: socket.create_server(("127.0.0.1", 0)))
    open: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.open.append(conn)
            threading.Thread(target=self._connection, args=(conn,), daemon=True).start()

    def drop_idle(self) -> None:
        """Close every connection from the server's side, as a server does with idle keep-alive ones."""
        for conn in self.open:
            conn.shutdown(socket.SHUT_RDWR)

    def _connection(self, conn: socket.socket) -> None:
        reader = conn.makefile("rb")
        try:
            while True:
                line = reader.readline()
                if not line:
                    return
                head = {"request-line": line.decode().strip()}
                while (line := reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.decode().partition(":")
                    head[name.strip().lower()] = value.strip()
                request = Request(head, reader.read(int(head.get("content-length", "0"))))
                self.requests.append(request)
                answer = self.answer(request)
                if answer is None:
                    return
                conn.sendall(answer)
                if not self.keep_alive:
                    return
        except OSError:
            return
        finally:
            reader.close()
            conn.close()


@pytest.fixture
def cloud() -> Iterator[Cloud]:
    server = Cloud()
    threading.Thread(target=server.serve, daemon=True).start()
    yield server
    server.sock.close()


@pytest.fixture
def files(tmp_path: Path) -> list[Path]:
    series = dicom_gen.ct_series(3, 64, 64)
    return [dicom_gen.write(ds, tmp_path / f"{i}.dcm") for i, ds in enumerate(series)]


def _headers(content_type: str, length: int) -> dict[str, str]:
    return {
        "Content-Type": content_type,
        "Content-Length": str(length),
        "Accept": "application/dicom+json",
        "Authorization": "Bearer key-1",
    }


def _connection(url: str, timeout: float = 5.0) -> StowConnection:
    return StowConnection(f"{url}/dicomweb/studies", tls=None, timeout=timeout, connect_timeout=5.0)


async def test_the_cloud_receives_the_same_request_as_through_httpx(cloud: Cloud, files: list[Path]) -> None:
    body = stow_body(files)
    headers = _headers(body.content_type, body.length)
    async with httpx.AsyncClient() as client:
        through_httpx = await client.post(f"{cloud.url}/dicomweb/studies", content=body.stream(), headers=headers)
    direct = await asyncio.to_thread(_connection(cloud.url).post, body, headers)

    assert (through_httpx.status_code, through_httpx.content) == (direct.status_code, direct.content) == (200, b"{}")
    old, new = cloud.requests
    assert new.body == old.body  # byte for byte
    assert b"".join(p if isinstance(p, bytes) else p[0].read_bytes() for p in body.pieces()) == old.body
    assert len(new.body) == body.length
    same = ("request-line", "host", "content-type", "content-length", "accept", "authorization")
    assert {k: new.head[k] for k in same} == {k: old.head[k] for k in same}
    assert new.head["request-line"] == "POST /dicomweb/studies HTTP/1.1"
    assert "transfer-encoding" not in new.head
    assert new.head["accept-encoding"] == "identity"  # an answer we need not decode


async def test_one_connection_carries_the_requests_and_a_closed_one_is_replaced(
    cloud: Cloud, files: list[Path]
) -> None:
    connection = _connection(cloud.url)
    for _ in range(3):
        body = stow_body(files)
        assert (
            await asyncio.to_thread(connection.post, body, _headers(body.content_type, body.length))
        ).status_code == 200
    assert cloud.connections == 1

    cloud.drop_idle()  # the server closes the idle connection: the next request goes on a new one, no error
    await asyncio.sleep(0.1)
    body = stow_body(files)
    assert (await asyncio.to_thread(connection.post, body, _headers(body.content_type, body.length))).status_code == 200
    assert cloud.connections == 2
    assert len(cloud.requests) == 4
    connection.close()


async def test_connection_close_and_chunked_answers(cloud: Cloud, files: list[Path]) -> None:
    cloud.keep_alive = False
    head = b"HTTP/1.1 202 Accepted\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    chunked = head + b'3\r\n{"a\r\n2\r\n"}\r\n0\r\n\r\n'
    cloud.answer = lambda _: chunked
    connection = _connection(cloud.url)
    for _ in range(2):
        body = stow_body(files)
        answer = await asyncio.to_thread(connection.post, body, _headers(body.content_type, body.length))
        assert (answer.status_code, answer.content) == (202, b'{"a"}')
    assert cloud.connections == 2


async def test_failures_are_told_apart_as_httpx_told_them(cloud: Cloud, files: list[Path]) -> None:
    body = stow_body(files)
    headers = _headers(body.content_type, body.length)
    free = socket.socket()
    free.bind(("127.0.0.1", 0))
    refused_url = f"http://127.0.0.1:{free.getsockname()[1]}"
    free.close()
    with pytest.raises(StowConnectFailed) as refused:
        _connection(refused_url).post(body, headers)
    assert isinstance(refused.value.__cause__, ConnectionRefusedError)

    cloud.answer = lambda _: (time.sleep(1.0), OK)[1]
    with pytest.raises(StowTimedOut):
        _connection(cloud.url, timeout=0.3).post(body, headers)

    cloud.answer = lambda _: None  # read the request, then hang up without an answer
    with pytest.raises(StowConnectionBroke):
        _connection(cloud.url).post(body, headers)


def test_a_proxy_in_the_environment_keeps_httpx(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    assert direct_connection_possible("https://cloud.example")
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.hospital:3128")
    assert not direct_connection_possible("https://cloud.example")
    assert direct_connection_possible("http://127.0.0.1:8000")
    monkeypatch.setenv("ALL_PROXY", "http://proxy.hospital:3128")
    assert not direct_connection_possible("http://127.0.0.1:8000")


def _queue(tmp_path: Path, name: str, files: list[Path]) -> InstanceQueue:
    queue = InstanceQueue(tmp_path / name)
    for n, path in enumerate(files):
        queue.put(path.read_bytes(), sop_instance_uid=f"1.2.3.{n}", sop_class_uid="1.2", study_instance_uid="1.3")
    return queue


@pytest.mark.parametrize(
    ("answer", "sent", "error"),
    [
        (OK, 3, None),
        (b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n", 0, "is not accepting images now (HTTP 503)"),
        (None, 0, "broke: "),
    ],
)
async def test_a_lane_records_the_same_fates_and_words_on_both_paths(
    cloud: Cloud, files: list[Path], tmp_path: Path, answer: bytes | None, sent: int, error: str | None
) -> None:
    cloud.answer = lambda _: answer
    settings = GatewaySettings(cloud_url=cloud.url, api_key="key-1", spool_dir=tmp_path / "unused")
    snapshots = []
    async with httpx.AsyncClient() as client:
        for name, sender in (("httpx", None), ("direct", DirectSender.open(settings))):
            queue = _queue(tmp_path, name, files)
            batch = queue.next_batch(20, 1 << 30)
            delivered = await upload_batch(settings, queue, client, batch, sender)
            snapshots.append((delivered, queue.snapshot()))
            if sender is not None:
                sender.close()
            queue.close()
    (old_ok, old), (new_ok, new) = snapshots
    assert old_ok == new_ok == (sent > 0)
    assert old.sent == new.sent == sent
    assert old.queued == new.queued == 3 - sent
    if error is None:
        assert new.last_error is None
    else:
        assert old.last_error is not None and new.last_error is not None and error in new.last_error
        assert new.last_error.split(": ")[0] == old.last_error.split(": ")[0]
    if answer is not None:
        assert cloud.requests[-1].body.count(b"application/dicom") == 3


def _answer(status: str, dataset: dict[str, object]) -> bytes:
    body = json.dumps(dataset).encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/dicom+json\r\nContent-Length: {len(body)}\r\n\r\n".encode()
        + body
    )


def _referenced(*uids: str, reason: int | None = None) -> dict[str, object]:
    items = [
        {"00081155": {"vr": "UI", "Value": [uid]}} | ({"00081197": {"vr": "US", "Value": [reason]}} if reason else {})
        for uid in uids
    ]
    return {"vr": "SQ", "Value": items}


# One answer per request, in order, for the seven instances 1.2.3.0-6 taken 3 at a time (1.2.3.6's file is gone):
# [0, 1, 2] 202: 0 stored, 1 refused, 2 not mentioned; [2, 3, 4] 400 blaming none, so one at a time: 2 200, 3 400,
# 4 503; [4, 5, 6] 6 missing, the connection dropped for 4 and 5; [4, 5] 200.
_SCRIPT: list[bytes | None] = [
    _answer("202 Accepted", {"00081199": _referenced("1.2.3.0"), "00081198": _referenced("1.2.3.1", reason=0xC000)}),
    _answer("400 Bad Request", {}),
    _answer("200 OK", {}),
    _answer("400 Bad Request", {}),
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n",
    None,
    OK,
]
# (uid, state, attempts, last_error or its start) after the script, on either path
_EXPECTED_ROWS = [
    ("1.2.3.0", "sent", 1, None),
    ("1.2.3.1", "failed", 1, "the cloud refused it: the cloud cannot understand the instance (C000)"),
    ("1.2.3.2", "sent", 2, None),
    ("1.2.3.3", "failed", 1, "the cloud refused the request (HTTP 400)"),
    ("1.2.3.4", "sent", 3, None),
    ("1.2.3.5", "sent", 2, None),
    ("1.2.3.6", "failed", 1, "the spooled file "),
]


async def test_a_sequence_of_batches_leaves_the_same_rows_on_both_paths(cloud: Cloud, tmp_path: Path) -> None:
    """Answers of every kind, a split batch and a missing file, batch after batch as a lane takes them: the queue's
    rows (state, attempts, error, what was sent and when relative to the rest) end the same through httpx and
    through the lane's own thread, and as listed."""
    series = dicom_gen.ct_series(7, 32, 32)
    files = [dicom_gen.write(ds, tmp_path / f"s{i}.dcm") for i, ds in enumerate(series)]
    settings = GatewaySettings(cloud_url=cloud.url, api_key="key-1", spool_dir=tmp_path / "unused")
    tables, deliveries = [], []
    async with httpx.AsyncClient() as client:
        for name, sender in (("httpx", None), ("direct", DirectSender.open(settings))):
            script = iter(_SCRIPT)
            cloud.answer = lambda _, script=script: next(script)  # type: ignore[misc]
            queue = _queue(tmp_path, f"seq-{name}", files)
            queue.next_batch(20, 1 << 30)[6].path.unlink()  # 1.2.3.6's file is gone before it is sent
            delivered = []
            while batch := queue.next_batch(3, 1 << 30):
                delivered.append(await upload_batch(settings, queue, client, batch, sender))
            deliveries.append(delivered)
            tables.append(_rows(queue))
            if sender is not None:
                sender.close()
            queue.close()
    assert deliveries[0] == deliveries[1] == [True, False, False, True]
    assert tables[0] == tables[1]
    assert [(uid, state, attempts) for uid, state, attempts, _, _ in tables[1]] == [
        (uid, state, attempts) for uid, state, attempts, _ in _EXPECTED_ROWS
    ]
    for (_, _, _, error, _), (_, _, _, expected) in zip(tables[1], _EXPECTED_ROWS, strict=True):
        assert (error is None) if expected is None else (error or "").startswith(expected)


def _rows(queue: InstanceQueue) -> list[tuple[object, ...]]:
    """Each row's fate; sent_at as its rank (the runs happen at other moments), the row's own file (its name is
    a blank's, random) as <its file>."""
    with sqlite3.connect(queue.spool_dir / "queue.sqlite3") as db:
        rows = db.execute(
            "SELECT sop_instance_uid, state, attempts, last_error, sent_at, path FROM instance ORDER BY id"
        ).fetchall()
    sent_order = sorted((at, uid) for uid, _, _, _, at, _ in rows if at is not None)
    rank = {uid: n for n, (_, uid) in enumerate(sent_order)}
    return [
        (uid, state, attempts, error and error.replace(str(queue.spool_dir / path), "<its file>"), rank.get(uid))
        for uid, state, attempts, error, _, path in rows
    ]


async def test_closing_from_another_thread_ends_a_request_the_cloud_holds(cloud: Cloud, files: list[Path]) -> None:
    """A stopping gateway closes the lanes' connections; a request waiting on a silent cloud ends at once, not at
    its timeout (the worker thread would otherwise hold the process's exit for up to 120 s)."""
    arrived, answered = threading.Event(), threading.Event()
    cloud.answer = lambda _: (arrived.set(), answered.wait(10), OK)[2]
    connection = _connection(cloud.url, timeout=30.0)
    body = stow_body(files)
    posting = asyncio.ensure_future(asyncio.to_thread(connection.post, body, _headers(body.content_type, body.length)))
    assert await asyncio.to_thread(arrived.wait, 5)
    await asyncio.sleep(0.3)  # the worker is now blocked reading the answer
    started = time.monotonic()
    connection.close()
    with pytest.raises(StowConnectionBroke):
        await posting
    assert time.monotonic() - started < 2.0
    answered.set()


async def test_a_header_http_cannot_carry_fails_the_request_not_the_lane(cloud: Cloud, files: list[Path]) -> None:
    body = stow_body(files)
    headers = _headers(body.content_type, body.length) | {"Authorization": "Bearer key-1\r\nX-Injected: 1"}
    with pytest.raises(StowConnectionBroke, match="check YILIAN_GATEWAY_API_KEY"):
        _connection(cloud.url).post(body, headers)
    assert cloud.requests == []


def test_a_batch_splits_into_its_files_still_there_and_the_missing_ones_in_order(tmp_path: Path) -> None:
    series = dicom_gen.ct_series(6, 16, 16)
    queue = _queue(tmp_path, "split", [dicom_gen.write(ds, tmp_path / f"m{i}.dcm") for i, ds in enumerate(series)])
    try:
        batch = queue.next_batch(20, 1 << 30)
        for gone in (batch[4], batch[1]):
            gone.path.unlink()
        present, missing = uploader._split_missing(batch)
    finally:
        queue.close()
    assert present == [batch[0], batch[2], batch[3], batch[5]]
    assert list(missing.items()) == [
        (item.id, f"the spooled file {item.path} is missing; ask the modality to send it again")
        for item in (batch[1], batch[4])
    ]


async def test_a_spooled_file_removed_after_the_body_was_made_is_retried_later(
    cloud: Cloud, files: list[Path], tmp_path: Path
) -> None:
    settings = GatewaySettings(cloud_url=cloud.url, api_key="key-1", spool_dir=tmp_path / "spool")
    queue = _queue(tmp_path, "spool", files)
    batch = queue.next_batch(20, 1 << 30)
    body = stow_body([item.path for item in batch])
    batch[1].path.unlink()
    connection = StowConnection(settings.stow_url, tls=None, timeout=5.0, connect_timeout=5.0)
    try:
        with pytest.raises(FileNotFoundError) as raised:  # what `_post_direct` turns into a retry, as below
            connection.post(body, _headers(body.content_type, body.length))
        result = uploader._post_direct(settings, connection, batch)  # the file gone before the body is made
    finally:
        connection.close()
        queue.close()
    assert raised.value.filename == str(batch[1].path)
    assert result.verdict is Verdict.TRANSIENT
    assert result.error == f"a spooled file vanished while sending: {batch[1].path}"


def _resident_pages(path: Path) -> int:
    """Pages of the file in the page cache: mincore(2) over a read-only mapping of it."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    size = path.stat().st_size
    vec = (ctypes.c_ubyte * -(-size // mmap.PAGESIZE))()
    fd = os.open(path, os.O_RDONLY)
    try:
        base = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert base not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
        try:
            assert libc.mincore(ctypes.c_void_p(base), ctypes.c_size_t(size), vec) == 0, ctypes.get_errno()
        finally:
            libc.munmap(ctypes.c_void_p(base), ctypes.c_size_t(size))
    finally:
        os.close(fd)
    return sum(v & 1 for v in vec)


async def test_a_lane_gives_back_the_page_cache_of_what_the_cloud_stored_one_batch_later(
    cloud: Cloud, tmp_path: Path
) -> None:
    """A lane's next answer frees the page cache of its last batch's stored files (the next spooled write reuses
    the pages), not of a refused one; every file keeps its bytes and rows their fates. Through httpx (a proxy)
    nothing is dropped."""
    series = dicom_gen.ct_series(3, 256, 256)
    files = [dicom_gen.write(ds, tmp_path / f"p{i}.dcm") for i, ds in enumerate(series)]
    answers = iter(
        [
            _answer(
                "202 Accepted", {"00081199": _referenced("1.2.3.0"), "00081198": _referenced("1.2.3.1", reason=0xC000)}
            ),
            OK,
        ]
        * 2
    )
    cloud.answer = lambda _: next(answers)
    settings = GatewaySettings(cloud_url=cloud.url, api_key="key-1", spool_dir=tmp_path / "unused")
    resident = {}
    async with httpx.AsyncClient() as client:
        for name, sender in (("httpx", None), ("direct", DirectSender.open(settings))):
            queue = _queue(tmp_path, f"pages-{name}", files)
            first = queue.next_batch(2, 1 << 30)
            spooled = [item.path.read_bytes() for item in first]
            assert all(_resident_pages(item.path) > 0 for item in first)  # written and read just now
            assert await upload_batch(settings, queue, client, first, sender)
            second = queue.next_batch(1, 1 << 30)
            spooled += [item.path.read_bytes() for item in second]
            assert await upload_batch(settings, queue, client, second, sender)
            resident[name] = [_resident_pages(item.path) for item in first]
            assert [item.path.read_bytes() for item in first + second] == spooled == [p.read_bytes() for p in files]
            assert [row[:3] for row in _rows(queue)] == [
                ("1.2.3.0", "sent", 1),
                ("1.2.3.1", "failed", 1),
                ("1.2.3.2", "sent", 1),
            ]
            if sender is not None:
                sender.close()
            queue.close()
    assert resident["direct"][0] == 0
    assert resident["direct"][1] > 0 and resident["httpx"][0] > 0 and resident["httpx"][1] > 0


def test_dropping_pages_passes_over_a_file_already_gone(tmp_path: Path) -> None:
    kept = tmp_path / "kept.dcm"
    kept.write_bytes(b"\0" * 128 + b"DICM")
    drop_cached_pages([tmp_path / "pruned.dcm", kept])
    assert kept.read_bytes() == b"\0" * 128 + b"DICM"

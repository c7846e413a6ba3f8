"""The gateway as a hospital runs it: a `yilian gateway run` process, DCMTK modalities, a real HTTP STOW-RS receiver.

The receiver (`stow_receiver`) stands in for the cloud until the real `POST /dicomweb/studies` lands: it parses
multipart/related, answers per PS3.18 Annex I, treats an identical re-send as success (STOW-06), and can be cut
off (connection refused) or made to hang after storing, to show what a network cut or `kill -9` does.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import io
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset

from tests.support import dicom_gen
from yilian.dicom.multipart import MultipartReader, multipart_boundary

ROOT = Path(__file__).resolve().parents[2]
API_KEY = "county-hospital-key"
CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
T = TypeVar("T")

pytestmark = pytest.mark.skipif(shutil.which("storescu") is None, reason="DCMTK (storescu, echoscu) is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(look: Callable[[], T], ok: Callable[[T], bool], seconds: float, what: str) -> T:
    """Call `look` until `ok` of its value; at the deadline fail naming `what` and the last value seen."""
    deadline = time.monotonic() + seconds
    while not ok(value := look()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds} s waiting for {what}; last saw {value!r}")
        time.sleep(0.05)
    return value


# -- the cloud stand-in -------------------------------------------------------------------------------------------


@dataclass
class StowReceiver:
    """A real HTTP STOW-RS origin: per-instance Annex I answers, idempotent on identical bytes, can go down."""

    port: int
    api_key: str = API_KEY
    archive: dict[str, str] = field(default_factory=dict)  # SOP Instance UID -> SHA-256 of what was stored
    stores: Counter[str] = field(default_factory=Counter)  # how often each UID was stored as new
    receipts: Counter[str] = field(default_factory=Counter)  # how often each UID arrived at all
    requests: int = 0
    hang: threading.Event = field(default_factory=threading.Event)  # set: store, then hold the answer back
    hanging: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    _server: http.server.ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def up(self) -> None:
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                receiver._handle(self)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self._server = server

    def down(self) -> None:
        """Close the listening socket: the gateway now gets 'connection refused', as after a network cut."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def _handle(self, request: http.server.BaseHTTPRequestHandler) -> None:
        # Read the whole body before any answer: answering early and closing makes the client's write fail with
        # a broken pipe, and the gateway would see a broken connection instead of the 401.
        body = request.rfile.read(int(request.headers["Content-Length"]))
        if request.path != "/dicomweb/studies":
            return self._answer(request, 404, b"")
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return self._answer(request, 401, b'{"error": "unauthorised", "message": "unknown API key"}')
        content_type = request.headers.get("Content-Type", "")
        assert content_type.startswith('multipart/related; type="application/dicom"'), content_type
        assert request.headers.get("Accept") == "application/dicom+json"
        reader = MultipartReader(multipart_boundary(content_type))
        parts = reader.feed(body)
        reader.close()

        stored, failed = [], []
        with self._lock:
            self.requests += 1
            for part in parts:
                uid = str(dcmread(io.BytesIO(part.body), stop_before_pixels=True).SOPInstanceUID)
                sha = hashlib.sha256(part.body).hexdigest()
                self.receipts[uid] += 1
                if uid not in self.archive:
                    self.archive[uid] = sha
                    self.stores[uid] += 1
                    stored.append(uid)
                elif self.archive[uid] == sha:
                    stored.append(uid)  # the same instance again: success, stored once (STOW-06)
                else:
                    failed.append(uid)  # same UID, other bytes: a conflict kept for review
        if self.hang.is_set():
            self.hanging.set()
            self.release.wait(30)
        status = 200 if not failed else 202 if stored else 409
        self._answer(request, status, _annex_i_response(stored, failed))

    @staticmethod
    def _answer(request: http.server.BaseHTTPRequestHandler, status: int, body: bytes) -> None:
        try:
            request.send_response(status)
            request.send_header("Content-Type", "application/dicom+json")
            request.send_header("Content-Length", str(len(body)))
            request.end_headers()
            request.wfile.write(body)
        except OSError:
            pass  # the gateway was killed while we held the answer back


def _annex_i_response(stored: list[str], failed: list[str]) -> bytes:
    """Store Instances Response Module (PS3.18 Table I.2-1) as DICOM JSON."""
    response = Dataset()
    for keyword, uids in (("ReferencedSOPSequence", stored), ("FailedSOPSequence", failed)):
        items = []
        for uid in uids:
            item = Dataset()
            item.ReferencedSOPClassUID = CT_IMAGE_STORAGE
            item.ReferencedSOPInstanceUID = uid
            if keyword == "FailedSOPSequence":
                item.FailureReason = 0xA900
            items.append(item)
        if items:
            setattr(response, keyword, items)
    return response.to_json().encode()


@pytest.fixture
def stow_receiver() -> Iterator[StowReceiver]:
    receiver = StowReceiver(free_port())
    receiver.up()
    yield receiver
    receiver.release.set()
    receiver.down()


# -- the gateway process ------------------------------------------------------------------------------------------


@dataclass
class Gateway:
    spool: Path
    port: int
    env: dict[str, str]
    log: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        offset = self.log.stat().st_size if self.log.exists() else 0
        with self.log.open("ab") as log:
            process = self.process = subprocess.Popen(
                [sys.executable, "-m", "yilian.cli", "gateway", "run"], cwd=ROOT, env=self.env, stdout=log, stderr=log
            )
        wait_until(
            lambda: self.log.read_text()[offset:],
            lambda text: "listening on" in text or process.poll() is not None,
            20,
            "the gateway to listen (its log)",
        )
        assert process.poll() is None, self.log.read_text()

    def kill(self, signum: int = signal.SIGKILL) -> None:
        assert self.process is not None
        self.process.send_signal(signum)
        self.process.wait(10)

    def status(self) -> dict[str, Any]:
        out = subprocess.run(
            [sys.executable, "-m", "yilian.cli", "gateway", "status", "--json"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(json.loads(out.stdout))

    def status_text(self) -> str:
        out = subprocess.run(
            [sys.executable, "-m", "yilian.cli", "gateway", "status"],
            cwd=ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout

    def storescu(self, files: list[Path], calling_ae: str = "CT1") -> subprocess.CompletedProcess[str]:
        # DCMTK leaves Nagle on unless told; without this every C-STORE waits ~40 ms for a delayed ACK.
        return subprocess.run(
            ["storescu", "-v", "-aet", calling_ae, "-aec", "YILIAN_GW", "127.0.0.1", str(self.port), *map(str, files)],
            env={**os.environ, "TCP_NODELAY": "1"},
            capture_output=True,
            text=True,
            timeout=60,
        )

    def echoscu(self, calling_ae: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["echoscu", "-aet", calling_ae, "-aec", "YILIAN_GW", "127.0.0.1", str(self.port)],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def queue_rows(self) -> dict[str, str]:
        """The queue's rows: the SHA-256 each names, by the file's path relative to the spool."""
        with contextlib.closing(sqlite3.connect(f"{(self.spool / 'queue.sqlite3').as_uri()}?mode=ro", uri=True)) as db:
            return dict(db.execute("SELECT path, sha256 FROM instance"))

    def queued_files(self) -> list[Path]:
        """The spooled files that hold an instance (the empty ones are blanks made ahead, spool_blanks.py)."""
        return sorted(path for path in (self.spool / "instances").glob("*/*.dcm") if path.stat().st_size)


class GatewayMaker:
    """Makes (not starts) gateways spooling under `tmp_path`, each on a free port with the given
    `YILIAN_GATEWAY_<NAME>` settings; `close` kills any still running."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.made: list[Gateway] = []

    def make(self, cloud_url: str, api_key: str, **settings: str) -> Gateway:
        port = free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("YILIAN_")}
        env.update(
            YILIAN_GATEWAY_SPOOL_DIR=str(self.tmp_path / "spool"),
            YILIAN_GATEWAY_PORT=str(port),
            YILIAN_GATEWAY_CLOUD_URL=cloud_url,
            YILIAN_GATEWAY_API_KEY=api_key,
        )
        env.update({f"YILIAN_GATEWAY_{name}": value for name, value in settings.items()})
        gateway = Gateway(self.tmp_path / "spool", port, env, self.tmp_path / "gateway.log")
        self.made.append(gateway)
        return gateway

    def close(self) -> None:
        for gateway in self.made:
            if gateway.process is not None and gateway.process.poll() is None:
                gateway.kill()


@pytest.fixture
def gateway_for(tmp_path: Path) -> Iterator[Callable[..., Gateway]]:
    """Make (not start) a gateway pointed at a cloud URL, with test-sized backoff and batches; `settings` override
    any `YILIAN_GATEWAY_<NAME>`."""
    maker = GatewayMaker(tmp_path)

    def make(cloud_url: str, *, api_key: str = API_KEY, batch_size: int = 5, **settings: str) -> Gateway:
        return maker.make(
            cloud_url, api_key,
            **{
                "ALLOWED_CALLING_AES": "CT1, MR1",
                "BATCH_SIZE": str(batch_size),
                "BATCH_LINGER_SECONDS": "0.05",
                "BACKOFF_MIN_SECONDS": "0.1",
                "BACKOFF_MAX_SECONDS": "0.5",
                **settings,
            },
        )  # fmt: skip

    yield make
    maker.close()


@pytest.fixture(scope="module")
def ct_files(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    folder = tmp_path_factory.mktemp("ct")
    return [dicom_gen.write(ds, folder / f"{i:02d}.dcm") for i, ds in enumerate(dicom_gen.ct_series(20, 64, 64))]


def _uids(files: list[Path]) -> set[str]:
    return {str(dcmread(path, stop_before_pixels=True).SOPInstanceUID) for path in files}


# -- the tests ----------------------------------------------------------------------------------------------------


def test_c_echo_answers_allowed_modalities_and_other_ae_titles_are_rejected(
    gateway_for: Callable[..., Gateway], stow_receiver: StowReceiver, ct_files: list[Path]
) -> None:
    gateway = gateway_for(stow_receiver.url)
    gateway.start()

    assert gateway.echoscu("CT1").returncode == 0
    intruder = gateway.echoscu("INTRUDER")
    assert intruder.returncode != 0 and "Calling AE Title Not Recognized" in intruder.stderr
    refused = gateway.storescu(ct_files[:2], calling_ae="INTRUDER")
    assert refused.returncode != 0
    assert gateway.queued_files() == [] and gateway.status()["queued"] == 0


def test_an_instance_the_cloud_could_not_store_is_refused_at_the_modality_not_queued(
    gateway_for: Callable[..., Gateway], stow_receiver: StowReceiver, ct_files: list[Path], tmp_path: Path
) -> None:
    gateway = gateway_for(stow_receiver.url)
    gateway.start()
    broken = dcmread(ct_files[0])
    del broken.PixelData
    sent = gateway.storescu([dicom_gen.write(broken, tmp_path / "no-pixels.dcm")])

    assert sent.returncode != 0
    assert "Received Store Response (Error: DataSetDoesNotMatchSOPClass)" in sent.stderr + sent.stdout
    assert "PixelData is missing from an image" in gateway.log.read_text()
    assert gateway.queued_files() == [] and gateway.status()["queued"] == 0


def test_the_cloud_down_keeps_every_instance_acknowledged_on_disk_and_delivers_it_once_back_up(
    gateway_for: Callable[..., Gateway], stow_receiver: StowReceiver, ct_files: list[Path]
) -> None:
    stow_receiver.down()
    gateway = gateway_for(stow_receiver.url)
    gateway.start()

    sent = gateway.storescu(ct_files)
    assert sent.returncode == 0, sent.stderr
    # Acknowledged means on disk: every instance is already queued, its file durable, the cloud unreachable.
    status = gateway.status()
    assert (status["queued"], status["sent"], status["failed"]) == (20, 0, 0)
    spooled = gateway.queued_files()
    assert _uids(spooled) == _uids(ct_files)
    rows = gateway.queue_rows()  # each row names a file holding exactly the bytes of its SHA-256
    assert sorted(gateway.spool / path for path in rows) == spooled
    for path, sha256 in rows.items():
        assert hashlib.sha256((gateway.spool / path).read_bytes()).hexdigest() == sha256
    wait_until(gateway.status, lambda s: s["last_error"] is not None, 10, "the upload to fail")
    assert gateway.status()["last_error"] == f"cannot reach the cloud at {stow_receiver.url}: connection refused"
    time.sleep(1.0)  # several attempts with backoff while the cloud stays down
    assert gateway.log.read_text().count("retrying in") >= 3
    assert gateway.status()["queued"] == 20

    stow_receiver.up()
    wait_until(gateway.status, lambda s: s["sent"] == 20, 20, "delivery after the cloud came back")
    assert set(stow_receiver.archive) == _uids(ct_files)
    assert set(stow_receiver.stores.values()) == {1}
    # The 4 lanes woke together on a backlog of 4 batches: none of them sent what another lane was sending.
    assert set(stow_receiver.receipts.values()) == {1}
    status = gateway.status()
    assert (status["queued"], status["failed"]) == (0, 0)
    assert status["last_success_at"] is not None and status["last_error_is_current"] is False
    text = gateway.status_text()
    assert "queued   0" in text and "sent     20" in text and "deliveries have succeeded since" in text


def test_four_lanes_starting_on_a_backlog_send_each_instance_once(
    gateway_for: Callable[..., Gateway], stow_receiver: StowReceiver, ct_files: list[Path]
) -> None:
    stow_receiver.down()
    gateway = gateway_for(stow_receiver.url)
    gateway.start()
    assert gateway.storescu(ct_files).returncode == 0
    gateway.kill(signal.SIGTERM)
    stow_receiver.up()

    gateway.start()  # 4 lanes look at a backlog of 4 batches at the same moment
    wait_until(gateway.status, lambda s: s["sent"] == 20, 20, "delivery of the backlog")
    assert set(stow_receiver.archive) == _uids(ct_files)
    assert set(stow_receiver.receipts.values()) == {1}, stow_receiver.receipts  # no lane sent another lane's rows


def test_kill_9_mid_upload_then_restart_delivers_everything_and_stores_nothing_twice(
    gateway_for: Callable[..., Gateway], stow_receiver: StowReceiver, ct_files: list[Path]
) -> None:
    gateway = gateway_for(stow_receiver.url)
    # One lane, so the kill comes mid-upload: with four, a fast SCP can queue all 20 before the first request and
    # the four lanes then post every batch at once, each stored before it hangs (seen 1 run in 9 with the lean SCP).
    gateway.env["YILIAN_GATEWAY_UPLOAD_LANES"] = "1"
    stow_receiver.hang.set()  # store the first batch, then hold the answer: the gateway never learns it succeeded
    gateway.start()
    assert gateway.storescu(ct_files).returncode == 0
    assert stow_receiver.hanging.wait(10)
    gateway.kill(signal.SIGKILL)
    stow_receiver.hang.clear()
    stow_receiver.release.set()
    stored_before_restart = set(stow_receiver.archive)
    assert 0 < len(stored_before_restart) < 20

    gateway.start()
    wait_until(gateway.status, lambda s: s["sent"] == 20, 20, "delivery after the restart")
    assert set(stow_receiver.archive) == _uids(ct_files)
    assert set(stow_receiver.stores.values()) == {1}  # the archive holds each instance once
    assert all(stow_receiver.receipts[uid] >= 2 for uid in stored_before_restart)  # re-sent, idempotently
    status = gateway.status()
    assert (status["queued"], status["sent"], status["failed"]) == (0, 20, 0)

    gateway.kill(signal.SIGTERM)
    assert gateway.process is not None and gateway.process.returncode == 0


def test_a_wrong_api_key_keeps_the_data_and_says_so_and_a_conflicting_version_is_failed_with_its_reason(
    gateway_for: Callable[..., Gateway], stow_receiver: StowReceiver, ct_files: list[Path], tmp_path: Path
) -> None:
    wrong = gateway_for(stow_receiver.url, api_key="not-the-key")
    wrong.start()
    assert wrong.storescu(ct_files[:1]).returncode == 0
    wait_until(wrong.status, lambda s: s["last_error"] is not None, 10, "the cloud to refuse the key")
    status = wrong.status()
    assert status["last_error"].startswith("the cloud refused the gateway's API key (HTTP 401: unknown API key)")
    assert (status["queued"], status["sent"]) == (1, 0)
    wrong.kill(signal.SIGTERM)

    gateway = gateway_for(stow_receiver.url)
    gateway.start()
    wait_until(gateway.status, lambda s: s["sent"] == 1, 10, "delivery with the right key")

    changed = dcmread(ct_files[0])
    changed.SeriesDescription = "EDITED AT THE MODALITY"
    edited = dicom_gen.write(changed, tmp_path / "edited.dcm")
    assert gateway.storescu([edited]).returncode == 0
    wait_until(gateway.status, lambda s: s["failed"] == 1, 10, "the cloud to refuse the conflicting version")
    status = gateway.status()
    [failure] = status["recent_failures"]
    assert failure["sop_instance_uid"] == str(changed.SOPInstanceUID)
    assert failure["reason"] == (
        "the cloud refused it: the data set does not match its SOP class or conflicts with what the cloud holds (A900)"
    )
    assert status["last_error"].startswith(failure["reason"])
    assert stow_receiver.stores[str(changed.SOPInstanceUID)] == 1


def _acknowledged(storescu_output: str) -> set[str]:
    """The files `storescu -v` was told Success for (each "Sending file" is answered before the next is sent)."""
    acknowledged, current = set(), None
    for line in storescu_output.splitlines():
        if "Sending file: " in line:
            current = line.split("Sending file: ", 1)[1].strip()
        elif "Received Store Response (Success)" in line and current is not None:
            acknowledged.add(current)
    return acknowledged


def test_four_associations_at_once_are_acknowledged_only_once_durable_and_a_kill_9_loses_none_of_them(
    gateway_for: Callable[..., Gateway], stow_receiver: StowReceiver, tmp_path: Path
) -> None:
    stow_receiver.down()  # everything stays in the spool
    gateway = gateway_for(stow_receiver.url)
    gateway.start()
    folder = tmp_path / "modalities"
    folder.mkdir()
    series = dicom_gen.ct_series(160, 64, 64)
    groups = [
        [dicom_gen.write(ds, folder / f"{i:03d}.dcm") for i, ds in enumerate(series) if i % 4 == a] for a in range(4)
    ]
    senders = [
        subprocess.Popen(
            ["storescu", "-v", "-aet", "CT1", "-aec", "YILIAN_GW", "127.0.0.1", str(gateway.port), *map(str, files)],
            env={**os.environ, "TCP_NODELAY": "1"},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for files in groups
    ]
    database = f"{(gateway.spool / 'queue.sqlite3').as_uri()}?mode=ro"

    def rows() -> int:
        with contextlib.closing(sqlite3.connect(database, uri=True)) as db:
            return int(db.execute("SELECT count(*) FROM instance").fetchone()[0])

    # Each association has at most one instance committed but not yet answered (storescu sends the next file only
    # after the answer), so 24 rows mean at least 20 acknowledged; 20 rows left it to chance (18-19 acknowledged in
    # 1 of 3 runs on main, more often once the SCP answered faster).
    wait_until(rows, lambda n: n >= 24, 30, "some instances to be queued")
    gateway.kill(signal.SIGKILL)  # mid-transfer: the four associations break
    acknowledged: set[str] = set()
    for sender in senders:
        out, _ = sender.communicate(timeout=60)
        acknowledged |= _acknowledged(out)
    assert len(acknowledged) >= 20

    gateway.start()  # recovery first: what was never acknowledged may be dropped, nothing acknowledged may be
    spooled = {str(dcmread(path, stop_before_pixels=True).SOPInstanceUID): path for path in gateway.queued_files()}
    named = {gateway.spool / path: sha256 for path, sha256 in gateway.queue_rows().items()}
    for file in acknowledged:
        uid = str(dcmread(file, stop_before_pixels=True).SOPInstanceUID)
        assert uid in spooled, f"{file} was acknowledged but is not in the queue after kill -9"
        assert hashlib.sha256(spooled[uid].read_bytes()).hexdigest() == named[spooled[uid]]  # whole, not torn
        assert dcmread(spooled[uid]).PixelData == dcmread(file).PixelData
    assert gateway.status()["queued"] == len(spooled) >= len(acknowledged)

"""The lean storage SCP (gateway.storage_scp) against pynetdicom's, side by side in one process: the same bytes back
for the same A-ASSOCIATE-RQs and DIMSE messages, the same files queued from DCMTK and pynetdicom senders (several
transfer syntaxes, 4 KiB PDUs), an A-ABORT for broken PDUs mid-association, and the two timeouts."""

from __future__ import annotations

import contextlib
import hashlib
import io
import shutil
import socket
import sqlite3
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset
from pynetdicom import AE
from pynetdicom.dimse_messages import C_ECHO_RQ, C_STORE_RQ
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.pdu import P_DATA_TF
from pynetdicom.sop_class import CTImageStorage, MRImageStorage, Verification  # type: ignore[attr-defined]
from pynetdicom.transport import ThreadedAssociationServer

from tests.support import dicom_gen
from yilian.gateway import storage_scp
from yilian.gateway.queue import InstanceQueue
from yilian.gateway.scp import start_scp
from yilian.gateway.settings import GatewaySettings
from yilian.gateway.storage_scp import LeanAssociationServer

CT = "1.2.840.10008.5.1.4.1.1.2"
IMPLICIT, EXPLICIT, BIG, DEFLATED = (
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
)
JPEG_LOSSLESS = "1.2.840.10008.1.2.4.70"
VERIFICATION = "1.2.840.10008.1.1"
NEEDS_DCMTK = pytest.mark.skipif(shutil.which("storescu") is None, reason="DCMTK (storescu) is not installed")


@dataclass
class Scp:
    mode: str
    server: ThreadedAssociationServer
    spool: Path

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def queued(self) -> dict[str, bytes]:
        """Queued files by SOP Instance UID."""
        return {
            str(dcmread(path, stop_before_pixels=True).SOPInstanceUID): path.read_bytes()
            for path in (self.spool / "instances").glob("*/*.dcm")
            if path.stat().st_size  # the empty ones are blanks made ahead (spool_blanks.py)
        }


@pytest.fixture
def scps(tmp_path: Path) -> Iterator[Callable[..., dict[str, Scp]]]:
    """Start a lean and a pynetdicom SCP with the same settings; both are shut down at the end."""
    started: list[tuple[ThreadedAssociationServer, InstanceQueue]] = []

    def start(**settings: object) -> dict[str, Scp]:
        out = {}
        for mode in ("lean", "pynetdicom"):
            spool = tmp_path / f"{mode}-{len(started)}"
            config = GatewaySettings(
                port=0,
                scp=mode,
                spool_dir=spool,
                allowed_calling_aes=["CT1"],
                **settings,  # type: ignore[arg-type]
            )
            queue = InstanceQueue(spool)
            queue.recover()
            server = start_scp(config, queue, lambda: None)
            started.append((server, queue))
            out[mode] = Scp(mode, server, spool)
        assert isinstance(out["lean"].server, LeanAssociationServer)
        assert not isinstance(out["pynetdicom"].server, LeanAssociationServer)
        return out

    yield start
    for server, queue in started:
        server.shutdown()
        queue.close()


# -- a raw requestor ----------------------------------------------------------------------------------------------


def _item(kind: int, body: bytes) -> bytes:
    return struct.pack(">BBH", kind, 0, len(body)) + body


def associate_rq(
    contexts: list[tuple[int, str, list[str]]],
    *,
    calling: bytes = b"CT1",
    max_pdu: int = 16384,
    extra_user_items: bytes = b"",
    version: bytes | None = b"RAW_SCU_1",
) -> bytes:
    """An A-ASSOCIATE-RQ (PS3.8 9.3.2) proposing `contexts` as (ID, abstract syntax, transfer syntaxes)."""
    presentation = b"".join(
        _item(
            0x20,
            bytes([cx_id, 0, 0, 0]) + _item(0x30, abstract.encode()) + b"".join(_item(0x40, t.encode()) for t in ts),
        )
        for cx_id, abstract, ts in contexts
    )
    user = _item(0x51, struct.pack(">I", max_pdu)) + _item(0x52, b"1.2.3.4.5.6")
    if version is not None:
        user += _item(0x55, version)
    body = (
        struct.pack(">HH", 1, 0)
        + b"YILIAN_GW".ljust(16)
        + calling.ljust(16)
        + bytes(32)
        + _item(0x10, b"1.2.840.10008.3.1.1.1")
        + presentation
        + _item(0x50, user + extra_user_items)
    )
    return struct.pack(">BBI", 0x01, 0, len(body)) + body


def read_pdu(sock: socket.socket) -> bytes:
    header = _read_exactly(sock, 6)
    if not header:
        return b""
    return header + _read_exactly(sock, struct.unpack(">I", header[2:])[0])


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            return data
        data += chunk
    return data


def read_response(sock: socket.socket) -> bytes:
    """PDUs up to and including the last fragment of a command (or any non-P-DATA PDU)."""
    out = b""
    while True:
        pdu = read_pdu(sock)
        out += pdu
        if not pdu or pdu[0] != 0x04 or pdu[11] & 0x03 == 0x03:
            return out


def store_message(context_id: int, sop_instance: str, dataset: bytes, max_pdu: int, message_id: int = 1) -> bytes:
    request = C_STORE()
    request.MessageID = message_id
    request.AffectedSOPClassUID = CT
    request.AffectedSOPInstanceUID = sop_instance
    request.Priority = 0
    request.DataSet = io.BytesIO(dataset)
    message = C_STORE_RQ()
    message.primitive_to_message(request)
    return b"".join(P_DATA_TF(pdu).encode() for pdu in message.encode_msg(context_id, max_pdu))


def echo_message(context_id: int, message_id: int = 1) -> bytes:
    request = C_ECHO()
    request.MessageID = message_id
    request.AffectedSOPClassUID = "1.2.840.10008.1.1"
    message = C_ECHO_RQ()
    message.primitive_to_message(request)
    return b"".join(P_DATA_TF(pdu).encode() for pdu in message.encode_msg(context_id, 0))


def conversation(port: int, steps: list[bytes], *, release: bool = True) -> list[bytes]:
    """Send each step and read its answer; end with A-RELEASE-RQ and its answer."""
    answers = []
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        for step in steps:
            sock.sendall(step)
            answers.append(read_pdu(sock) if step[0] == 0x01 else read_response(sock))
            if answers[-1][:1] in (b"\x03", b"\x07", b""):
                return answers
        if release:
            sock.sendall(struct.pack(">BBI", 0x05, 0, 4) + bytes(4))
            answers.append(read_pdu(sock))
    return answers


def _dataset(ds_bytes: bytes) -> bytes:
    """A Part 10 file's data set (after its File Meta)."""
    ds = dcmread(io.BytesIO(ds_bytes))
    meta_end = 132 + 12 + int(ds.file_meta.FileMetaInformationGroupLength)
    return ds_bytes[meta_end:]


# -- the tests ----------------------------------------------------------------------------------------------------

PROPOSALS = {
    "one CT, implicit only": [(1, CT, [IMPLICIT])],
    "CT, the requestor prefers JPEG lossless": [(1, CT, [JPEG_LOSSLESS, EXPLICIT, IMPLICIT])],
    "CT with an unknown transfer syntax only": [(1, CT, ["1.2.3.4.5.6.7"])],
    "CT with an unknown one first": [(1, CT, ["1.2.3.4.5.6.7", BIG, EXPLICIT])],
    "several contexts, odd IDs out of order": [
        (7, CT, [EXPLICIT]),
        (1, "1.2.840.10008.1.1", [IMPLICIT]),
        (3, str(MRImageStorage), [DEFLATED, IMPLICIT]),
        (5, CT, [BIG]),
    ],
}


@pytest.mark.parametrize("what", list(PROPOSALS))
def test_the_a_associate_ac_is_pynetdicoms(scps: Callable[..., dict[str, Scp]], what: str) -> None:
    pair = scps()
    rq = associate_rq(PROPOSALS[what])
    answers = {mode: conversation(scp.port, [rq]) for mode, scp in pair.items()}
    assert answers["lean"][0][0] == 0x02, answers["lean"]
    assert answers["lean"] == answers["pynetdicom"]


def test_repeated_requests_are_each_answered_as_pynetdicom_answers_them(
    scps: Callable[..., dict[str, Scp]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lean SCP remembers what an A-ASSOCIATE-RQ's bytes settle (LeanAssociationServer.negotiate). Requests
    that come again, interleaved with ones that differ only in the calling AE, the maximum PDU length (which cuts
    the C-ECHO-RSP into other PDUs), a transfer syntax or a context's ID, get pynetdicom's answers every time, also
    while the remembered ones are forgotten (two kept here)."""
    monkeypatch.setattr(storage_scp, "NEGOTIATIONS_KEPT", 2)
    pair = scps()
    echo = [(1, CT, [EXPLICIT]), (3, VERIFICATION, [IMPLICIT])]
    requests = [[associate_rq(proposal)] for proposal in PROPOSALS.values()] + [
        [associate_rq(echo, max_pdu=40), echo_message(3)],
        [associate_rq(echo, max_pdu=16384), echo_message(3)],
        [associate_rq(echo, calling=b"STRANGER"), echo_message(3)],
        [associate_rq([(1, CT, [IMPLICIT]), (3, VERIFICATION, [IMPLICIT])]), echo_message(3)],
        [associate_rq([(1, CT, [EXPLICIT]), (5, VERIFICATION, [IMPLICIT])]), echo_message(5)],
    ]
    for round_ in range(3):
        for steps in requests if round_ % 2 == 0 else reversed(requests):
            answers = {mode: conversation(scp.port, steps) for mode, scp in pair.items()}
            assert answers["lean"] == answers["pynetdicom"], (round_, steps[0])
    lean = pair["lean"].server
    assert isinstance(lean, LeanAssociationServer)
    rq = associate_rq(echo)
    assert lean.negotiate(rq) is lean.negotiate(rq)  # remembered: decoded and answered once


def test_a_whole_conversation_is_byte_for_byte_pynetdicoms(scps: Callable[..., dict[str, Scp]], tmp_path: Path) -> None:
    """Echo, stores fragmented at several PDU sizes, an unreadable and an incomplete data set (C000, A900 with
    their Error Comments), a CT on the MR context (judged by the handler, as pynetdicom does), a duplicate and the
    release: every byte back the same."""
    pair = scps()
    good = [dicom_gen.to_bytes(ds) for ds in dicom_gen.ct_series(3, 64, 64)]
    uids = [str(dcmread(io.BytesIO(b)).SOPInstanceUID) for b in good]
    steps = [
        associate_rq([(1, CT, [EXPLICIT]), (3, "1.2.840.10008.1.1", [IMPLICIT]), (5, str(MRImageStorage), [EXPLICIT])]),
        echo_message(3, message_id=9),
        store_message(1, uids[0], _dataset(good[0]), 16384, message_id=1),
        store_message(1, uids[1], _dataset(good[1]), 0, message_id=2),
        store_message(1, uids[2], _dataset(good[2]), 1000, message_id=3),
        store_message(1, "1.2.3.4", b"\x08\x00\x18\x00UI\xf0\xff1.2.3", 16384, message_id=4),
        # an empty data set: one empty last fragment (pynetdicom's SCU sends none, which would leave both waiting)
        store_message(1, "1.2.3.5", b"", 16384, message_id=5) + struct.pack(">BBIIBB", 0x04, 0, 6, 2, 1, 0x02),
        store_message(5, "1.2.3.6", _dataset(good[0]), 16384, message_id=6),  # a CT on the MR context
        store_message(1, uids[0], _dataset(good[0]), 16384, message_id=0xFFFF),  # again: a duplicate
    ]
    answers = {mode: conversation(scp.port, steps) for mode, scp in pair.items()}
    assert answers["lean"] == answers["pynetdicom"]
    statuses = [
        struct.unpack_from("<H", a, a.find(b"\x00\x00\x00\x09\x02\x00\x00\x00") + 8)[0] for a in answers["lean"][1:-1]
    ]
    assert statuses == [0x0000, 0x0000, 0x0000, 0x0000, 0xC000, 0xA900, 0xA900, 0x0000]
    assert answers["lean"][-1] == struct.pack(">BBI", 0x06, 0, 4) + bytes(4)
    lean, reference = pair["lean"].queued(), pair["pynetdicom"].queued()
    assert set(lean) == set(uids) and lean == reference


@NEEDS_DCMTK
@pytest.mark.parametrize(
    "options",
    [
        [],
        ["--max-pdu", "4096"],
        ["-xi"],
        ["-xb", "--max-pdu", "4096"],
        ["--propose-lossless"],
    ],
)
def test_storescu_queues_the_same_files(
    scps: Callable[..., dict[str, Scp]], tmp_path: Path, options: list[str]
) -> None:
    pair = scps()
    files = [dicom_gen.write(ds, tmp_path / f"{i}.dcm") for i, ds in enumerate(dicom_gen.ct_series(4, 64, 64))]
    outputs = {}
    for mode, scp in pair.items():
        sent = subprocess.run(
            ["storescu", "-v", "-aet", "CT1", "-aec", "YILIAN_GW", *options, "127.0.0.1", str(scp.port)]
            + [str(path) for path in files],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert sent.returncode == 0, sent.stderr
        outputs[mode] = [line for line in sent.stderr.splitlines() if "Transfer Syntax" in line or "Status" in line]
    assert outputs["lean"] == outputs["pynetdicom"]
    lean, reference = pair["lean"].queued(), pair["pynetdicom"].queued()
    assert len(lean) == len(files) and lean == reference


def test_a_pynetdicom_sender_with_several_transfer_syntaxes(scps: Callable[..., dict[str, Scp]]) -> None:
    pair = scps()
    results = {}
    for mode, scp in pair.items():
        ae = AE(ae_title="CT1")
        ae.add_requested_context(CTImageStorage, [BIG, IMPLICIT, EXPLICIT])
        ae.add_requested_context(Verification)
        ae.add_requested_context(MRImageStorage, [JPEG_LOSSLESS])
        assoc = ae.associate("127.0.0.1", scp.port, ae_title="YILIAN_GW")
        assert assoc.is_established
        ds = dicom_gen.ct_series(1, 32, 32)[0]
        store = assoc.send_c_store(ds)
        echo = assoc.send_c_echo()
        results[mode] = (
            [(cx.context_id, cx.abstract_syntax, cx.transfer_syntax, cx.result) for cx in assoc.accepted_contexts],
            [(cx.context_id, cx.result) for cx in assoc.rejected_contexts],
            int(store.Status),
            int(echo.Status),
        )
        assoc.release()
    assert results["lean"] == results["pynetdicom"]


@pytest.mark.parametrize(
    ("what", "pdu", "answer"),
    [
        ("an unknown PDU type", struct.pack(">BBI", 0x0A, 0, 4) + b"abcd", b"\x07"),
        ("a second A-ASSOCIATE-RQ", None, b"\x07"),
        ("a PDV longer than its PDU", struct.pack(">BBII", 0x04, 0, 8, 0x100) + b"\x01\x03ab", b"\x07"),
        (
            "a command set that cannot be read",
            struct.pack(">BBIIBB", 0x04, 0, 10, 6, 1, 0x03) + b"\xff\xff\xff\xff",
            b"\x07",
        ),
        ("a PDU claiming 1 GB", struct.pack(">BBI", 0x04, 0, 1 << 30), b"\x07"),
    ],
)
def test_a_broken_pdu_mid_association_is_aborted_and_the_scp_serves_on(
    scps: Callable[..., dict[str, Scp]], what: str, pdu: bytes | None, answer: bytes
) -> None:
    lean = scps()["lean"]
    rq = associate_rq([(1, CT, [EXPLICIT]), (3, "1.2.840.10008.1.1", [IMPLICIT])])
    with socket.create_connection(("127.0.0.1", lean.port), timeout=10) as sock:
        sock.sendall(rq)
        assert read_pdu(sock)[:1] == b"\x02"
        sock.sendall(pdu if pdu is not None else rq)
        got = read_pdu(sock)
        assert got[:1] == answer, f"{what}: {got!r}"
        assert sock.recv(16) == b"", f"{what}: the connection stayed open"
    answers = conversation(lean.port, [rq, echo_message(3)])
    assert answers[1][:1] == b"\x04" and answers[-1][:1] == b"\x06"


def test_anything_but_plain_storage_goes_to_pynetdicom(scps: Callable[..., dict[str, Scp]]) -> None:
    """Unknown abstract syntaxes, role selection or user identity items, a refused calling AE: pynetdicom answers,
    so the bytes are what they always were."""
    pair = scps()
    role_selection = _item(0x54, struct.pack(">H", len(CT)) + CT.encode() + b"\x01\x01")
    user_identity = _item(0x58, b"\x01\x00" + struct.pack(">H", 4) + b"user" + struct.pack(">H", 0))
    for rq in (
        associate_rq([(1, "1.2.840.10008.5.1.4.1.2.2.1", [IMPLICIT])]),  # Study Root C-FIND
        associate_rq([(1, CT, [IMPLICIT]), (3, "1.2.3.4.5", [IMPLICIT])]),
        associate_rq([(1, CT, [IMPLICIT])], extra_user_items=role_selection),
        associate_rq([(1, CT, [IMPLICIT])], extra_user_items=user_identity),
        associate_rq([(1, CT, [IMPLICIT])], calling=b"STRANGER"),
        associate_rq([(1, CT, [IMPLICIT])], version=None),
    ):
        answers = {mode: conversation(scp.port, [rq]) for mode, scp in pair.items()}
        assert answers["lean"] == answers["pynetdicom"]


def test_the_slot_limit_holds_across_both_paths(scps: Callable[..., dict[str, Scp]]) -> None:
    lean = scps(max_associations=1)["lean"]
    rq = associate_rq([(1, CT, [EXPLICIT])])
    with socket.create_connection(("127.0.0.1", lean.port), timeout=10) as first:
        first.sendall(rq)
        assert read_pdu(first)[:1] == b"\x02"
        second = conversation(lean.port, [rq])
        assert second == [struct.pack(">BBI", 0x03, 0, 4) + bytes([0, 2, 3, 2])]  # transient, local limit exceeded
    time.sleep(0.2)
    again = conversation(lean.port, [rq])
    assert again[0][:1] == b"\x02"


def test_a_silent_socket_is_closed_and_an_idle_association_aborted(scps: Callable[..., dict[str, Scp]]) -> None:
    lean = scps(association_request_seconds=0.5, idle_seconds=1.0)["lean"]
    with socket.create_connection(("127.0.0.1", lean.port), timeout=10) as silent:
        started = time.monotonic()
        assert silent.recv(16) == b""
        assert 0.4 < time.monotonic() - started < 3
    with socket.create_connection(("127.0.0.1", lean.port), timeout=10) as idle:
        idle.sendall(associate_rq([(1, CT, [EXPLICIT])]))
        assert read_pdu(idle)[:1] == b"\x02"
        started = time.monotonic()
        assert read_pdu(idle) == struct.pack(">BBI", 0x07, 0, 4) + bytes(4)  # A-ABORT, service user, as pynetdicom
        assert 0.9 < time.monotonic() - started < 4


# -- data sets cut at awkward places ------------------------------------------------------------------------------


def _pdv(context_id: int, control: int, value: bytes) -> bytes:
    return struct.pack(">IBB", len(value) + 2, context_id, control) + value


def _pdu(*pdvs: bytes) -> bytes:
    body = b"".join(pdvs)
    return struct.pack(">BBI", 0x04, 0, len(body)) + body


def _cut(data: bytes, sizes: list[int]) -> list[bytes]:
    """`data` in pieces of the given sizes, cycling through them (never an empty piece unless data is empty)."""
    pieces, offset, index = [], 0, 0
    while offset < len(data) or not pieces:
        size = sizes[index % len(sizes)]
        pieces.append(data[offset : offset + size])
        offset, index = offset + size, index + 1
    return pieces


def _pdvs(context_id: int, control: int, pieces: list[bytes]) -> list[bytes]:
    """One PDV per piece, the last one flagged as the message part's last fragment."""
    return [_pdv(context_id, control | (0x02 if i == len(pieces) - 1 else 0), p) for i, p in enumerate(pieces)]


def _command(context_id: int, sop_instance: str, message_id: int) -> bytes:
    """The C-STORE-RQ command set as pynetdicom encodes it (its one PDV value)."""
    pdus = store_message(context_id, sop_instance, b"x", 0, message_id=message_id)
    return pdus[12 : 6 + struct.unpack_from(">I", pdus, 2)[0]]  # the first PDU's one PDV: the command set


Message = tuple[int, str, bytes, int]  # context ID, SOP Instance UID, data set, message ID


def _awkward_plans(explicit: Message, implicit: Message, big: Message) -> dict[str, tuple[list[Message], bytes]]:
    """Named ways of cutting C-STOREs into PDVs and PDUs: (the messages, all their PDUs)."""

    def pdvs(message: Message, command_sizes: list[int], data_sizes: list[int]) -> tuple[list[bytes], list[bytes]]:
        cx, uid, data, message_id = message
        command = _command(cx, uid, message_id)
        return _pdvs(cx, 0x01, _cut(command, command_sizes)), _pdvs(cx, 0x00, _cut(data, data_sizes))

    plans = {}
    # every PDV its own PDU: the command and the first 300 bytes of the data set one byte at a time
    command, data = pdvs(explicit, [1], [1] * 300 + [len(explicit[2])])
    plans["1-byte PDVs, one per PDU"] = ([explicit], b"".join(_pdu(p) for p in command + data))
    # odd sizes, several PDVs per PDU, the command cut in 1-byte PDVs in the same PDU as the data set's start
    command, data = pdvs(implicit, [1], [1, 2, 3, 5, 7, 11, 13, 4093])
    groups = [command + data[:5], *[data[i : i + 9] for i in range(5, len(data), 9)]]
    plans["odd sizes, many PDVs per PDU"] = ([implicit], b"".join(_pdu(*group) for group in groups))
    # two C-STOREs in one PDU: the second's command right after the first's last fragment
    command_1, data_1 = pdvs(explicit, [1 << 20], [60000])
    command_2, data_2 = pdvs(implicit, [1 << 20], [70000])
    plans["two messages in one PDU"] = ([explicit, implicit], _pdu(*command_1, *data_1, *command_2, *data_2))
    # PDUs of changing sizes, one past the PDU buffer kept, and a data set past the first data set buffer
    command, data = pdvs(big, [1 << 20], [100, 1_500_000, 50, 200_000, 7, 1_100_000])
    plans["PDUs small and over 1 MiB"] = ([big], b"".join(_pdu(p) for p in command + data))
    return plans


def _implicit_data_set(ds: Dataset) -> bytes:
    out = DicomBytesIO()
    out.is_little_endian, out.is_implicit_VR = True, True
    write_dataset(out, ds)
    return out.getvalue()


def _send_and_read(port: int, rq: bytes, pdus: bytes, responses: int) -> list[bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall(rq)
        answers = [read_pdu(sock)]
        sock.sendall(pdus)
        answers += [read_response(sock) for _ in range(responses)]
        sock.sendall(struct.pack(">BBI", 0x05, 0, 4) + bytes(4))
        answers.append(read_pdu(sock))
    return answers


def _rows(scp: Scp) -> list[tuple[str, str, int]]:
    """The queue's rows, each checked against its file: its bytes of the row's SHA-256 and size. Without the
    file's name, a blank's (random)."""
    with contextlib.closing(sqlite3.connect(scp.spool / "queue.sqlite3")) as db:
        rows = sorted(db.execute("SELECT sop_instance_uid, path, sha256, size FROM instance"))
    for _uid, path, sha256, size in rows:
        content = (scp.spool / path).read_bytes()
        assert hashlib.sha256(content).hexdigest() == sha256 and len(content) == size, path
    return [(uid, sha256, size) for uid, _, sha256, size in rows]


@pytest.mark.parametrize("plan", ["1-byte PDVs, one per PDU", "odd sizes, many PDVs per PDU", "two messages in one PDU",
                                  "PDUs small and over 1 MiB"])  # fmt: skip
def test_data_sets_cut_at_awkward_places_are_stored_as_pynetdicom_stores_them(
    scps: Callable[..., dict[str, Scp]], plan: str
) -> None:
    """The lean SCP copies each fragment behind the File Meta and hashes it as it arrives. Sent cut at awkward
    places, the same C-STOREs get the answers pynetdicom gives them sent plainly (one PDV per PDU; pynetdicom does
    not read a second message from the PDU that ended the first), and the same spooled files and queue rows."""
    explicit_ds, implicit_ds = dicom_gen.ct_series(2, 64, 64)
    big_ds = dicom_gen.ct_series(1, 1024, 1024)[0]  # 2 MiB of pixels
    explicit = (1, str(explicit_ds.SOPInstanceUID), _dataset(dicom_gen.to_bytes(explicit_ds)), 7)
    implicit = (3, str(implicit_ds.SOPInstanceUID), _implicit_data_set(implicit_ds), 8)
    big = (1, str(big_ds.SOPInstanceUID), _dataset(dicom_gen.to_bytes(big_ds)), 9)
    messages, awkward = _awkward_plans(explicit, implicit, big)[plan]
    plain = b"".join(store_message(cx, uid, data, 16384, message_id=mid) for cx, uid, data, mid in messages)
    rq = associate_rq([(1, CT, [EXPLICIT]), (3, CT, [IMPLICIT])], max_pdu=0)
    pair = scps()
    lean = _send_and_read(pair["lean"].port, rq, awkward, len(messages))
    reference = _send_and_read(pair["pynetdicom"].port, rq, plain, len(messages))
    assert lean == reference
    assert all(b"\x00\x00\x00\x09\x02\x00\x00\x00\x00\x00" in answer for answer in lean[1:-1])  # Success
    assert len(pair["lean"].queued()) == len(messages) and pair["lean"].queued() == pair["pynetdicom"].queued()
    assert _rows(pair["lean"]) == _rows(pair["pynetdicom"])


@pytest.mark.parametrize("uid", ["1.2.3.abc", "1.02.3", "1.2.3.4 "])
def test_a_command_uid_that_is_not_plain_is_stored_as_pynetdicom_stores_it(
    scps: Callable[..., dict[str, Scp]], uid: str
) -> None:
    """UIDs the File Meta by hand leaves to pydicom (so the lean SCP does not hash as the data set arrives, and hands
    it to store_received): the same answer and files as pynetdicom's, for the data set as is and with that UID."""
    ds = dicom_gen.ct_series(1, 32, 32)[0]
    as_is = _dataset(dicom_gen.to_bytes(ds))
    ds.SOPInstanceUID = uid.strip()
    renamed = _dataset(dicom_gen.to_bytes(ds))
    steps = [
        associate_rq([(1, CT, [EXPLICIT])]),
        store_message(1, uid, as_is, 16384, message_id=1),
        store_message(1, uid, renamed, 16384, message_id=2),
    ]
    pair = scps()
    answers = {mode: conversation(scp.port, steps) for mode, scp in pair.items()}
    assert answers["lean"] == answers["pynetdicom"]
    assert pair["lean"].queued() == pair["pynetdicom"].queued()
    assert _rows(pair["lean"]) == _rows(pair["pynetdicom"])

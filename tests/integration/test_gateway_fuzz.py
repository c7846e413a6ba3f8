"""Issue 16's DICOM fuzz of the gateway: malformed PDUs, truncated associations and broken datasets go into a real
`yilian gateway run`; each gets a refusal (A-ASSOCIATE-RJ / A-ABORT / a closed socket, or a C-STORE failure
status), the process stays up, and a good study sent afterwards still reaches the cloud."""

from __future__ import annotations

import random
import socket
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pydicom import dcmread
from pydicom.dataset import FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import generate_uid
from pynetdicom import AE, _config
from pynetdicom.sop_class import CTImageStorage  # type: ignore[attr-defined]

from tests.integration.test_gateway import (  # noqa: F401 (fixtures)
    Gateway,
    StowReceiver,
    _uids,
    ct_files,
    gateway_for,
    stow_receiver,
    wait_until,
)

# PDU types (PS3.8 9.3.1): what a refusing acceptor may answer with.
A_ASSOCIATE_RJ, A_ABORT = 0x03, 0x07
EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
SEED = 20261207


def _associate_rq(calling: bytes = b"CT1") -> bytes:
    """A well-formed A-ASSOCIATE-RQ for Verification (PS3.8 9.3.2), the start of every malformed variant."""

    def item(kind: int, body: bytes) -> bytes:
        return struct.pack(">BBH", kind, 0, len(body)) + body

    app_context = item(0x10, b"1.2.840.10008.3.1.1.1")
    presentation = item(0x20, bytes([1, 0, 0, 0]) + item(0x30, b"1.2.840.10008.1.1") + item(0x40, b"1.2.840.10008.1.2"))
    user = item(0x50, item(0x51, struct.pack(">I", 16384)))
    body = (
        struct.pack(">HH", 1, 0)
        + b"YILIAN_GW".ljust(16)
        + calling.ljust(16)
        + bytes(32)
        + app_context
        + presentation
        + user
    )
    return struct.pack(">BBI", 0x01, 0, len(body)) + body


def _malformed_pdus() -> dict[str, bytes]:
    rng = random.Random(SEED)
    good = _associate_rq()
    return {
        "random bytes": bytes(rng.randrange(256) for _ in range(512)),
        "truncated A-ASSOCIATE-RQ": good[: len(good) // 2],
        "A-ASSOCIATE-RQ claiming 1 GB": struct.pack(">BBI", 0x01, 0, 1 << 30) + good[6:],
        "unknown PDU type": struct.pack(">BBI", 0xFF, 0, 4) + b"abcd",
        "P-DATA-TF before any association": struct.pack(">BBI", 0x04, 0, 6) + struct.pack(">IBB", 2, 1, 0x03),
        "zero-length A-ASSOCIATE-RQ": struct.pack(">BBI", 0x01, 0, 0),
        "item lengths past the PDU's end": good[:74] + struct.pack(">BBH", 0x10, 0, 0xFFFF) + b"1.2",
        "protocol version 0x7777": good[:6] + struct.pack(">H", 0x7777) + good[8:],
    }


def _answer(gateway: Gateway, pdu: bytes) -> bytes:
    """Send one malformed PDU, half-close, and read what the gateway answers before it closes (at most 10 s)."""
    with socket.create_connection(("127.0.0.1", gateway.port), timeout=10) as sock:
        try:
            sock.sendall(pdu)
            sock.shutdown(socket.SHUT_WR)
        except OSError:
            return b""  # closed on us mid-send: a refusal too
        received = b""
        try:
            while chunk := sock.recv(4096):
                received += chunk
        except (ConnectionResetError, TimeoutError):
            pass
        return received


def _broken_instance(template: Path, body: bytes, folder: Path, name: str) -> Path:
    """A file with good File Meta (so the SCU can pick a context) and `body` as its data set, sent unparsed."""
    source = dcmread(template, stop_before_pixels=True)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = source.SOPClassUID
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = EXPLICIT_VR_LE
    path = folder / f"{name}.dcm"
    with path.open("wb") as out:
        out.write(bytes(128) + b"DICM")
        write_file_meta_info(out, meta)  # type: ignore[arg-type]
        out.write(body)
    return path


@pytest.fixture
def raw_datasets() -> Iterator[None]:
    """pynetdicom sends a file's data set as it is on disk (no decode, so no repair of what we broke)."""
    before = _config.STORE_SEND_CHUNKED_DATASET
    _config.STORE_SEND_CHUNKED_DATASET = True
    yield
    _config.STORE_SEND_CHUNKED_DATASET = before


def test_malformed_pdus_and_data_sets_are_refused_and_good_studies_still_arrive(
    gateway_for: Callable[..., Gateway],  # noqa: F811
    stow_receiver: StowReceiver,  # noqa: F811
    ct_files: list[Path],  # noqa: F811
    tmp_path: Path,
    raw_datasets: None,
) -> None:
    gateway = gateway_for(stow_receiver.url)
    gateway.env["YILIAN_GATEWAY_ASSOCIATION_REQUEST_SECONDS"] = "2"
    gateway.start()

    for what, pdu in _malformed_pdus().items():
        answer = _answer(gateway, pdu)
        assert answer == b"" or answer[0] in (A_ASSOCIATE_RJ, A_ABORT), f"{what}: the gateway answered {answer[:16]!r}"
        assert gateway.process is not None and gateway.process.poll() is None, f"{what} stopped the gateway"

    # Broken data sets inside a good association: each C-STORE answers a failure status, none is queued.
    whole = ct_files[0].read_bytes()
    dataset_start = len(whole) - len(dcmread(ct_files[0]).PixelData) - 4096  # somewhere in the header elements
    rng = random.Random(SEED)
    bodies = {
        "garbage": bytes(rng.randrange(256) for _ in range(2048)),
        "element length past the end": struct.pack("<HH2sH", 0x0008, 0x0018, b"UI", 0xFFF0) + b"1.2.3",
        "undefined length on a UI": struct.pack("<HH2sHI", 0x0008, 0x0018, b"UN", 0, 0xFFFFFFFF) + b"\x01" * 8,
        "cut mid-element": whole[132 : max(dataset_start, 400)],
        "empty": b"",
    }
    ae = AE(ae_title="CT1")
    ae.add_requested_context(CTImageStorage, EXPLICIT_VR_LE)
    assoc = ae.associate("127.0.0.1", gateway.port, ae_title="YILIAN_GW")
    assert assoc.is_established
    statuses = {}
    try:
        for name, body in bodies.items():
            status = assoc.send_c_store(_broken_instance(ct_files[0], body, tmp_path, name.replace(" ", "-")))
            statuses[name] = int(status.Status) if "Status" in status else None
    finally:
        assoc.release()
    # C000 for bytes that do not parse, A900 for a parse without the identity a store needs; never 0110
    # ("processing failure", the answer to an exception we did not foresee).
    assert statuses == {
        "garbage": 0xC000,
        "element length past the end": 0xC000,
        "undefined length on a UI": 0xC000,
        "cut mid-element": 0xA900,
        "empty": 0xA900,
    }, {name: f"{code:04X}" if code is not None else None for name, code in statuses.items()}
    assert gateway.queued_files() == [] and gateway.status()["queued"] == 0

    sent = gateway.storescu(ct_files)
    assert sent.returncode == 0, sent.stderr
    wait_until(gateway.status, lambda s: s["sent"] == len(ct_files), 30, "the good study after the fuzzing")
    assert set(stow_receiver.archive) == _uids(ct_files)
    assert gateway.process is not None and gateway.process.poll() is None

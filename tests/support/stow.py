"""Building STOW-RS requests in tests: Part-10 instances as one multipart/related body."""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset

from tests.support.dicom_gen import to_bytes

BOUNDARY = "yilian-test-boundary-5f3c"
CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def stow_body(instances: Iterable[Dataset | bytes], boundary: str = BOUNDARY) -> bytes:
    out = bytearray()
    for item in instances:
        data = item if isinstance(item, bytes) else to_bytes(item)
        out += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)

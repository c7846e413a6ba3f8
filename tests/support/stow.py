"""Building STOW-RS requests in tests: Part-10 instances as one multipart/related body."""

from __future__ import annotations

from collections.abc import Iterable

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from tests.support.dicom_gen import dx_image, to_bytes

BOUNDARY = "yilian-test-boundary-5f3c"
CONTENT_TYPE = f'multipart/related; type="application/dicom"; boundary={BOUNDARY}'


def stow_body(instances: Iterable[Dataset | bytes], boundary: str = BOUNDARY) -> bytes:
    out = bytearray()
    for item in instances:
        data = item if isinstance(item, bytes) else to_bytes(item)
        out += f"--{boundary}\r\nContent-Type: application/dicom\r\n\r\n".encode() + data + b"\r\n"
    out += f"--{boundary}--\r\n".encode()
    return bytes(out)


def one_image_study(patient_id: str, study_uid: str | None = None) -> tuple[str, bytes]:
    """A small study (one 16x16 DX image: enough to be a real, readable image) as a STOW-RS body; (its Study
    Instance UID, the body). Tests and bench/referral_loop.py send a referral's study with it first."""
    [image] = dx_image(rows=16, cols=16, patient_id=patient_id, study_uid=study_uid or generate_uid())
    return str(image.StudyInstanceUID), stow_body([image])

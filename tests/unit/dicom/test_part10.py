"""dicom.part10: the preamble and File Meta Information written by hand, byte for byte as pydicom writes them."""

from __future__ import annotations

import random

import pytest
from pydicom.uid import UID, generate_uid
from pynetdicom import ALL_TRANSFER_SYNTAXES, PYNETDICOM_IMPLEMENTATION_UID, PYNETDICOM_IMPLEMENTATION_VERSION
from pynetdicom.dsutils import create_file_meta, encode_file_meta

from yilian.dicom.part10 import part10_header


def _pydicom(sop_class: str, sop_instance: str, syntax: str, uid: str, version: str) -> bytes:
    """What pynetdicom's Event.encoded_dataset(include_meta=True) puts before the data set."""
    meta = create_file_meta(
        sop_class_uid=UID(sop_class),
        sop_instance_uid=UID(sop_instance),
        transfer_syntax=UID(syntax),
        implementation_uid=UID(uid),
        implementation_version=version,
    )
    return bytes(128) + b"DICM" + encode_file_meta(meta)


def _ours(sop_class: str, sop_instance: str, syntax: str, uid: str, version: str) -> bytes:
    return part10_header(
        sop_class_uid=sop_class,
        sop_instance_uid=sop_instance,
        transfer_syntax=syntax,
        implementation_class_uid=uid,
        implementation_version_name=version,
    )


def _uids() -> list[str]:
    """UIDs of every length from 1 to 64 characters (odd ones are NUL-padded), generated and made up."""
    rng = random.Random(7)
    made = [generate_uid(), generate_uid(prefix=None), "1", "1.2", "1.2.840.10008.5.1.4.1.1.2"]
    for length in range(1, 65):
        made.append("".join(rng.choice("0123456789.") for _ in range(length)))
    return made


def test_the_same_bytes_as_pydicom_for_every_transfer_syntax_and_uid_length() -> None:
    versions = [PYNETDICOM_IMPLEMENTATION_VERSION, "A", "", "ODD_LENGTH_NAME", "1234567890123456"]
    compared = 0
    for syntax in ALL_TRANSFER_SYNTAXES:
        for uid in _uids():
            args = ("1.2.840.10008.5.1.4.1.1.2", uid, syntax, PYNETDICOM_IMPLEMENTATION_UID, versions[compared % 5])
            assert _ours(*args) == _pydicom(*args), args
            args = (uid, "1.2.3.4", syntax, uid, PYNETDICOM_IMPLEMENTATION_VERSION)
            assert _ours(*args) == _pydicom(*args), args
            compared += 2
    assert compared > 2000


@pytest.mark.parametrize(
    "sop_instance",
    ["1.2.3.4." + "5" * 60, "1.2.3.a", "1.2.3 ", "1.2.3\0", "1.2.\u00e93", "", "0" * 65],
)
def test_values_that_are_not_plain_are_written_by_pydicom(sop_instance: str) -> None:
    args = ("1.2.840.10008.5.1.4.1.1.2", sop_instance, "1.2.840.10008.1.2", PYNETDICOM_IMPLEMENTATION_UID, "X")
    try:
        expected = _pydicom(*args)
    except AttributeError as exc:  # an empty UID: the same refusal in the same words
        with pytest.raises(AttributeError) as raised:
            _ours(*args)
        assert str(raised.value) == str(exc)
        return
    assert _ours(*args) == expected


def test_a_version_name_that_is_not_plain_is_written_by_pydicom() -> None:
    for version in ("A\\B", "Ünïcode", "x" * 17):
        args = ("1.2.840.10008.5.1.4.1.1.2", "1.2.3", "1.2.840.10008.1.2", PYNETDICOM_IMPLEMENTATION_UID, version)
        assert _ours(*args) == _pydicom(*args), version

"""The start of a Part-10 file written straight as bytes: preamble, DICM prefix, File Meta Information (PS3.10 §7.1).

A receiver that spools a data set as it arrived puts this in front of it. pydicom's writer (a Dataset, an element
object per attribute, validation hooks) cost a fifteenth of the gateway's CPU per C-STORE for these seven elements;
this writes the same bytes (tests/unit/dicom/test_part10.py compares them with pydicom's for every transfer syntax
and UIDs of every length) and leaves anything unusual to pydicom.
"""

from __future__ import annotations

import re
import struct

from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import UID

PREAMBLE = bytes(128) + b"DICM"
_PLAIN_UID = re.compile(rb"[0-9.]{1,64}")
_PLAIN_SH = re.compile(rb"[ -\[\]-~]{0,16}")  # printable ASCII without a backslash (PS3.5 §6.2, SH)
_GROUP_LENGTH = b"\x02\x00\x00\x00UL\x04\x00"
_VERSION = b"\x02\x00\x01\x00OB\x00\x00\x02\x00\x00\x00\x00\x01"  # (0002,0001) OB, 00 01: this is version 1
_UL = struct.Struct("<L")
_H = struct.Struct("<H")


def part10_header(
    *,
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax: str,
    implementation_class_uid: str,
    implementation_version_name: str,
) -> bytes:
    """Preamble, prefix and File Meta Information group (PS3.10 §7.1, Table 7.1-1) for a data set in
    `transfer_syntax`, byte for byte as pydicom's `write_file_meta_info` writes a File Meta data set holding these
    five values: Group Length, Version 00 01, the Media Storage SOP Class and Instance UIDs, the Transfer Syntax UID,
    the Implementation Class UID and Version Name; UIDs padded to even length with NUL, the name with a space
    (PS3.5 §6.2). Values that are not plain (empty, over-long, other characters) are written by pydicom itself,
    which refuses an empty UID with the same AttributeError as ever."""
    raw = [value.encode("latin-1", "replace") for value in (sop_class_uid, sop_instance_uid, transfer_syntax,
                                                             implementation_class_uid)]  # fmt: skip
    name = implementation_version_name.encode("latin-1", "replace")
    if not all(_PLAIN_UID.fullmatch(value) for value in raw) or not _PLAIN_SH.fullmatch(name):
        return PREAMBLE + _pydicom_file_meta(
            sop_class_uid, sop_instance_uid, transfer_syntax, implementation_class_uid, implementation_version_name
        )
    body = b"".join(
        (
            _VERSION,
            _element(b"\x02\x00\x02\x00UI", raw[0], b"\0"),
            _element(b"\x02\x00\x03\x00UI", raw[1], b"\0"),
            _element(b"\x02\x00\x10\x00UI", raw[2], b"\0"),
            _element(b"\x02\x00\x12\x00UI", raw[3], b"\0"),
            _element(b"\x02\x00\x13\x00SH", name, b" "),
        )
    )
    return PREAMBLE + _GROUP_LENGTH + _UL.pack(len(body)) + body


def _element(tag_and_vr: bytes, value: bytes, pad: bytes) -> bytes:
    """An Explicit VR element with a 16-bit length (PS3.5 §7.1.2), its value padded to an even length."""
    if len(value) % 2:
        value += pad
    return tag_and_vr + _H.pack(len(value)) + value


def _pydicom_file_meta(
    sop_class_uid: str,
    sop_instance_uid: str,
    transfer_syntax: str,
    implementation_class_uid: str,
    implementation_version_name: str,
) -> bytes:
    """The same group through pydicom's writer (as pynetdicom's create_file_meta and encode_file_meta make it)."""
    meta = FileMetaDataset()
    meta.FileMetaInformationGroupLength = 0
    meta.FileMetaInformationVersion = b"\x00\x01"
    meta.MediaStorageSOPClassUID = UID(sop_class_uid)
    meta.MediaStorageSOPInstanceUID = UID(sop_instance_uid)
    meta.TransferSyntaxUID = UID(transfer_syntax)
    meta.ImplementationClassUID = UID(implementation_class_uid)
    meta.ImplementationVersionName = implementation_version_name
    meta.set_original_encoding(False, True)
    buffer = DicomBytesIO()
    buffer.is_little_endian, buffer.is_implicit_VR = True, False
    write_file_meta_info(buffer, meta)
    return buffer.getvalue()

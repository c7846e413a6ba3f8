"""The bytes of the DICOM Upper Layer (PS3.8 9.3) and DIMSE command sets (PS3.7 6.3, 9.3.1, 9.3.5) that the lean
storage SCP (gateway.storage_scp) reads and writes per message, with `struct`.

Only what a C-STORE or C-ECHO needs once an association is up; association negotiation stays pynetdicom's own
PDU code and `negotiate_as_acceptor` (once per association, so exact by construction). Every encoder here has a
differential test against pynetdicom's and pydicom's output (tests/unit/gateway/test_dicom_ul.py).
"""

from __future__ import annotations

import struct
from collections.abc import Iterator

# PDU types (PS3.8 9.3.1).
A_ASSOCIATE_RQ = 0x01
A_ASSOCIATE_AC = 0x02
A_ASSOCIATE_RJ = 0x03
P_DATA_TF = 0x04
A_RELEASE_RQ = 0x05
A_RELEASE_RP = 0x06
A_ABORT = 0x07

# Command Field values (PS3.7 E.1).
C_STORE_RQ = 0x0001
C_STORE_RSP = 0x8001
C_ECHO_RQ = 0x0030
C_ECHO_RSP = 0x8030
NO_DATA_SET = 0x0101

# Command Set elements (group 0000) by element number.
AFFECTED_SOP_CLASS_UID = 0x0002
COMMAND_FIELD = 0x0100
MESSAGE_ID = 0x0110
PRIORITY = 0x0700
COMMAND_DATA_SET_TYPE = 0x0800
AFFECTED_SOP_INSTANCE_UID = 0x1000

PDU_HEADER = struct.Struct(">BxI")
_PDV_HEADER = struct.Struct(">IBB")
_ELEMENT_HEADER = struct.Struct("<HHI")
_US_ELEMENT = struct.Struct("<HHIH")
_UL_ELEMENT = struct.Struct("<HHII")

A_RELEASE_RP_PDU = PDU_HEADER.pack(A_RELEASE_RP, 4) + bytes(4)


class ProtocolError(Exception):
    """The peer broke PS3.8 or PS3.7 in a way the association cannot survive: answered by A-ABORT."""

    def __init__(self, message: str, reason: int = 0x00) -> None:
        super().__init__(message)
        self.reason = reason  # A-ABORT provider reason (PS3.8 9.3.8), the source being the service provider


def a_abort(source: int, reason: int) -> bytes:
    """A-ABORT PDU (PS3.8 9.3.8): source 0 service user, 2 service provider; reason only for source 2."""
    return PDU_HEADER.pack(A_ABORT, 4) + bytes((0, 0, source, reason))


def a_associate_rj(result: int, source: int, reason: int) -> bytes:
    """A-ASSOCIATE-RJ PDU (PS3.8 9.3.4)."""
    return PDU_HEADER.pack(A_ASSOCIATE_RJ, 4) + bytes((0, result, source, reason))


def read_pdvs(body: memoryview) -> Iterator[tuple[int, int, memoryview]]:
    """The presentation data values of one P-DATA-TF PDU (PS3.8 9.3.5): (context ID, control header, fragment)."""
    offset, end = 0, len(body)
    if end == 0:
        raise ProtocolError("a P-DATA-TF without any PDV", 0x06)
    while offset < end:
        if end - offset < 6:
            raise ProtocolError("a PDV item cut short", 0x06)
        length, context_id, control = _PDV_HEADER.unpack_from(body, offset)
        if length < 2 or offset + 4 + length > end:
            raise ProtocolError(f"a PDV item of length {length} does not fit its PDU", 0x06)
        yield context_id, control, body[offset + 6 : offset + 4 + length]
        offset += 4 + length


def p_data_tf(context_id: int, control: int, message: bytes, max_pdu_length: int) -> bytes:
    """`message` as P-DATA-TF PDUs of one PDV each, cut to the peer's maximum PDU length (PS3.8 9.3.5, D.1).

    pynetdicom's fragmentation: PDV values of at most `max_pdu_length - 6` bytes; 0 means no limit. `control` is 1
    for a command, 0 for a data set; the last fragment also has bit 1 set.
    """
    size = len(message) if max_pdu_length == 0 else max(1, max_pdu_length - 6)
    pieces = [message[start : start + size] for start in range(0, len(message), size)] or [b""]
    out = []
    for index, piece in enumerate(pieces):
        flags = control | (0x02 if index == len(pieces) - 1 else 0)
        out.append(PDU_HEADER.pack(P_DATA_TF, len(piece) + 6) + _PDV_HEADER.pack(len(piece) + 2, context_id, flags))
        out.append(piece)
    return b"".join(out)


def read_command_set(encoded: bytes) -> dict[int, bytes]:
    """A command set (Implicit VR Little Endian, PS3.7 6.3.1) as {element number: value}; group 0000 only."""
    values: dict[int, bytes] = {}
    offset, end = 0, len(encoded)
    while offset < end:
        if end - offset < 8:
            raise ProtocolError("a command set element cut short", 0x06)
        group, element, length = _ELEMENT_HEADER.unpack_from(encoded, offset)
        offset += 8
        if group != 0x0000 or length == 0xFFFFFFFF or offset + length > end:
            raise ProtocolError(f"a command set element ({group:04X},{element:04X}) that cannot be read", 0x06)
        values[element] = encoded[offset : offset + length]
        offset += length
    return values


def us_value(values: dict[int, bytes], element: int) -> int | None:
    """An US element's value, as pydicom reads it, or None when absent or empty."""
    raw = values.get(element)
    if not raw or len(raw) < 2:
        return None
    return int(struct.unpack_from("<H", raw)[0])


def ui_value(values: dict[int, bytes], element: int) -> str | None:
    """A UI element's value as pydicom gives it (trailing NUL padding and spaces gone), or None when absent."""
    raw = values.get(element)
    if raw is None:
        return None
    text = raw.decode("latin-1").rstrip("\0 ")  # pydicom's default character set
    return text or None


def _ui(element: int, uid: str) -> bytes:
    value = uid.encode("latin-1")  # pydicom's default character set
    if len(value) % 2:
        value += b"\0"
    return _ELEMENT_HEADER.pack(0x0000, element, len(value)) + value


def _lo(element: int, text: str) -> bytes:
    value = text.encode("latin-1", "replace")
    if len(value) % 2:
        value += b" "
    return _ELEMENT_HEADER.pack(0x0000, element, len(value)) + value


def _command(elements: list[bytes]) -> bytes:
    body = b"".join(elements)
    return _UL_ELEMENT.pack(0x0000, 0x0000, 4, len(body)) + body


def c_store_rsp(
    message_id: int, sop_class_uid: str, sop_instance_uid: str, status: int, error_comment: str | None
) -> bytes:
    """The C-STORE-RSP command set (PS3.7 9.3.1.2) as pynetdicom encodes it, elements in tag order."""
    elements = [
        _ui(AFFECTED_SOP_CLASS_UID, sop_class_uid),
        _US_ELEMENT.pack(0x0000, COMMAND_FIELD, 2, C_STORE_RSP),
        _US_ELEMENT.pack(0x0000, 0x0120, 2, message_id),
        _US_ELEMENT.pack(0x0000, COMMAND_DATA_SET_TYPE, 2, NO_DATA_SET),
        _US_ELEMENT.pack(0x0000, 0x0900, 2, status),
    ]
    if error_comment is not None:
        elements.append(_lo(0x0902, error_comment))
    elements.append(_ui(AFFECTED_SOP_INSTANCE_UID, sop_instance_uid))
    return _command(elements)


def c_echo_rsp(message_id: int, sop_class_uid: str) -> bytes:
    """The C-ECHO-RSP command set (PS3.7 9.3.5.2), Success, as pynetdicom encodes it."""
    return _command(
        [
            _ui(AFFECTED_SOP_CLASS_UID, sop_class_uid),
            _US_ELEMENT.pack(0x0000, COMMAND_FIELD, 2, C_ECHO_RSP),
            _US_ELEMENT.pack(0x0000, 0x0120, 2, message_id),
            _US_ELEMENT.pack(0x0000, COMMAND_DATA_SET_TYPE, 2, NO_DATA_SET),
            _US_ELEMENT.pack(0x0000, 0x0900, 2, 0x0000),
        ]
    )

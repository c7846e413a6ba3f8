"""gateway.dicom_ul's bytes against pynetdicom's and pydicom's: C-STORE-RSP and C-ECHO-RSP in P-DATA-TF
PDUs (fragmented or not), the command set read back, and broken PDVs refused as protocol errors."""

from __future__ import annotations

from io import BytesIO

import pytest
from pydicom.uid import generate_uid
from pynetdicom.dimse_messages import C_ECHO_RSP, C_STORE_RQ, C_STORE_RSP
from pynetdicom.dimse_primitives import C_ECHO, C_STORE
from pynetdicom.pdu import P_DATA_TF

from yilian.gateway import dicom_ul
from yilian.gateway.dicom_ul import ProtocolError

CT = "1.2.840.10008.5.1.4.1.1.2"
UIDS = ["1.2.3", "1.2.34", generate_uid(), generate_uid()[:-1], "1." + "2" * 62, "1." + "2" * 61]


def _pynetdicom_pdus(message: C_STORE_RSP | C_ECHO_RSP, context_id: int, max_pdu: int) -> bytes:
    return b"".join(P_DATA_TF(primitive).encode() for primitive in message.encode_msg(context_id, max_pdu))


@pytest.mark.parametrize("max_pdu", [0, 16384, 1024 * 1024, 64, 31])
@pytest.mark.parametrize(
    ("status", "comment"),
    [
        (0x0000, None),
        (0xC000, "unreadable: a damaged element"),
        (0xA900, "x" * 64),
        (0xA700, "the gateway's disk is full"),
        (0x0110, "odd"),
        (0x0122, None),
    ],
)
def test_c_store_rsp_is_pynetdicoms(max_pdu: int, status: int, comment: str | None) -> None:
    for message_id in (1, 2, 0xFFFF):
        for sop_instance in UIDS:
            rsp = C_STORE()
            rsp.MessageIDBeingRespondedTo = message_id
            rsp.AffectedSOPClassUID = CT
            rsp.AffectedSOPInstanceUID = sop_instance
            rsp.Status = status
            if comment is not None:
                rsp.ErrorComment = comment
            message = C_STORE_RSP()
            message.primitive_to_message(rsp)
            ours = dicom_ul.p_data_tf(
                3, 0x01, dicom_ul.c_store_rsp(message_id, CT, sop_instance, status, comment), max_pdu
            )
            assert ours == _pynetdicom_pdus(message, 3, max_pdu)


@pytest.mark.parametrize("max_pdu", [0, 16384, 40])
def test_c_echo_rsp_is_pynetdicoms(max_pdu: int) -> None:
    for message_id in (1, 7, 0xFFFF):
        rsp = C_ECHO()
        rsp.MessageIDBeingRespondedTo = message_id
        rsp.AffectedSOPClassUID = "1.2.840.10008.1.1"
        rsp.Status = 0x0000
        message = C_ECHO_RSP()
        message.primitive_to_message(rsp)
        ours = dicom_ul.p_data_tf(1, 0x01, dicom_ul.c_echo_rsp(message_id, "1.2.840.10008.1.1"), max_pdu)
        assert ours == _pynetdicom_pdus(message, 1, max_pdu)


def test_a_c_store_rq_reads_back_as_pynetdicom_wrote_it() -> None:
    for sop_instance in UIDS:
        request = C_STORE()
        request.MessageID = 42
        request.AffectedSOPClassUID = CT
        request.AffectedSOPInstanceUID = sop_instance
        request.Priority = 2
        request.MoveOriginatorApplicationEntityTitle = "MOVER"
        request.MoveOriginatorMessageID = 9
        request.DataSet = BytesIO(b"\x08\x00\x16\x00")
        message = C_STORE_RQ()
        message.primitive_to_message(request)
        pdus = list(message.encode_msg(1, 0))
        command = b"".join(pdv[1][1:] for pdu in pdus for pdv in [pdu.presentation_data_value_list[0]] if pdv[1][0] & 1)
        values = dicom_ul.read_command_set(command)
        assert dicom_ul.us_value(values, dicom_ul.COMMAND_FIELD) == dicom_ul.C_STORE_RQ
        assert dicom_ul.us_value(values, dicom_ul.MESSAGE_ID) == 42
        assert dicom_ul.us_value(values, dicom_ul.PRIORITY) == 2
        assert dicom_ul.us_value(values, dicom_ul.COMMAND_DATA_SET_TYPE) != dicom_ul.NO_DATA_SET
        assert dicom_ul.ui_value(values, dicom_ul.AFFECTED_SOP_CLASS_UID) == CT
        assert dicom_ul.ui_value(values, dicom_ul.AFFECTED_SOP_INSTANCE_UID) == sop_instance


def test_uids_lose_their_padding_as_pydicom_reads_them() -> None:
    assert dicom_ul.ui_value({2: b"1.2.3\0"}, 2) == "1.2.3"
    assert dicom_ul.ui_value({2: b"1.2.3 "}, 2) == "1.2.3"
    assert dicom_ul.ui_value({2: b""}, 2) is None
    assert dicom_ul.ui_value({}, 2) is None
    assert dicom_ul.us_value({0x100: b"\x01"}, 0x100) is None


@pytest.mark.parametrize(
    "body",
    [
        b"",  # no PDV at all
        b"\x00\x00\x00",  # a PDV header cut short
        b"\x00\x00\x00\x01\x01",  # a PDV shorter than its context ID and header
        b"\x00\x00\x10\x00\x01\x03abc",  # a PDV longer than its PDU
    ],
)
def test_broken_pdvs_are_protocol_errors(body: bytes) -> None:
    with pytest.raises(ProtocolError):
        list(dicom_ul.read_pdvs(memoryview(body)))


@pytest.mark.parametrize(
    "command",
    [
        b"\x00\x00\x00\x00\x04\x00",  # cut short
        b"\x08\x00\x16\x00\x02\x00\x00\x00ab",  # not group 0000
        b"\x00\x00\x02\x00\xff\xff\xff\xff",  # undefined length
        b"\x00\x00\x02\x00\x10\x00\x00\x001.2",  # value past the end
    ],
)
def test_broken_command_sets_are_protocol_errors(command: bytes) -> None:
    with pytest.raises(ProtocolError):
        dicom_ul.read_command_set(command)


def test_pdvs_of_a_p_data_tf_are_read_in_order() -> None:
    body = dicom_ul.p_data_tf(1, 0x00, b"abcd", 0)[6:] + dicom_ul.p_data_tf(3, 0x01, b"xy", 0)[6:]
    assert [(cx, control, bytes(value)) for cx, control, value in dicom_ul.read_pdvs(memoryview(body))] == [
        (1, 0x02, b"abcd"),
        (3, 0x03, b"xy"),
    ]

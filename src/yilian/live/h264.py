"""What forwarding and the HLS packager need to know about H.264 (RFC 6184 RTP payloads, ITU-T H.264 Annex B
byte streams): where a keyframe (an IDR picture, with its SPS/PPS) starts."""

from __future__ import annotations

NAL_IDR = 5
NAL_SPS = 7
STAP_A = 24
FU_A = 28
_STARTS_KEYFRAME = {NAL_IDR, NAL_SPS}


def is_keyframe_start(payload: bytes) -> bool:
    """True for an RTP packet that begins a keyframe: an SPS or IDR slice as a single NAL unit, inside a STAP-A
    (RFC 6184 5.7.1), or as the first fragment of an FU-A (5.8). Browsers send SPS+PPS before every IDR."""
    if not payload:
        return False
    nal_type = payload[0] & 0x1F
    if nal_type in _STARTS_KEYFRAME:
        return True
    if nal_type == FU_A:
        return len(payload) > 1 and bool(payload[1] & 0x80) and (payload[1] & 0x1F) in _STARTS_KEYFRAME
    if nal_type == STAP_A:
        index = 1
        while index + 2 < len(payload):
            size = int.from_bytes(payload[index : index + 2], "big")
            if payload[index + 2] & 0x1F in _STARTS_KEYFRAME:
                return True
            index += 2 + size
    return False


def nal_types(access_unit: bytes) -> set[int]:
    """The NAL unit types in an Annex B access unit (what aiortc's depayloader assembles: 00 00 00 01 prefixes)."""
    types = set()
    index = access_unit.find(b"\x00\x00\x01")
    while index != -1 and index + 3 < len(access_unit):
        types.add(access_unit[index + 3] & 0x1F)
        index = access_unit.find(b"\x00\x00\x01", index + 3)
    return types


def is_idr(access_unit: bytes) -> bool:
    """An access unit a decoder can start from: it carries an IDR slice."""
    return NAL_IDR in nal_types(access_unit)

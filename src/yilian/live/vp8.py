"""What forwarding and recording need to know about a VP8 RTP payload (RFC 7741): where a keyframe starts."""

from __future__ import annotations


def _descriptor_length(payload: bytes) -> int | None:
    """Length of the VP8 payload descriptor (RFC 7741 4.2), None when truncated."""
    if not payload:
        return None
    index = 1
    if payload[0] & 0x80:  # X: extension byte follows
        if len(payload) < 2:
            return None
        extension = payload[1]
        index = 2
        if extension & 0x80:  # I: PictureID, 7 or 15 bits
            if len(payload) <= index:
                return None
            index += 2 if payload[index] & 0x80 else 1
        if extension & 0x40:  # L: TL0PICIDX
            index += 1
        if extension & 0x30:  # T or K: TID/Y/KEYIDX
            index += 1
    return index if index < len(payload) else None


def is_keyframe_start(payload: bytes) -> bool:
    """True for the first packet of a keyframe: start of partition 0 (S=1, PID=0) and the P bit of the VP8 frame
    header clear (RFC 7741 4.3)."""
    if not payload or not payload[0] & 0x10 or payload[0] & 0x07:
        return False
    start = _descriptor_length(payload)
    return start is not None and payload[start] & 0x01 == 0


def keyframe_size(frame: bytes) -> tuple[int, int] | None:
    """(width, height) from a VP8 keyframe's header (RFC 6386 9.1): 3-byte tag, start code 9d 01 2a, then 14-bit
    sizes. None when `frame` is not a keyframe."""
    if len(frame) < 10 or frame[0] & 0x01 or frame[3:6] != b"\x9d\x01\x2a":
        return None
    width = int.from_bytes(frame[6:8], "little") & 0x3FFF
    height = int.from_bytes(frame[8:10], "little") & 0x3FFF
    return width, height

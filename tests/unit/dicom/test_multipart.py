"""multipart/related reading and writing (PS3.18 §8.6.1.2): chunk splits, truncation, limits, round trips."""

from __future__ import annotations

import os
import random
from collections.abc import AsyncIterator, Iterator

import pytest

from yilian.dicom import multipart
from yilian.dicom.multipart import (
    MalformedMultipartError,
    MultipartReader,
    Part,
    PartTooLargeError,
    boundary,
    closing,
    iter_parts,
    multipart_body,
    multipart_boundary,
    multipart_content_type,
    multipart_stream,
    parse_content_type,
    part_header,
)

BOUNDARY = "b0undary-XYZ"


def _body(payloads: list[bytes], *, preamble: bytes = b"", epilogue: bytes = b"") -> bytes:
    out = bytearray(preamble + (b"\r\n" if preamble else b""))
    for index, payload in enumerate(payloads):
        out += part_header("application/dicom", BOUNDARY, f"/inst/{index}", len(payload)) + payload + b"\r\n"
    return bytes(out + closing(BOUNDARY) + epilogue)


def _feed_in_chunks(body: bytes, size: int, **kwargs: int) -> list[Part]:
    reader = MultipartReader(BOUNDARY, **kwargs)
    parts: list[Part] = []
    for start in range(0, len(body), size):
        parts.extend(reader.feed(body[start : start + size]))
    reader.close()
    return parts


@pytest.mark.parametrize(
    "header",
    [
        'multipart/related; type="application/dicom"; boundary=abc',
        "multipart/related; type=application/dicom; boundary=abc",
        'Multipart/Related;TYPE="application/dicom";Boundary="abc"',
        ' multipart/related ; boundary = abc ; type = "application/dicom" ',
    ],
)
def test_parse_content_type_accepts_quoted_and_unquoted_type(header: str) -> None:
    media_type, params = parse_content_type(header)
    assert media_type == "multipart/related"
    assert params == {"type": "application/dicom", "boundary": "abc"}
    assert multipart_boundary(header) == "abc"


def test_parse_content_type_keeps_semicolons_inside_quotes_and_transfer_syntax() -> None:
    media_type, params = parse_content_type('multipart/related; type="application/octet-stream; x=1"; boundary="a;b"')
    assert media_type == "multipart/related"
    assert params == {"type": "application/octet-stream; x=1", "boundary": "a;b"}
    _, params = parse_content_type("image/jpeg; transfer-syntax=1.2.840.10008.1.2.4.50")
    assert params["transfer-syntax"] == "1.2.840.10008.1.2.4.50"


@pytest.mark.parametrize("header", ["", "application/dicom", "multipart/related; boundary=", "multipart/related; b"])
def test_bad_multipart_content_types_are_refused(header: str) -> None:
    with pytest.raises(MalformedMultipartError):
        multipart_boundary(header)


@pytest.mark.parametrize("chunk_size", [1, 2, 3, 7, 13, 64, 1000, 10**6])
def test_parts_survive_any_chunking(chunk_size: int) -> None:
    # The payloads hold CR, LF, dashes and a near-boundary string, all of which must come through untouched.
    payloads = [os.urandom(300), b"\r\n--b0undary-XY\r\n\r\n", b"", b"--b0undary-XYZZ not a boundary\r", b"\n"]
    parts = _feed_in_chunks(_body(payloads, preamble=b"ignore me", epilogue=b"trailing words"), chunk_size)
    assert [p.body for p in parts] == payloads
    assert [p.content_location for p in parts] == [f"/inst/{i}" for i in range(len(payloads))]
    assert all(p.content_type == "application/dicom" for p in parts)
    assert all(p.headers["content-length"] == str(len(pay)) for p, pay in zip(parts, payloads, strict=True))


def test_headers_are_lower_case_and_bare_lf_is_tolerated() -> None:
    body = b"--B\nCONTENT-TYPE: application/dicom\nX-Folded: one\n two\n\nDATA\n--B\n\nnoheaders\n--B--"
    reader = MultipartReader("B")
    parts = reader.feed(body)
    reader.close()
    assert parts[0] == Part({"content-type": "application/dicom", "x-folded": "one two"}, b"DATA")
    assert parts[1] == Part({}, b"noheaders")


def test_only_one_part_is_buffered_at_a_time() -> None:
    reader = MultipartReader(BOUNDARY)
    first = reader.feed(part_header("application/dicom", BOUNDARY) + b"A" * 1000 + b"\r\n")
    assert first == []  # not yet known to be complete
    done = reader.feed(part_header("application/dicom", BOUNDARY))
    assert [p.body for p in done] == [b"A" * 1000]
    assert len(reader._buffer) < 100  # the finished part is gone from the buffer


@pytest.mark.parametrize(
    "cut",
    [
        lambda body: body[: len(body) // 2],  # inside a part
        lambda body: body[: -len(closing(BOUNDARY))],  # right before the closing boundary
        lambda body: body[: -len(closing(BOUNDARY)) + 4],  # inside the closing boundary
        lambda body: body[:20],  # inside the first part's headers
    ],
)
def test_truncated_bodies_are_detected(cut: object) -> None:
    body = _body([b"x" * 500, b"y" * 500])
    assert callable(cut)
    with pytest.raises(MalformedMultipartError, match="cut short"):
        _feed_in_chunks(cut(body), 50)


def test_a_body_without_the_boundary_is_refused() -> None:
    with pytest.raises(MalformedMultipartError, match="boundary"):
        _feed_in_chunks(b"just some bytes with --other-boundary\r\n", 5)


def test_text_after_a_boundary_is_refused() -> None:
    with pytest.raises(MalformedMultipartError):
        MultipartReader("B").feed(b"--B junk\r\n\r\nx\r\n--B--")


def test_part_size_limit() -> None:
    body = _body([b"a" * 100, b"b" * 101])
    assert len(_feed_in_chunks(body, 7, max_part_size=101)) == 2
    with pytest.raises(PartTooLargeError) as info:
        _feed_in_chunks(body, 7, max_part_size=100)
    assert info.value.limit == 100
    # An oversized part is refused before its end arrives, so it cannot exhaust memory.
    reader = MultipartReader(BOUNDARY, max_part_size=1000)
    reader.feed(part_header("application/dicom", BOUNDARY))
    with pytest.raises(PartTooLargeError):
        for _ in range(100):
            reader.feed(b"z" * 100)


async def _chunks(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_iter_parts_async() -> None:
    payloads = [b"one", os.urandom(5000)]
    got = [part.body async for part in iter_parts(_chunks(_body(payloads), 333), BOUNDARY)]
    assert got == payloads
    with pytest.raises(MalformedMultipartError):
        async for _ in iter_parts(_chunks(_body(payloads)[:-30], 333), BOUNDARY):
            pass


def test_boundary_is_random_and_valid() -> None:
    first, second = boundary(), boundary()
    assert first != second
    assert 1 <= len(first) <= 70 and first.isalnum()
    assert multipart_boundary(multipart_content_type("application/dicom", first)) == first
    assert parse_content_type(multipart_content_type("application/dicom", first))[1]["type"] == "application/dicom"


def test_part_header_layout() -> None:
    assert part_header("application/dicom", "B", "/x", 5) == (
        b"--B\r\nContent-Type: application/dicom\r\nContent-Location: /x\r\nContent-Length: 5\r\n\r\n"
    )
    assert part_header("image/jpeg", "B") == b"--B\r\nContent-Type: image/jpeg\r\n\r\n"
    assert closing("B") == b"--B--\r\n"


async def test_multipart_stream_round_trips_through_the_reader() -> None:
    def chunked() -> Iterator[bytes]:
        yield b"abc"
        yield b""
        yield b"def\r\n"

    async def async_chunked() -> AsyncIterator[bytes]:
        yield b"\x00\x01"
        yield b"\x02"

    async def specs() -> AsyncIterator[tuple[str, bytes | Iterator[bytes] | AsyncIterator[bytes], str | None]]:
        yield ("application/dicom", b"first", "/a")
        yield ("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", chunked(), None)
        yield ("image/jpeg", async_chunked(), "/c")

    b = boundary()
    body = b"".join([chunk async for chunk in multipart_stream(specs(), b)])
    assert body.startswith(f"--{b}\r\n".encode()) and body.endswith(f"--{b}--\r\n".encode())
    reader = MultipartReader(b)
    parts = reader.feed(body)
    reader.close()
    assert [p.body for p in parts] == [b"first", b"abcdef\r\n", b"\x00\x01\x02"]
    assert parts[0].headers == {"content-type": "application/dicom", "content-location": "/a", "content-length": "5"}
    assert parts[1].content_type == "application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1"
    assert parts[2].content_location == "/c"


async def test_multipart_stream_accepts_a_plain_list() -> None:
    body = b"".join([c async for c in multipart_stream([("text/plain", b"x", None)], "B")])
    assert body == b"--B\r\nContent-Type: text/plain\r\nContent-Length: 1\r\n\r\nx\r\n--B--\r\n"


def test_a_boundary_longer_than_rfc_2046_allows_is_read() -> None:
    # Orthanc's DICOMweb plugin: two UUIDs joined by '-', 73 characters; its close delimiter has no CRLF after it.
    boundary = "0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1-0f3cf5c0-70e0-41ef-baef-c6f9f65ec3e1"
    assert len(boundary) == 73
    header = f'multipart/related; type="application/dicom"; boundary={boundary}'
    body = f"--{boundary}\r\nContent-Type: application/dicom\r\nContent-Length: 3\r\n\r\nabc\r\n--{boundary}--".encode()
    reader = MultipartReader(multipart_boundary(header))
    [part] = reader.feed(body)
    reader.close()
    assert part.body == b"abc" and part.content_type == "application/dicom"


async def test_a_body_in_memory_is_byte_for_byte_the_streamed_one() -> None:
    """multipart_body (frames, bulk values) and multipart_stream (instances) write the same framing."""
    parts: list[tuple[str, bytes, str | None]] = [
        ("application/octet-stream; transfer-syntax=1.2.840.10008.1.2.1", os.urandom(70_000), None),
        ("image/jpeg", b"", "http://x/dicomweb/studies/1.2/series/1.3/instances/1.4"),
        ("application/octet-stream", b"\r\n\r\n--", None),
    ]
    streamed = b"".join([chunk async for chunk in multipart_stream(parts, BOUNDARY)])
    assert multipart_body(parts, BOUNDARY) == streamed

    async def once() -> AsyncIterator[bytes]:
        yield streamed

    assert [part.body async for part in iter_parts(once(), BOUNDARY)] == [p[1] for p in parts]


class _OneBuffer(MultipartReader):
    """The reader as it was before long parts were kept as chunks: every byte appended to one buffer (reference)."""

    def _read_body(self) -> Part | None:
        index = self._find_delimiter()
        limit = self._max_part_size
        if index is None:
            if limit is not None and len(self._buffer) > limit + len(self._delimiter) + 1:
                raise PartTooLargeError(limit)
            return None
        end = index - 1 if index > 0 and self._buffer[index - 1] == 0x0D else index
        if limit is not None and end > limit:
            raise PartTooLargeError(limit)
        part = Part(self._headers, bytes(self._buffer[:end]))
        del self._buffer[: index + len(self._delimiter)]
        return self._part_done(part)


def _outcomes(reader: MultipartReader, chunks: list[bytes]) -> list[object]:
    """What each feed and the close return or raise, in order."""
    out: list[object] = []
    for chunk in [*chunks, None]:
        try:
            if chunk is None:
                reader.close()
                out.append("closed")
            else:
                out.append(reader.feed(chunk))
        except (MalformedMultipartError, PartTooLargeError) as exc:
            out.append((type(exc).__name__, str(exc)))
            break
    return out


def _tricky_payload(rng: random.Random, b: str) -> bytes:
    """Random bytes with pieces of the delimiter, CRs, LFs and dashes mixed in, of any length."""
    delimiter = f"\r\n--{b}".encode()
    pieces = [
        rng.randbytes(rng.choice([0, 1, 5, 40, 700, 5000])),
        delimiter[: rng.randrange(len(delimiter))],
        delimiter + rng.choice([b"X", b"x-", b"0"]),  # a longer string that begins with the boundary
        rng.choice([b"\r", b"\n", b"\r\n", b"-", b"--", b"\n--"]),
    ]
    rng.shuffle(pieces)
    return b"".join(pieces[: rng.randrange(len(pieces) + 1)])


@pytest.mark.parametrize("seed", range(40))
def test_chunked_parts_match_the_one_buffer_reader(seed: int) -> None:
    # Differential: any body (well-formed or cut, LF or CRLF delimiters, limits hit or not), split anywhere, gives
    # the same parts from the same feed calls, and the same error at the same call, as the one-buffer reader.
    rng = random.Random(seed)
    b = rng.choice(["B", BOUNDARY, "x" * 70, "0123456789abcdef" * 4])
    body = bytearray(rng.choice([b"", b"preamble\r\n"]))
    for index in range(rng.randrange(1, 6)):
        newline = rng.choice([b"\r\n", b"\n"])
        body += (b"" if index == 0 and not body else newline) + f"--{b}".encode() + rng.choice([b"", b"  "]) + newline
        body += b"Content-Type: application/dicom" + newline + newline + _tricky_payload(rng, b)
    body += rng.choice([b"\r\n", b"\n"]) + f"--{b}--".encode() + rng.choice([b"", b"\r\nepilogue"])
    if rng.random() < 0.2:
        body = body[: rng.randrange(len(body))]
    limit = rng.choice([None, None, 10, 1000, 4000])
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(body)), min(len(body) - 1, rng.randrange(1, 30))))
        chunks = [bytes(body[i:j]) for i, j in zip([0, *cuts], [*cuts, len(body)], strict=True)]
        expected = _outcomes(_OneBuffer(b, max_part_size=limit), chunks)
        assert _outcomes(MultipartReader(b, max_part_size=limit), chunks) == expected


def test_a_long_part_arrives_in_chunks_and_ends_on_any_split() -> None:
    # The delimiter, and the CR before it, split between every pair of chunks a long part may end across.
    payload = os.urandom(70_000)
    body = _body([payload, b"next"])
    end = body.index(b"\r\n--" + BOUNDARY.encode(), len(payload))
    for split in range(end - 3, end + len(BOUNDARY) + 6):
        chunks = [body[i : i + 16384] for i in range(0, split, 16384)] + [body[split:]]
        parts = _outcomes(MultipartReader(BOUNDARY), chunks)
        assert parts == _outcomes(_OneBuffer(BOUNDARY), chunks)
        assert [p.body for feed in parts[:-1] for p in feed] == [payload, b"next"]  # type: ignore[attr-defined]


def test_a_part_begun_in_the_buffer_is_bytes_that_later_chunks_leave_alone() -> None:
    # A long part's first piece is the reader's own buffer (not copied): the part handed out is still an immutable
    # bytes object equal to what was sent, whatever the reader is fed afterwards.
    payloads = [os.urandom(70_000), os.urandom(90_000), os.urandom(10)]
    body = _body(payloads)
    reader = MultipartReader(BOUNDARY)
    parts: list[Part] = []
    for start in range(0, len(body), 50_000):
        parts += reader.feed(body[start : start + 50_000])
        assert all(type(p.body) is bytes for p in parts)
        assert [p.body for p in parts] == payloads[: len(parts)]
    reader.close()
    assert [p.body for p in parts] == payloads


@pytest.mark.parametrize("seed", range(6))
def test_the_memmem_search_finds_what_bytes_find_finds(seed: int) -> None:
    # Differential: the reader's search (memmem over long spans) against bytes.find, on bytes and on bytearrays, with
    # the delimiter at the start, the end and anywhere between, cut short, or absent, from any start.
    assert multipart._MEMMEM is not None  # glibc: the path under test
    rng = random.Random(seed)
    needle = f"\n--{rng.choice(['B', BOUNDARY, 'x' * 70])}".encode()
    for _ in range(60):
        size = rng.choice([0, 100, multipart._MEMMEM_FROM - 1, multipart._MEMMEM_FROM, 70_000, 600_000])
        data = bytearray(rng.randbytes(size))
        for _ in range(rng.randrange(4)):
            at = rng.choice(
                [0, size // 2, max(0, size - len(needle)), max(0, size - len(needle) + 3), rng.randrange(size + 1)]
            )
            data[at : at + len(needle)] = needle[: max(0, min(len(needle), size - at))]
        for start in {0, 1, size // 3, max(0, size - multipart._MEMMEM_FROM), size - 1, size, size + 5, -1}:
            for haystack in (bytes(data), data):
                assert multipart._find(haystack, needle, start) == haystack.find(needle, start)


def _header_end_as_before(buffer: bytearray) -> tuple[int, int] | None:
    """The header block's end as `_read_headers` found it before (reference): both forms over the whole window."""
    window = multipart._MAX_HEADER_BYTES + 3
    found = [
        (i, n) for i, n in ((buffer.find(b"\n\r\n", 0, window), 3), (buffer.find(b"\n\n", 0, window), 2)) if i >= 0
    ]
    return min(found) if found else None


@pytest.mark.parametrize("seed", range(4))
def test_the_header_block_ends_where_it_ended_before(seed: int) -> None:
    # Differential: LF CR LF and LF LF blank lines alone, both in either order, adjacent ("\n\n\r\n", "\n\r\n\n"), at
    # the window's edge and past it, none at all, over bodies with and without line breaks of their own.
    rng = random.Random(seed)
    window = multipart._MAX_HEADER_BYTES + 3
    forms = [b"\n\r\n", b"\n\n", b"\n\n\r\n", b"\n\r\n\n", b"\r\n\r\n", b"\n\r\n\r\n"]
    for _ in range(400):
        size = rng.choice([0, 1, 3, 40, window - 3, window - 2, window, window + 50, 70_000])
        body = rng.choice([lambda n: rng.randbytes(n), lambda n: bytes(rng.choice(b"\r\nab") for _ in range(n))])
        data = bytearray(body(size))
        for _ in range(rng.randrange(4)):
            form = rng.choice(forms)
            at = rng.choice([0, 1, rng.randrange(size + 1), max(0, window - len(form)), max(0, window - 1), size])
            data[at : at + len(form)] = form
        assert multipart._header_end(data) == _header_end_as_before(data)

"""Reading and writing multipart/related bodies for STOW-RS and WADO-RS (PS3.18 §8.6.1.2; RFC 2046 §5.1, RFC 2387)."""

from __future__ import annotations

import ctypes
import secrets
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from enum import Enum
from typing import TypeVar

_T = TypeVar("_T")

CRLF = b"\r\n"
# RFC 2046 §5.1.1 allows 70 characters; received boundaries may be longer (lenient on what we receive): Orthanc's
# DICOMweb plugin sends two UUIDs joined by '-', 73 characters. The reader never needs more than it is given.
MAX_BOUNDARY_LENGTH = 256
_MAX_HEADER_BYTES = 16 * 1024  # a part's header block; real ones are a few hundred bytes
_BOUNDARY_FOLLOWERS = frozenset(b"-\r\n \t")


class MalformedMultipartError(ValueError):
    """The body is not a well-formed multipart/related entity (PS3.18 §8.6.1.2); STOW-RS answers 400."""


class PartTooLargeError(ValueError):
    """One part is larger than the limit the reader was given; STOW-RS answers 413."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"a part is larger than the {limit} bytes allowed for one instance")
        self.limit = limit


@dataclass(frozen=True)
class Part:
    """One body part: its headers (names in lower case) and its payload."""

    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    @property
    def content_type(self) -> str | None:
        return self.headers.get("content-type")

    @property
    def content_location(self) -> str | None:
        return self.headers.get("content-location")


# --- Content-Type ------------------------------------------------------------------------------------------


def parse_content_type(header: str) -> tuple[str, dict[str, str]]:
    """Split a Content-Type into its media type (lower case) and parameters (names in lower case).

    Lenient on what we receive (PS3.18 §8.6.1.2.1): `type=application/dicom` is accepted quoted or not,
    since some viewers omit the quotes; quoted values may hold `;` and backslash escapes (RFC 7230 §3.2.6).
    """
    pieces = _split_parameters(header)
    media_type = pieces[0].strip().lower() if pieces else ""
    if not media_type:
        raise MalformedMultipartError("the Content-Type header is empty")
    params: dict[str, str] = {}
    for piece in pieces[1:]:
        name, sep, value = piece.partition("=")
        name = name.strip().lower()
        if not name:
            continue
        if not sep:
            raise MalformedMultipartError(f"the Content-Type parameter {name!r} has no value")
        params[name] = _unquote(value.strip())
    return media_type, params


def multipart_boundary(header: str) -> str:
    """The boundary of a multipart Content-Type: 1 to 70 characters by RFC 2046 §5.1.1, up to 256 accepted."""
    media_type, params = parse_content_type(header)
    if not media_type.startswith("multipart/"):
        raise MalformedMultipartError(f"the Content-Type is {media_type}, not a multipart type")
    value = params.get("boundary", "")
    if not 1 <= len(value) <= MAX_BOUNDARY_LENGTH:
        limit = MAX_BOUNDARY_LENGTH
        raise MalformedMultipartError(f"the multipart Content-Type needs a boundary of 1 to {limit} characters")
    return value


def _split_parameters(header: str) -> list[str]:
    pieces: list[str] = []
    current: list[str] = []
    quoted = escaped = False
    for char in header:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == ";" and not quoted:
            pieces.append("".join(current))
            current = []
            continue
        current.append(char)
    pieces.append("".join(current))
    return pieces


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        out: list[str] = []
        escaped = False
        for char in value[1:-1]:
            if char == "\\" and not escaped:
                escaped = True
                continue
            out.append(char)
            escaped = False
        return "".join(out)
    return value


# --- Reading -----------------------------------------------------------------------------------------------


class _State(Enum):
    PREAMBLE = "preamble"
    AFTER_BOUNDARY = "after boundary"
    HEADERS = "headers"
    BODY = "body"
    EPILOGUE = "epilogue"


class MultipartReader:
    """An incremental multipart/related parser: feed it chunks, it returns each part once it is complete.

    Only the part being read is buffered, so a STOW-RS body of many instances never sits in memory whole. A part
    longer than what has arrived is kept as the chunks it came in (not grown in one buffer, which copied it again at
    every reallocation): each chunk is searched once for the delimiter, and the part's bytes are joined once at its
    end.
    Delimiters are CRLF "--" boundary (RFC 2046 §5.1.1); a bare LF before the dashes is accepted too, because
    the boundary may not occur inside a part, so accepting it cannot split a well-formed payload. Call
    `close()` at the end of the body: it raises MalformedMultipartError when the closing `--boundary--` never
    came, which is how a truncated upload shows.
    """

    def __init__(self, boundary: str, *, max_part_size: int | None = None) -> None:
        if not 1 <= len(boundary) <= MAX_BOUNDARY_LENGTH:
            raise MalformedMultipartError(f"the multipart boundary must be 1 to {MAX_BOUNDARY_LENGTH} characters")
        self._dash_boundary = b"--" + boundary.encode("ascii", errors="strict")
        self._delimiter = b"\n" + self._dash_boundary
        self._max_part_size = max_part_size
        self._buffer = bytearray()
        self._state = _State.PREAMBLE
        self._search_from = 0  # where the next delimiter search starts, so a long part is not rescanned
        self._headers: dict[str, str] = {}
        self._parts_seen = 0
        self._at_start = True  # the first boundary may open the body without a CRLF before it
        # A part body longer than the buffer held: its chunks so far, their length, and the last bytes of them where
        # a delimiter may still start (every earlier start was ruled out), with one byte before for the CR.
        self._pieces: list[bytes | bytearray | memoryview] | None = None
        self._body_length = 0
        self._tail = b""

    @property
    def finished(self) -> bool:
        """Whether the closing boundary has been read."""
        return self._state is _State.EPILOGUE

    def feed(self, data: bytes) -> list[Part]:
        """Add the next chunk of the body; return the parts it completed, in order."""
        if self._state is _State.EPILOGUE:
            return []  # the epilogue is ignored (RFC 2046 §5.1.1)
        parts: list[Part] = []
        rest: bytes | memoryview = data
        if self._pieces is not None:
            done = self._continue_body(data if type(data) is bytes else bytes(data))  # pieces are kept: immutable
            if done is None:
                return parts
            parts.append(done[0])
            rest = done[1]
        self._buffer += rest
        while True:
            before = self._state
            part = self._step()
            if part is not None:
                parts.append(part)
            elif self._state is before:
                return parts  # needs more bytes
            if self.finished:
                self._buffer.clear()
                return parts

    def close(self) -> None:
        """Declare the end of the body; raise MalformedMultipartError if it stopped before the closing boundary."""
        if self._state is _State.EPILOGUE:
            return
        if self._state is _State.PREAMBLE:
            raise MalformedMultipartError(
                "the body holds no part: the boundary from the Content-Type never appears in it"
            )
        where = "inside a part's headers" if self._state is _State.HEADERS else "inside a part"
        raise MalformedMultipartError(
            f"the body ends {where} without the closing boundary after {self._parts_seen} complete part(s); "
            "the upload was probably cut short"
        )

    def _step(self) -> Part | None:
        if self._state is _State.PREAMBLE:
            self._skip_preamble()
        elif self._state is _State.AFTER_BOUNDARY:
            self._after_boundary()
        elif self._state is _State.HEADERS:
            self._read_headers()
        elif self._state is _State.BODY:
            return self._read_body()
        return None

    def _skip_preamble(self) -> None:
        buffer, dash_boundary = self._buffer, self._dash_boundary
        if self._at_start:
            if len(buffer) <= len(dash_boundary) and dash_boundary.startswith(buffer):
                return  # wait: this may be the opening boundary arriving in pieces
            self._at_start = False
            if buffer.startswith(dash_boundary) and buffer[len(dash_boundary)] in _BOUNDARY_FOLLOWERS:
                del buffer[: len(dash_boundary)]
                self._state = _State.AFTER_BOUNDARY
                return
        index = self._find_delimiter()
        if index is None:
            # Keep only a tail that could be the start of a delimiter split across chunks.
            keep = len(self._delimiter)
            if len(buffer) > keep:
                del buffer[: len(buffer) - keep]
            self._search_from = 0
            return
        del buffer[: index + len(self._delimiter)]
        self._state = _State.AFTER_BOUNDARY

    def _after_boundary(self) -> None:
        buffer = self._buffer
        if len(buffer) < 2:
            return
        if buffer.startswith(b"--"):
            self._state = _State.EPILOGUE
            return
        line_end = buffer.find(b"\n")
        if line_end < 0:
            if len(buffer) > _MAX_HEADER_BYTES:
                raise MalformedMultipartError("a boundary line is not followed by a line break")
            return
        padding = bytes(buffer[:line_end]).rstrip(b"\r")
        if padding.strip(b" \t"):
            raise MalformedMultipartError("a boundary line has text after the boundary")
        del buffer[: line_end + 1]
        self._state = _State.HEADERS

    def _read_headers(self) -> None:
        buffer = self._buffer
        if buffer.startswith(b"\r\n") or buffer.startswith(b"\n"):
            end, block = (2 if buffer[0] == 0x0D else 1), b""  # a part with no headers at all
        else:
            found = _header_end(buffer)
            if found is None:
                if len(buffer) > _MAX_HEADER_BYTES:
                    raise MalformedMultipartError(f"a part's headers are longer than {_MAX_HEADER_BYTES} bytes")
                return
            index, length = found
            block, end = bytes(buffer[: index + 1]), index + length
        self._headers = _parse_headers(block)
        del buffer[:end]
        self._search_from = 0
        self._state = _State.BODY

    def _read_body(self) -> Part | None:
        index = self._find_delimiter()
        limit = self._max_part_size
        if index is None:
            if limit is not None and len(self._buffer) > limit + len(self._delimiter) + 1:
                raise PartTooLargeError(limit)
            # The part goes on in later chunks: they are kept as they come (see _continue_body), not appended here.
            # Every delimiter start before _search_from (>= len - len(delimiter)) is ruled out. The buffer itself is
            # the first piece and a fresh one takes its place: copying it to bytes cost a copy of up to a whole
            # received chunk per part, and the buffer is never written again (only joined at the part's end).
            body, self._buffer = self._buffer, bytearray()
            self._pieces, self._body_length = [body], len(body)
            self._tail = bytes(body[-(len(self._delimiter) + 1) :])
            self._search_from = 0
            return None
        end = index - 1 if index > 0 and self._buffer[index - 1] == 0x0D else index
        if limit is not None and end > limit:
            raise PartTooLargeError(limit)
        with memoryview(self._buffer) as view:  # one copy of the body (a bytearray slice would be a second)
            part = Part(self._headers, bytes(view[:end]))
        del self._buffer[: index + len(self._delimiter)]
        return self._part_done(part)

    def _part_done(self, part: Part) -> Part:
        self._headers = {}
        self._search_from = 0
        self._parts_seen += 1
        self._state = _State.AFTER_BOUNDARY
        return part

    def _continue_body(self, data: bytes) -> tuple[Part, memoryview] | None:
        """The next chunk of a part body kept as pieces: the finished part and the bytes after its delimiter, or
        None when the part goes on. Finds exactly the delimiter `_find_delimiter` would find in one buffer."""
        pieces, tail, delimiter = self._pieces, self._tail, self._delimiter
        assert pieces is not None
        length, before = len(delimiter), self._body_length
        tail_at = before - len(tail)  # the body offset of tail[0]
        index: int | None = None  # the delimiter's LF as a body offset
        if tail:
            # A delimiter starting in the tail (only its last `length` bytes can start one), ending in `data`.
            seam = tail + data[:length]
            found = _real_delimiter(seam, delimiter, max(0, len(tail) - length), len(tail))
            if found is not None:
                index = tail_at + found
        if index is None:
            found = _real_delimiter(data, delimiter, 0, len(data))
            if found is not None:
                index = before + found
        limit = self._max_part_size
        if index is None:
            pieces.append(data)
            self._body_length = before + len(data)
            self._tail = data[-(length + 1) :] if len(data) > length else (tail + data)[-(length + 1) :]
            if limit is not None and self._body_length > limit + length + 1:
                raise PartTooLargeError(limit)
            return None
        previous = data[index - 1 - before] if index - 1 >= before else tail[index - 1 - tail_at] if index else -1
        end = index - 1 if previous == 0x0D else index
        if limit is not None and end > limit:
            raise PartTooLargeError(limit)
        view = memoryview(data)
        if end >= before:
            pieces.append(view[: end - before])
        else:  # the part ends in what was kept already (a CR or delimiter split across chunks): cut the pieces there
            cut = before - end
            while cut:
                last = pieces.pop()
                if len(last) > cut:
                    pieces.append(memoryview(last)[: len(last) - cut])
                    break
                cut -= len(last)
        body = b"".join(pieces)
        self._pieces, self._body_length, self._tail = None, 0, b""
        return self._part_done(Part(self._headers, body)), view[index + length - before :]

    def _find_delimiter(self) -> int | None:
        """Index of the next real delimiter's LF in the buffer, or None when it is not (yet) there."""
        buffer, delimiter = self._buffer, self._delimiter
        start = self._search_from
        while True:
            index = _find(buffer, delimiter, start)
            if index < 0:
                # A delimiter may straddle this chunk and the next: resume just before the tail.
                self._search_from = max(0, len(buffer) - len(delimiter))
                return None
            after = index + len(delimiter)
            if after >= len(buffer):
                self._search_from = index
                return None  # cannot tell yet whether "--boundary" is followed by more boundary characters
            if buffer[after] in _BOUNDARY_FOLLOWERS:
                return index
            start = index + 1  # "--boundaryX": a longer string that merely begins with the boundary


def _header_end(buffer: bytearray) -> tuple[int, int] | None:
    """Where the first blank line ends a header block (the index of its first LF, and the length of LF CR LF or
    LF LF), searched only as far as a header block may reach: the buffer may hold many parts' bytes after it. The
    bare-LF form is searched only before the CRLF one: over the whole window it ran through 16 KiB of the part's
    body (~23 us a part) whenever the headers end in CRLF, as they nearly always do."""
    window = _MAX_HEADER_BYTES + 3
    crlf = buffer.find(b"\n\r\n", 0, window)
    lf = buffer.find(b"\n\n", 0, window if crlf < 0 else crlf + 1)  # an LF LF before it ends at crlf + 1 at most
    if lf >= 0:
        return lf, 2
    return None if crlf < 0 else (crlf, 3)


def _real_delimiter(data: bytes, delimiter: bytes, start: int, stop: int) -> int | None:
    """The first index in [start, stop) where `delimiter` begins and a byte that may follow a boundary follows it
    (`_find_delimiter`'s rule); a match whose next byte is not in `data` yet is not taken (the caller keeps it)."""
    after_max = len(data) - len(delimiter)
    while True:
        index = _find(data, delimiter, start)
        if index < 0 or index >= stop or index >= after_max:
            return None
        if data[index + len(delimiter)] in _BOUNDARY_FOLLOWERS:
            return index
        start = index + 1


def _memmem() -> Callable[[int, int, bytes, int], int | None] | None:
    try:
        memmem = ctypes.PyDLL(None).memmem  # PyDLL: called holding the GIL, as bytes.find is
    except (OSError, AttributeError):
        return None
    memmem.restype = ctypes.c_void_p
    memmem.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_size_t]
    return memmem


_MEMMEM = _memmem()
_MEMMEM_FROM = 32768  # below this a ctypes call costs more than it saves


def _find(data: bytes | bytearray, needle: bytes, start: int) -> int:
    """`data.find(needle, start)`, by the C library's memmem over a long span: CPython's search slows to about a
    third of memmem's speed on pixel data (~90 against ~30 us per 512 KiB slice), and every part is searched."""
    if _MEMMEM is None or len(data) - start < _MEMMEM_FROM or start < 0:
        return data.find(needle, start)
    if type(data) is bytes:
        base = ctypes.cast(ctypes.c_char_p(data), ctypes.c_void_p).value or 0  # its bytes, not copied
        found = _MEMMEM(base + start, len(data) - start, needle, len(needle))
    elif type(data) is bytearray:
        # Its first byte, held so the bytearray cannot be resized meanwhile (one ctypes type: an array type per
        # length would be a new class each time, kept forever).
        view = ctypes.c_char.from_buffer(data)
        base = ctypes.addressof(view)
        found = _MEMMEM(base + start, len(data) - start, needle, len(needle))
        del view
    else:
        return data.find(needle, start)
    return -1 if found is None else found - base


def _parse_headers(block: bytes) -> dict[str, str]:
    headers: dict[str, str] = {}
    last: str | None = None
    for raw in block.decode("latin-1").split("\n"):
        line = raw.rstrip("\r")
        if not line:
            continue
        if line[0] in " \t" and last is not None:  # an obsolete folded continuation line (RFC 5322 §2.2.3)
            headers[last] += " " + line.strip()
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            raise MalformedMultipartError(f"a part header line is not 'Name: value': {line[:80]!r}")
        last = name.strip().lower()
        headers[last] = value.strip()
    return headers


async def iter_parts(
    chunks: AsyncIterable[bytes], boundary: str, *, max_part_size: int | None = None
) -> AsyncIterator[Part]:
    """The parts of a streamed multipart body, each yielded once complete; raises at a truncated end."""
    reader = MultipartReader(boundary, max_part_size=max_part_size)
    async for chunk in chunks:
        for part in reader.feed(chunk):
            yield part
    reader.close()


# --- Writing -----------------------------------------------------------------------------------------------

PartBody = bytes | Iterable[bytes | memoryview] | AsyncIterable[bytes | memoryview]
PartSpec = tuple[str, PartBody, str | None]
"""(Content-Type, payload as bytes or a stream of chunks, Content-Location or None)."""


def boundary() -> str:
    """A fresh random boundary: 32 hex digits cannot occur by chance in a payload (RFC 2046 §5.1.1)."""
    return secrets.token_hex(16)


def multipart_content_type(root_type: str, boundary_value: str) -> str:
    """`multipart/related; type="<root>"; boundary=<b>`, with the type quoted as PS3.18 §8.6.1.2.1 requires."""
    return f'multipart/related; type="{root_type}"; boundary={boundary_value}'


def part_header(
    content_type: str, boundary: str, content_location: str | None = None, length: int | None = None
) -> bytes:
    """The delimiter line and headers that open a part (PS3.18 §8.6.1.2); the payload follows, then CRLF."""
    lines = [f"--{boundary}", f"Content-Type: {content_type}"]
    if content_location is not None:
        lines.append(f"Content-Location: {content_location}")
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


def closing(boundary: str) -> bytes:
    """The close delimiter that ends the body (RFC 2046 §5.1.1)."""
    return f"--{boundary}--\r\n".encode("ascii")


def multipart_body(parts: Iterable[tuple[str, bytes | bytearray, str | None]], boundary: str) -> bytes:
    """The whole body of parts already in memory, byte for byte what `multipart_stream` makes of them.

    One join copies each payload once: `header + payload + CRLF` made two more copies of every frame (a 512x512 CT
    frame is 512 KiB, and fresh buffers of that size cost page faults as well as the copy)."""
    pieces: list[bytes | bytearray] = []
    for content_type, body, location in parts:
        pieces += (part_header(content_type, boundary, location, len(body)), body, CRLF)
    pieces.append(closing(boundary))
    return b"".join(pieces)


async def multipart_stream(parts: Iterable[PartSpec] | AsyncIterable[PartSpec], boundary: str) -> AsyncIterator[bytes]:
    """The chunks of a multipart/related body, produced part by part so a whole study is never in memory.

    Each payload is bytes (sent with a Content-Length) or a sync or async stream of chunks; each is followed
    by CRLF so the next delimiter starts on its own line, and the body ends with the close delimiter.
    """
    async for content_type, body, location in _aiter(parts):
        if isinstance(body, bytes | bytearray | memoryview):
            yield part_header(content_type, boundary, location, len(body)) + bytes(body) + CRLF
            continue
        yield part_header(content_type, boundary, location)
        async for chunk in _aiter(body):
            if chunk:
                yield bytes(chunk)
        yield CRLF
    yield closing(boundary)


async def _aiter(items: Iterable[_T] | AsyncIterable[_T]) -> AsyncIterator[_T]:
    if isinstance(items, AsyncIterable):
        async for item in items:
            yield item
    else:
        for item in items:
            yield item

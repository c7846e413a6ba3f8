"""`runtime/direct_io.write_file`: the same bytes and size as a plain write, on the real disk, past the page cache."""

from __future__ import annotations

import errno
import fcntl
import os
import threading
from pathlib import Path

import pytest

from yilian.runtime import direct_io

SIZES = [1, 511, 4095, 4096, 4097, 524_288 + 1_234, direct_io.CHUNK - 1, direct_io.CHUNK, direct_io.CHUNK + 1,
         2 * direct_io.CHUNK + 4_100]  # fmt: skip


def _new(path: Path) -> int:
    return os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o600)


def _resident_pages(path: Path) -> int:
    """Pages of the file in the page cache: mincore(2) over a read-only mapping of it."""
    import ctypes
    import mmap

    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
    size = path.stat().st_size
    pages = -(-size // mmap.PAGESIZE)
    vec = (ctypes.c_ubyte * pages)()
    fd = os.open(path, os.O_RDONLY)
    try:
        base = libc.mmap(None, size, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        assert base not in (None, ctypes.c_void_p(-1).value), ctypes.get_errno()
        try:
            assert libc.mincore(ctypes.c_void_p(base), ctypes.c_size_t(size), vec) == 0, ctypes.get_errno()
        finally:
            libc.munmap(ctypes.c_void_p(base), ctypes.c_size_t(size))
    finally:
        os.close(fd)
    return sum(v & 1 for v in vec)


@pytest.mark.parametrize("size", SIZES)
def test_same_bytes_and_size_as_a_plain_write(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    fd = _new(tmp_path / "f")
    try:
        direct_io.write_file(fd, data)
        os.fsync(fd)
        assert not fcntl.fcntl(fd, fcntl.F_GETFL) & os.O_DIRECT  # left as it was found
    finally:
        os.close(fd)
    assert (tmp_path / "f").read_bytes() == data


def test_the_padding_is_zeros_not_an_earlier_files_bytes(tmp_path: Path) -> None:
    """The block past the end goes to the disk too (the file system cannot show it afterwards: it zeroes the tail at
    the cut), so what this thread's buffer held there when it was written must not be the previous file's bytes."""
    secret = b"\xa5" * direct_io.ALIGN * 3
    first = _new(tmp_path / "first")
    direct_io.write_file(first, secret)
    os.close(first)
    second = _new(tmp_path / "second")
    direct_io.write_file(second, b"x" * 100)
    os.close(second)
    sent = bytes(direct_io._bounce()[: direct_io.ALIGN])  # the one block the second write sent
    assert sent == b"x" * 100 + bytes(direct_io.ALIGN - 100)
    assert (tmp_path / "second").read_bytes() == b"x" * 100


def test_the_file_is_not_left_in_the_page_cache(tmp_path: Path) -> None:
    """The point of it: a direct write puts no page of the file in the cache (a plain one puts all of them)."""
    data = os.urandom(64 * direct_io.ALIGN)
    for name, direct in (("plain", False), ("direct", True)):
        fd = _new(tmp_path / name)
        direct_io.write_file(fd, data, direct=direct)
        os.fsync(fd)
        os.close(fd)
    assert _resident_pages(tmp_path / "plain") == 64
    assert _resident_pages(tmp_path / "direct") == 0
    assert (tmp_path / "direct").read_bytes() == data


def test_threads_write_at_once_each_from_its_own_buffer(tmp_path: Path) -> None:
    datas = [os.urandom(300_000 + 4_097 * i) for i in range(8)]
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for round_ in range(5):
                fd = _new(tmp_path / f"{i}-{round_}")
                direct_io.write_file(fd, datas[i])
                os.close(fd)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for i in range(8):
        for round_ in range(5):
            assert (tmp_path / f"{i}-{round_}").read_bytes() == datas[i]


def test_bytearray_and_memoryview_of_other_shapes(tmp_path: Path) -> None:
    import array

    values = array.array("H", range(10_000))
    fd = _new(tmp_path / "f")
    direct_io.write_file(fd, memoryview(values))
    os.close(fd)
    assert (tmp_path / "f").read_bytes() == values.tobytes()


def test_a_file_system_that_refuses_o_direct_gets_a_plain_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some FUSE and network file systems answer EINVAL; none is mountable here, so the kernel's answer is given."""
    real = fcntl.fcntl
    asked = []

    def refusing(fd: int, cmd: int, arg: int = 0) -> int:
        if cmd == fcntl.F_SETFL and arg & os.O_DIRECT:
            asked.append(fd)
            raise OSError(errno.EINVAL, "Invalid argument")
        return real(fd, cmd, arg)

    monkeypatch.setattr(direct_io.fcntl, "fcntl", refusing)
    direct_io.forget_refusals()
    try:
        for name in ("a", "b"):
            fd = _new(tmp_path / name)
            direct_io.write_file(fd, b"y" * 5000)
            os.close(fd)
            assert (tmp_path / name).read_bytes() == b"y" * 5000
        assert len(asked) == 1  # the device is remembered: the second file is not asked again
    finally:
        direct_io.forget_refusals()

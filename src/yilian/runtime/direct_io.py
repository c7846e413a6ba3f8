"""Whole files written past the page cache (O_DIRECT), through a bounce buffer each thread keeps.

Why: on this kind of VM (firecracker, free page reporting) a buffered write's copy into fresh page-cache pages costs
the guest far more than the copy: in `bench/cstore_cost.py` the kernel's `copy_folio_from_iter_atomic` was 29-37% of
the API's and the gateway's CPU (docs/benchmarks.md, "Writing past the page cache"). A direct write reaches the
device by DMA from a buffer this thread has used before, so no new page is faulted in. The price: the file is not in
the page cache afterwards, so its first read comes from the disk.

A direct write must start, end and sit in memory on block boundaries, so each piece is copied into the thread's
page-aligned buffer, the last block padded with zeros (never an earlier instance's bytes) and the file cut back to
its size. Where the file system refuses O_DIRECT (some FUSE and network file systems) the write is a plain one, and
that device is not asked again. Standard library only: the gateway and the API both use it.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
import threading

Buffer = bytes | bytearray | memoryview | mmap.mmap

ALIGN = 4096  # the page size: a multiple of every logical block size Linux accepts for O_DIRECT
CHUNK = 4 * 1024 * 1024  # the bounce buffer: one write for any CT or MR slice, a few for a multi-frame instance
_ZEROS = bytes(ALIGN)

_local = threading.local()
_refused_devices: set[int] = set()  # st_dev of file systems that answered EINVAL to O_DIRECT


def write_file(fd: int, data: Buffer, *, direct: bool = True) -> None:
    """Write `data` into the empty regular file `fd` from offset 0; making it durable (fsync) is the caller's.

    `direct=False`, an empty `data` or a file system without O_DIRECT: a plain write. The file's bytes and size are
    the same either way."""
    with memoryview(data) as view, view.cast("B") as raw:
        if not direct or not len(raw) or not _enable_direct(fd):
            _write_plain(fd, raw)
            return
        try:
            _write_direct(fd, raw)
        except OSError as exc:
            if exc.errno != errno.EINVAL:
                raise
            # Accepted at fcntl, refused at the write (some stacked file systems): start again, plainly.
            _refused_devices.add(os.fstat(fd).st_dev)
            _set_direct(fd, False)
            os.ftruncate(fd, 0)
            _write_plain(fd, raw)
            return
        _set_direct(fd, False)  # later reads or writes by the caller through this descriptor need no alignment


def _write_direct(fd: int, raw: memoryview) -> None:
    bounce = _bounce()
    size = len(raw)
    offset = 0
    while offset < size:
        n = min(CHUNK, size - offset)
        bounce[:n] = raw[offset : offset + n]
        padded = -(-n // ALIGN) * ALIGN
        if padded != n:
            bounce[n:padded] = _ZEROS[: padded - n]
        with memoryview(bounce) as out:
            done = 0
            while done < padded:  # a direct write is whole or an error, but a signal may still cut it short
                done += os.pwrite(fd, out[done:padded], offset + done)
        offset += n
    if size % ALIGN:
        os.ftruncate(fd, size)


def _write_plain(fd: int, raw: memoryview) -> None:
    written = 0
    while written < len(raw):  # one call but for a file over 2 GiB (or a signal mid-write)
        written += os.write(fd, raw[written:])


def _bounce() -> mmap.mmap:
    """This thread's page-aligned buffer (an anonymous mapping is aligned by construction), made on first use."""
    buffer: mmap.mmap | None = getattr(_local, "bounce", None)
    if buffer is None:
        buffer = _local.bounce = mmap.mmap(-1, CHUNK)
    return buffer


def _enable_direct(fd: int) -> bool:
    if _refused_devices and os.fstat(fd).st_dev in _refused_devices:
        return False
    try:
        _set_direct(fd, True)
    except OSError as exc:
        if exc.errno != errno.EINVAL:
            raise
        _refused_devices.add(os.fstat(fd).st_dev)
        return False
    return True


def _set_direct(fd: int, on: bool) -> None:
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    wanted = flags | os.O_DIRECT if on else flags & ~os.O_DIRECT
    if wanted != flags:
        fcntl.fcntl(fd, fcntl.F_SETFL, wanted)


def forget_refusals() -> None:
    """Ask every file system again (tests)."""
    _refused_devices.clear()

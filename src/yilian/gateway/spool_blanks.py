"""Blank spool files: empty files under `instances/`, their names already durable, made ahead of need.

Why: a new file's name survives a power cut only once its directory is fsynced, and on this kind of VM every fsync
is a device flush, even with nothing dirty. Spooling an instance into a blank costs the write and the file's fsync;
the directory's flush was paid earlier, by a background thread, once for a whole batch of blanks. The modality,
which waits for each acknowledgement, no longer waits for it (docs/gateway.md, "Performance notes").

A blank keeps its name once written: the queue's row names the file (`path`), so the name means nothing else. A
DICOM file is never empty (a 128-byte preamble and "DICM" at least), so an empty file no row names is a blank.
"""

from __future__ import annotations

import contextlib
import logging
import os
import threading
import uuid
from collections import deque
from collections.abc import Iterable
from pathlib import Path

log = logging.getLogger(__name__)

# The background thread tops the pool up to its size whenever it falls below half of it: with POOL_SIZE, one
# directory flush per 32 instances. A batch of 32 takes a few milliseconds (32 creations and one flush), about what
# one association needs for one instance, so even 16 associations at once leave the pool half full when the next
# batch lands.
POOL_SIZE = 64
_RETRY_SECONDS = 1.0  # after a failed batch (a full disk, the spool gone): meanwhile puts make their own files


class BlankPool:
    """Blanks for `InstanceQueue.spool_file`, as names relative to the spool (`instances/xx/<hex>.dcm`).

    `take` never waits: an empty pool (a burst, or the first instance after start-up) answers None and the caller
    makes its own file and flushes its directory, as every instance did before. The refill runs in a daemon thread,
    started by `adopt` (start-up, from `recover`) or by the first `take`, and stopped by `close`.
    """

    def __init__(self, spool_dir: Path, *, size: int = POOL_SIZE) -> None:
        self._spool = os.fspath(spool_dir)
        self._instances = f"{self._spool}/instances"
        self._size, self._refill_below = size, size // 2
        self._blanks: deque[str] = deque()
        self._turn = threading.Condition()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._durable_prefixes: set[str] = set()  # prefix directories whose entry in instances/ is known flushed

    def adopt(self, names: Iterable[str]) -> int:
        """Take in the blanks a previous run left (found by `recover`), then start the refill; the count adopted.

        Their names may never have reached the disk (a process killed between a batch's creation and its flush,
        or a new prefix directory not yet flushed into `instances/`), so `instances/` and each of their directories
        are flushed once here. Only before the pool has started: after that a blank on disk may be in the pool or
        being written, so it is left for the next start-up.
        """
        names = list(names)
        with self._turn:
            if self._thread is not None or self._closed or not self._size:
                return 0
        fsync_directory(self._instances)
        self._durable_prefixes.update(os.listdir(self._instances))
        for directory in sorted({name.rpartition("/")[0] for name in names}):
            fsync_directory(f"{self._spool}/{directory}")
        with self._turn:
            if self._thread is not None or self._closed:  # a put came first after all: leave them for next time
                return 0
            self._blanks.extend(names)
            self._start()
        return len(names)

    def take(self) -> str | None:
        """A blank's name relative to the spool, now the caller's alone; None when none is ready."""
        with self._turn:
            name = self._blanks.popleft() if self._blanks else None
            if len(self._blanks) < self._refill_below:
                self._start()
                self._turn.notify()
        return name

    def new_file(self) -> tuple[int, str]:
        """A new file for when no blank is ready: (descriptor open for writing, name relative to the spool).

        Its name is not durable until the caller fsyncs its directory (`fsync_directory(self.directory_of(name))`).
        """
        name = f"{self._prefix()}/{uuid.uuid4().hex}.dcm"
        return create(f"{self._instances}/{name}"), f"instances/{name}"

    def directory_of(self, name: str) -> str:
        return f"{self._spool}/{name.rpartition('/')[0]}"

    def ready(self) -> int:
        with self._turn:
            return len(self._blanks)

    def close(self) -> None:
        with self._turn:
            self._closed = True
            self._turn.notify_all()
            thread = self._thread
        if thread is not None:
            thread.join()

    # -- the refill thread -------------------------------------------------------------------------------------

    def _start(self) -> None:  # under self._turn
        if self._thread is None and not self._closed and self._size:
            self._thread = threading.Thread(target=self._refill_forever, name="spool-blanks", daemon=True)
            self._thread.start()

    def _refill_forever(self) -> None:
        while True:
            with self._turn:
                self._turn.wait_for(lambda: self._closed or len(self._blanks) < self._refill_below)
                if self._closed:
                    return
                wanted = self._size - len(self._blanks)
            try:
                made = self.make_batch(wanted)
            except OSError as exc:
                log.warning("could not make blank spool files, each instance flushes its own directory: %s", exc)
                with self._turn:
                    self._turn.wait_for(lambda: self._closed, timeout=_RETRY_SECONDS)
                continue
            with self._turn:
                self._blanks.extend(made)

    def make_batch(self, count: int) -> list[str]:
        """`count` blanks in one prefix directory, made durable by one flush of it; their names.

        A failure part-way leaves empty files whose names may not be durable: the next start-up adopts them and
        flushes their directory first.
        """
        prefix = self._prefix()
        names = [f"{prefix}/{uuid.uuid4().hex}.dcm" for _ in range(count)]
        for name in names:
            os.close(create(f"{self._instances}/{name}"))
        fsync_directory(f"{self._instances}/{prefix}")
        return [f"instances/{name}" for name in names]

    def _prefix(self) -> str:
        """One of the 256 prefix directories, at random (the spool's files spread as they did under their hashes),
        its entry in `instances/` durable: made and flushed if new. One found that this process has not seen
        flushed (another thread may have just made it) is flushed again rather than trusted."""
        prefix = os.urandom(1).hex()
        if prefix in self._durable_prefixes:
            return prefix
        with contextlib.suppress(FileExistsError):
            os.mkdir(f"{self._instances}/{prefix}")
        fsync_directory(self._instances)
        self._durable_prefixes.add(prefix)
        return prefix


def create(path: str) -> int:
    """A new file, opened for writing; FileExistsError if the name is taken."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)


def fsync_directory(directory: Path | str) -> None:
    """Make a rename or a new entry in `directory` survive power loss (POSIX leaves it in the page cache)."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)

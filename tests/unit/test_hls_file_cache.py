"""The HLS door's file cache: a file is read once while unchanged, a changed file is read again, and the least
recently used go first when the budget is reached."""

from __future__ import annotations

import os
from pathlib import Path

from yilian.api.hls_door import FileCache


def test_files_are_kept_while_unchanged_and_read_again_when_changed(tmp_path: Path) -> None:
    seg = tmp_path / "seg_000001.ts"
    seg.write_bytes(b"a" * 100)
    cache = FileCache(budget=1000)
    first = cache.read(str(seg))
    assert first is not None and first[1] == b"a" * 100 and cache.held == 100
    before = seg.stat()
    seg.write_bytes(b"c" * 100)  # the same size, and the mtime put back: the stamp says unchanged
    os.utime(seg, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert cache.read(str(seg)) == first  # kept: answered from memory, not read again
    seg.write_bytes(b"b" * 120)  # replaced: another size (and mtime)
    second = cache.read(str(seg))
    assert second is not None and second[1] == b"b" * 120 and cache.held == 120
    assert cache.read(str(tmp_path / "seg_000002.ts")) is None and cache.read(str(tmp_path)) is None


def test_the_least_recently_used_go_first(tmp_path: Path) -> None:
    cache = FileCache(budget=250)
    paths = []
    for i in range(3):
        path = tmp_path / f"seg_{i}.ts"
        path.write_bytes(bytes([i]) * 100)
        paths.append(str(path))
    cache.read(paths[0])
    cache.read(paths[1])
    cache.read(paths[0])  # 0 used last: 1 is the one to go
    cache.read(paths[2])
    assert cache.held == 200
    os.remove(paths[1])
    os.remove(paths[0])
    assert cache.read(paths[1]) is None  # not kept: read again, and it is gone
    assert cache.read(paths[0]) is None  # a vanished file is never answered from memory

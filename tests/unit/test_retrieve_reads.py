"""Frames read on the event loop from the page cache, and rendered images kept: the same bytes as the thread's path."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from pydicom import dcmread
from pydicom.data import get_testdata_file

from tests.support import dicom_gen
from yilian.dicom.frames import FrameNotFoundError, number_of_frames, read_layout
from yilian.dicom.render import UndecodablePixelDataError, Viewport, render
from yilian.imaging.blob import CachedReads, FilesystemBlobStore, sha256_of
from yilian.imaging.retrieve import FrameLayouts, RenderedImages, _read_frames, read_frames, rendered_image

# Native little and big endian, implicit VR, 8-bit RGB, 32-bit multi-frame, 1-bit, encapsulated (RLE, JPEG).
FILES = [
    "MR_small.dcm",
    "MR_small_implicit.dcm",
    "MR_small_bigendian.dcm",
    "rtdose.dcm",
    "rtdose_expb.dcm",
    "rtdose_rle.dcm",
    "SC_rgb_small_odd.dcm",
    "SC_rgb_rle_2frame.dcm",
    "liver_1frame.dcm",
    "liver_expb_1frame.dcm",
    "JPEG-lossy.dcm",
]


def _data(name: str) -> bytes:
    path = get_testdata_file(name)
    assert path is not None, name
    return Path(path).read_bytes()


class CountingStore(FilesystemBlobStore):
    """Counts the files opened the usual way (in the thread), so a test can tell which path answered."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened = 0

    def open(self, key: str) -> BinaryIO:
        self.opened += 1
        return super().open(key)


class ThreadOnlyStore(CountingStore):
    """A store without CachedReads (as S3's): every read goes through the thread."""

    read_cached = None  # type: ignore[assignment]


def _outcome(fn: Any) -> Any:
    try:
        return ("frames", fn())
    except Exception as exc:  # the same exception, type and words, on both paths
        return ("error", type(exc), str(exc))


@pytest.mark.parametrize("name", FILES)
def test_frames_from_the_page_cache_are_the_threads_frames(name: str, tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    data = _data(name)
    key = store.put(data, sha256_of(data))
    count = number_of_frames(dcmread(store.path(key), stop_before_pixels=True))
    with open(store.path(key), "rb") as f:
        layout = read_layout(f)
    assert layout is not None
    layouts = FrameLayouts()
    layouts.put(key, layout)
    native_le = layout.transfer_syntax in ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1") and layout.bits_allocated >= 8
    for numbers in ([1], [count], [count, 1], list(range(1, count + 1)), [count + 1], [0], [1, count + 1]):
        for decoded in (False, True):
            before = store.opened
            got = _outcome(lambda n=numbers, d=decoded: asyncio.run(read_frames(store, layouts, key, n, decoded=d)))
            in_loop = store.opened == before
            expected = _outcome(lambda n=numbers, d=decoded: _read_frames(store, key, n, d, layout)[0])
            assert got == expected, (name, numbers, decoded)
            # Only plain native little-endian frames that exist are read on the loop; the rest as before.
            assert in_loop == (native_le and all(1 <= n <= count for n in numbers)), (name, numbers)


def test_a_store_without_cached_reads_reads_in_the_thread(tmp_path: Path) -> None:
    store = ThreadOnlyStore(tmp_path)
    assert not isinstance(store, CachedReads)
    data = _data("MR_small.dcm")
    key = store.put(data, sha256_of(data))
    layouts = FrameLayouts()
    first = asyncio.run(read_frames(store, layouts, key, [1]))
    assert asyncio.run(read_frames(store, layouts, key, [1])) == first
    assert store.opened == 2


def test_the_first_read_of_a_file_is_in_the_thread_and_keeps_its_layout(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    ds = dicom_gen.ct_series(n_slices=1, rows=64, cols=48)[0]
    data = dicom_gen.write(ds, tmp_path / "ct.dcm").read_bytes()
    key = store.put(data, sha256_of(data))
    layouts = FrameLayouts()
    expected = ds.pixel_array.astype("<u2").tobytes()
    assert asyncio.run(read_frames(store, layouts, key, [1])) == [expected]
    assert store.opened == 1 and layouts.get(key) is not None
    assert asyncio.run(read_frames(store, layouts, key, [1])) == [expected]
    assert store.opened == 1  # the second, from the page cache on the loop


def test_read_cached_answers_none_rather_than_wait_or_fail(tmp_path: Path) -> None:
    store = FilesystemBlobStore(tmp_path)
    data = os.urandom(1 << 20)
    key = store.put(data, sha256_of(data))
    assert store.read_cached(key, [(10, 100), (0, 5)]) == [data[10:110], data[:5]]
    assert store.read_cached(key, [((1 << 20) - 10, 20)]) is None  # past the end: short
    assert store.read_cached("0" * 64, [(0, 5)]) is None  # no such blob
    fd = os.open(store.path(key), os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)  # out of the page cache: a read would wait for the disk
    finally:
        os.close(fd)
    assert store.read_cached(key, [(0, 1 << 20)]) is None


def test_rendered_images_keep_the_newest_within_the_budget() -> None:
    images = RenderedImages(budget=250, largest=120)
    keys = [(str(n) * 64, 1, "image/jpeg", None, None, None) for n in range(4)]
    images.put(keys[0], b"a" * 100)
    images.put(keys[1], b"b" * 100)
    assert images.get(keys[0]) == b"a" * 100  # used again: the newest now
    images.put(keys[2], b"c" * 100)  # 300 bytes: the least recently used goes
    assert images.get(keys[1]) is None
    assert images.get(keys[0]) == b"a" * 100 and images.get(keys[2]) == b"c" * 100
    images.put(keys[3], b"d" * 121)  # larger than one image may be: not kept
    assert images.get(keys[3]) is None and images.get(keys[0]) is not None


@pytest.mark.parametrize(
    ("name", "frame", "media_type", "options"),
    [
        ("MR_small.dcm", 1, "image/jpeg", {}),
        ("MR_small.dcm", 1, "image/png", {"window": (600.0, 1200.0, "linear")}),
        ("MR_small_bigendian.dcm", 1, "image/jpeg", {"quality": 50}),
        ("rtdose.dcm", 7, "image/gif", {"viewport": Viewport(32, 16)}),
        ("SC_rgb_small_odd.dcm", 1, "image/jpeg", {"viewport": Viewport(10, 8)}),
        ("SC_rgb_rle_2frame.dcm", 2, "image/jpeg", {}),
    ],
)
def test_a_rendered_image_is_renders_bytes_and_kept(
    name: str, frame: int, media_type: str, options: dict[str, Any], tmp_path: Path
) -> None:
    store = CountingStore(tmp_path)
    data = _data(name)
    key = store.put(data, sha256_of(data))
    expected = render(dcmread(store.path(key)), frame, media_type=media_type, **options)
    images = RenderedImages()
    assert asyncio.run(rendered_image(store, images, key, frame, media_type, **options)) == expected
    assert store.opened == 1
    assert asyncio.run(rendered_image(store, images, key, frame, media_type, **options)) == expected
    assert store.opened == 1  # kept: neither read nor rendered again
    other = {**options, "quality": 10} if media_type == "image/jpeg" else {**options, "window": (1.0, 2.0, "linear")}
    assert asyncio.run(rendered_image(store, images, key, frame, media_type, **other)) == render(
        dcmread(store.path(key)), frame, media_type=media_type, **other
    )
    assert store.opened == 2  # other parameters: another image


def test_rendering_failures_pass_through_and_are_not_kept(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    data = _data("MR_small.dcm")
    key = store.put(data, sha256_of(data))
    images = RenderedImages()
    for _ in range(2):
        with pytest.raises(FrameNotFoundError):
            asyncio.run(rendered_image(store, images, key, 2, "image/jpeg"))
    assert store.opened == 2
    jpeg12 = _data("JPEG-lossy.dcm")  # 12-bit JPEG: no decoder here (docs/dicomweb.md), 406 at the routes
    key12 = store.put(jpeg12, sha256_of(jpeg12))
    for _ in range(2):
        with pytest.raises(UndecodablePixelDataError):
            asyncio.run(rendered_image(store, images, key12, 1, "image/jpeg"))
    assert store.opened == 4
    with pytest.raises(FileNotFoundError):  # the read's own error, as read_dataset raised it
        asyncio.run(rendered_image(store, images, "0" * 64, 1, "image/jpeg"))


def test_frame_numbers_outside_the_file_are_refused_the_same(tmp_path: Path) -> None:
    store = CountingStore(tmp_path)
    data = _data("rtdose.dcm")
    key = store.put(data, sha256_of(data))
    layouts = FrameLayouts()
    asyncio.run(read_frames(store, layouts, key, [1]))
    with pytest.raises(FrameNotFoundError, match="frame 16 does not exist"):
        asyncio.run(read_frames(store, layouts, key, [1, 16]))

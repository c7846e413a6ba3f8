"""The API's kept frame layouts: by blob key, the most recently used kept, the oldest let go."""

from __future__ import annotations

from pydicom.data import get_testdata_file

from yilian.dicom.frames import PixelLayout, read_layout
from yilian.imaging.retrieve import FrameLayouts


def _layout() -> PixelLayout:
    path = get_testdata_file("MR_small.dcm")
    assert path is not None
    with open(path, "rb") as f:
        layout = read_layout(f)
    assert layout is not None
    return layout


def test_the_layouts_used_last_are_kept() -> None:
    layouts, layout = FrameLayouts(size=2), _layout()
    layouts.put("a" * 64, layout)
    layouts.put("b" * 64, layout)
    assert layouts.get("a" * 64) is layout  # used again: now the newest
    layouts.put("c" * 64, layout)
    assert layouts.get("b" * 64) is None  # the least recently used went
    assert layouts.get("a" * 64) is layout and layouts.get("c" * 64) is layout

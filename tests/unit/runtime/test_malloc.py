"""The allocator thresholds: a freed instance-sized buffer is reused without faulting its pages in again."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[3] / "src"

# Builds ten buffers of a CT slice's size, drops them together, 40 times over, as the API does per STOW-RS request,
# and prints the minor page faults that took.
CHURN = """
import resource, sys
sys.path.insert(0, {src!r})
if {keep}:
    from yilian.runtime.malloc import keep_freed_memory
    assert keep_freed_memory()
chunk = b"x" * 65536
def request():
    parts = [b"".join([chunk] * 9) for _ in range(10)]
    del parts
for _ in range(3):
    request()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(40):
    request()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _faults(keep: bool) -> int:
    out = subprocess.run(
        [sys.executable, "-c", CHURN.format(src=str(SRC), keep=keep)], capture_output=True, text=True, check=True
    )
    return int(out.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_a_freed_slice_buffer_is_reused_without_page_faults() -> None:
    default, kept = _faults(keep=False), _faults(keep=True)
    assert kept < 40, f"{kept} page faults for 400 slice-sized buffers with the thresholds set"
    assert default > 10 * max(kept, 1), f"default allocator: {default} faults, kept: {kept}"

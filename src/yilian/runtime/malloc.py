"""glibc's allocator told to keep freed memory for reuse in the long-running processes (API, worker, gateway).

A DICOM instance arrives and leaves as buffers of hundreds of KiB. glibc hands a freed buffer at the top of its heap
back to the kernel once more than its trim threshold is free there, so the next instance's bytes fault in again
page by page: about 150 us of kernel time for a 512 KiB CT slice. Keeping up to `TRIM_BYTES` free per arena (a
STOW-RS batch of 16 slices is 8 MiB) costs at most that much memory per arena and saves the faults. Buffers above
`MMAP_BYTES` (a whole multi-frame instance) still get their own mapping and go back to the kernel when freed.
"""

from __future__ import annotations

import ctypes
import logging

log = logging.getLogger(__name__)

# mallopt(3) parameters (malloc.h)
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3

TRIM_BYTES = 16 * 1024 * 1024
MMAP_BYTES = 4 * 1024 * 1024


def keep_freed_memory() -> bool:
    """Set the thresholds; False (and nothing changed) where the C library is not glibc."""
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the interpreter runs on
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    ok = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_BYTES)) and bool(mallopt(_M_TRIM_THRESHOLD, TRIM_BYTES))
    if not ok:
        log.warning("mallopt refused the allocator thresholds; freed memory goes back to the kernel as before")
    return ok

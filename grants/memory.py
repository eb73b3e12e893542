"""The C allocator told to keep megabyte buffers instead of handing them back to the system.

Why: an upload passes through several buffers of about its size (the body, the form part, the
file copy). glibc serves each allocation above 128 KiB with a fresh `mmap` and returns it with
`munmap` when freed, so every buffer's pages fault in again, zeroed by the kernel, on every
request. On the virtual machines this runs on, those faults cost more than the copying itself:
parsing a 1 MiB multipart upload took 1.5 ms of CPU by default and 0.4 ms with large blocks kept
in the heap. The cost is memory the process keeps after a rush (up to the trim threshold).

Only glibc has `mallopt`; elsewhere (musl, macOS) nothing changes. An operator who sets glibc's
own MALLOC_MMAP_THRESHOLD_ or MALLOC_TRIM_THRESHOLD_ keeps their choice.
"""

from __future__ import annotations

import ctypes
import logging
import os

log = logging.getLogger(__name__)

M_TRIM_THRESHOLD = -1  # glibc's malloc.h
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 16 * 1024 * 1024  # allocations below this come from the heap, reused
TRIM_THRESHOLD = 64 * 1024 * 1024  # free memory the heap keeps before giving any back


def keep_large_buffers() -> bool:
    """Apply the thresholds to this process; True if the allocator took them."""
    if os.environ.get("MALLOC_MMAP_THRESHOLD_") or os.environ.get("MALLOC_TRIM_THRESHOLD_"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    applied = (
        mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1
        and mallopt(M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    )
    log.debug("large buffers kept in the heap: %s", applied)
    return applied

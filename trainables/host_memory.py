"""Keep freed host memory in the process for the next batch instead of handing it back to the kernel.

glibc's malloc serves large blocks (above a threshold that adapts up to 32 MiB) with fresh mmaps, and returns the
free top of its heap to the kernel. A paper-scale batch is 2,250 tiles (conv1's output alone is 42 MB) and
allocates and frees a few hundred MB of such blocks, which the kernel then maps and zeroes again for the next one:
on the 2-core CPU about a fifth of a where epoch was kernel time. With mmap off and no trimming, freed blocks stay
in malloc's heap and the next batch reuses them. The values are the same (PyTorch aligns its buffers itself); the
process keeps the memory of its largest batch.
"""

from __future__ import annotations

import ctypes
import sys

M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's <malloc.h>
NEVER_TRIM = 2**31 - 1  # the largest value mallopt takes: give memory back only above 2 GiB free at the top


def keep_freed_memory() -> bool:
    """Tell this process's malloc to reuse freed blocks rather than return them; False where it is not glibc's."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt  # the C library the process already runs on
    except (OSError, AttributeError):  # no mallopt to call (musl's exists, does nothing and returns 0: below)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    return mallopt(M_MMAP_MAX, 0) == 1 and mallopt(M_TRIM_THRESHOLD, NEVER_TRIM) == 1

"""Keep freed tensor memory in the process instead of handing it back to the kernel each step.

glibc's malloc serves large blocks with `mmap` and returns them with `munmap`, and trims the
heap top whenever more than 128 KB is free. A CPU training step allocates and frees the same
few hundred MB of activations every step, so each step paid for fresh zeroed pages again: on
the demo's run on 2 cores the kernel's time was 71 s of 185 s CPU, and the run took 99 s
wall. Raising the mmap threshold to glibc's maximum and switching off the trim keeps those
pages for the next step (17 s kernel time, 67 s wall; `bench/train.py`). Only the process's
resident memory stays at its high-water mark, which a training or evaluation process reaches
anyway. Elsewhere than glibc this does nothing, nor where `AGENTPREF_MALLOC=default` (for
benchmarks that compare).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import sys

M_TRIM_THRESHOLD = -1
M_TOP_PAD = -2
M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD_MAX = 32 * 1024 * 1024  # glibc's ceiling on 64-bit (HEAP_MAX_SIZE / 2)
TRIM_NEVER = 2**31 - 1  # an int: glibc takes the value as one
TOP_PAD = 256 * 1024 * 1024

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Tune glibc's malloc for a process of large, repeated allocations (once; True if applied)."""
    global _applied
    if _applied is None:
        _applied = _mallopt_all()
    return _applied


def _mallopt_all() -> bool:
    if not sys.platform.startswith("linux") or os.environ.get("AGENTPREF_MALLOC") == "default":
        return False
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # musl and other libcs have no mallopt
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    settings = ((M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX), (M_TRIM_THRESHOLD, TRIM_NEVER), (M_TOP_PAD, TOP_PAD))
    return all(mallopt(option, value) == 1 for option, value in settings)

"""Keep the process's resident memory close to what it uses: glibc's malloc setting for large, short-lived buffers.

Stylizing allocates and frees buffers of 1–120 MB for every frame (network activations, decoded and converted frames)
from several threads (decoder, encoder, OpenMP). glibc's malloc serves a buffer under its *dynamic* mmap threshold
(raised up to 32 MB each time a larger mapped buffer is freed) from heaps that it rarely gives back, so the resident
size creeps up frame after frame, well past the working set: about 160 MB over 10 frames of 4K video through the
full-size network. :func:`return_large_buffers` fixes the threshold at :data:`MMAP_THRESHOLD`: every buffer that large
is mapped on its own and returned to the system when freed (``benchmarks/memory.py`` measures the effect).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

#: Buffers of this many bytes and more are mapped on their own and returned to the system as soon as they are freed.
MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD = -3  # glibc's malloc.h


def return_large_buffers() -> bool:
    """Fix glibc's mmap threshold at :data:`MMAP_THRESHOLD` for the rest of the process (it affects every later
    allocation, of any library); True when set. Elsewhere than glibc (macOS, musl) it logs one line and returns
    False: memory then creeps up as described above. Called by the command line and the app's entry points."""
    if not sys.platform.startswith("linux"):
        log.info("not on Linux, malloc is left as it is: memory may creep up frame after frame")
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError) as err:
        log.info("no glibc mallopt (%s), malloc is left as it is: memory may creep up frame after frame", err)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    if mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) != 1:
        log.info("glibc refused the mmap threshold %d: memory may creep up frame after frame", MMAP_THRESHOLD)
        return False
    return True

"""Keep the process's resident memory close to what it uses: fewer glibc malloc arenas, large buffers mapped alone.

Stylizing allocates and frees buffers of 1–120 MB for every frame (network activations, decoded and converted frames)
from several threads (decoder, encoder, OpenMP workers). glibc's malloc gives threads arenas of their own (up to eight
per core), each a heap that keeps what was freed in it, so the resident size crept up frame after frame well past the
working set. :func:`tune_malloc` caps the arenas at :data:`MALLOC_ARENAS` and fixes the mmap threshold (which
glibc otherwise raises up to 32 MB) at :data:`MMAP_THRESHOLD`, so every large buffer is mapped on its own and given back
when freed. Measured with ``benchmarks/memory.py`` (10 frames, full-size network, back to back on a heavily loaded
2-core machine): the app's job on a 4K upload peaked at 1014 MB before, 988 MB with the arena cap alone and 872 MB with
both; the command line on 4K at 1059 MB before, 868 MB with the arena cap alone, 833 MB with both (720p: 986, 807).
The price: large buffers are fresh pages to fault in. Whether that costs speed was not settled on that machine (one run
of the fast network's 720p forward pass took 9.4 s against 4.4 s, one end-to-end run was no slower).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

#: Most malloc arenas (heaps) of the process; the threads share them.
MALLOC_ARENAS = 2
#: Buffers of this many bytes and more are mapped on their own and returned to the system as soon as they are freed.
MMAP_THRESHOLD = 1 << 20
_M_MMAP_THRESHOLD, _M_ARENA_MAX = -3, -8  # glibc's malloc.h


def tune_malloc() -> bool:
    """Cap glibc's malloc arenas at :data:`MALLOC_ARENAS` (threads that allocate for the first time from now on share
    them) and fix its mmap threshold at :data:`MMAP_THRESHOLD`, for the rest of the process; True when both are set.
    Elsewhere than glibc (macOS, musl) it logs one line and returns False: memory then creeps up as described above.
    Call it first thing in a program's entry point (the command line and the app's ``main`` do)."""
    if not sys.platform.startswith("linux"):
        log.info("not on Linux, malloc is left as it is: memory may creep up frame after frame")
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError) as err:
        log.info("no glibc mallopt (%s), malloc is left as it is: memory may creep up frame after frame", err)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    for option, value, what in ((_M_ARENA_MAX, MALLOC_ARENAS, "arenas"), (_M_MMAP_THRESHOLD, MMAP_THRESHOLD,
                                                                            "mmap threshold")):
        if mallopt(option, value) != 1:
            log.info("glibc refused the malloc %s %d: memory may creep up frame after frame", what, value)
            return False
    return True

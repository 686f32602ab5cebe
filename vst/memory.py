"""Keep the process's resident memory close to what it uses: fewer glibc malloc arenas.

Stylizing allocates and frees buffers of 1–120 MB for every frame (network activations, decoded and converted frames)
from several threads (decoder, encoder, OpenMP workers). glibc's malloc gives threads arenas of their own (up to eight
per core), each a heap that keeps what was freed in it, so the resident size crept up frame after frame well past the
working set. :func:`tune_malloc` caps the arenas at :data:`MALLOC_ARENAS`. Measured with ``benchmarks/memory.py``
(10 frames, full-size network, back to back on a loaded 2-core machine): the command line on 4K peaked at 1059 MB
before and 868 MB after (720p: 986, 913–921 MB); the app's job on a 4K upload at 1014 and 988 MB. Also fixing glibc's
mmap threshold at 1 MiB brought these to 833, 807 and 876 MB, but then every large buffer is fresh pages to fault in:
the fast network's 720p forward pass took 1.9× as long (1819 against 933 ms; 1.4× at 8 MiB), the arena cap 1.1×
(1060 ms, within the noise). So only the arenas are capped.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

#: Most malloc arenas (heaps) of the process; the threads share them.
MALLOC_ARENAS = 2
_M_ARENA_MAX = -8  # glibc's malloc.h


def tune_malloc() -> bool:
    """Cap glibc's malloc arenas at :data:`MALLOC_ARENAS` for the rest of the process (threads that allocate for the
    first time from now on share them); True when set.
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
    if mallopt(_M_ARENA_MAX, MALLOC_ARENAS) != 1:
        log.info("glibc refused %d malloc arenas: memory may creep up frame after frame", MALLOC_ARENAS)
        return False
    return True

"""glibc's malloc set for a process that allocates and frees the same large buffers every frame.

Stylizing allocates and frees buffers of 1–120 MB for every frame (network activations, decoded and converted frames)
from several threads (decoder, encoder, OpenMP workers). :func:`tune_malloc` changes two of glibc's defaults:

- **Few arenas** (:data:`MALLOC_ARENAS`): glibc gives threads arenas of their own (up to eight per core), each a heap
  that keeps what was freed in it, so the resident size crept up frame after frame well past the working set.
  Measured with ``benchmarks/memory.py`` (10 frames, full-size network, back to back on a loaded 2-core machine): the
  command line on 4K peaked at 1059 MB before and 868 MB after (720p: 986, 913–921 MB); the app's job on a 4K upload
  at 1014 and 988 MB.
- **Freed memory kept for reuse** (:data:`MMAP_THRESHOLD`, :data:`TRIM_THRESHOLD`): by default a block over 128 KiB
  (a threshold that rises, up to 32 MiB, as such blocks are freed) is a fresh ``mmap`` that goes back to the kernel
  when freed, and free memory at the top of a heap beyond twice that threshold is returned too, so every frame paid
  the kernel to map and zero the same pages again. Now blocks up to 32 MiB come from the heaps, and up to 64 MiB of
  free memory stays at a heap's top: a frame reuses the pages the frame before it freed. End to end at 640×360 the
  fast network ran about 1.2× as fast (``python benchmarks/allocator.py``; docs/performance.md). The trimming is
  what memory turns on: with none at all, the app's 720p job (temporal model and baseline) crept from 967 to 1005
  MB over 12 and 50 frames; with 32 MiB kept the speed was gone; with 64 MiB it peaked at 923–1002 MB over 50
  frames, against 942–1002 MB with the arenas capped alone (``benchmarks/memory.py --app --seconds 2 --width 1280
  --height 720``, two runs each: that job's peak varies by ±40 MB from run to run). A fixed threshold with glibc's
  trimming is the worst of both: at 1 MiB the fast network's 720p pass took 1.9× as long, at 8 MiB 1.4×.

``VST_MALLOC=system`` (:func:`vst.settings.malloc`) leaves glibc's defaults, for comparison.

:func:`cuda_build_note` says when a process runs PyTorch's CUDA build on a machine without a GPU, where it holds
about 270–290 MB for nothing (what ``pip install torch`` brings on Linux; a Space on CPU hardware wants the CPU-only
build: docs/app.md).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys
from collections.abc import Mapping

import torch

from .settings import malloc

log = logging.getLogger(__name__)

#: What PyTorch's CUDA build costs a process without a GPU, against the CPU-only build (``python benchmarks/
#: app_memory.py``, the served app, session 23): ``import torch`` 508 against 218 MB; the app with a visitor's painting
#: and a 1280×720 upload 1001 against 718 MB at its peak.
CUDA_BUILD_EXTRA_MB = 290

#: Most malloc arenas (heaps) of the process; the threads share them.
MALLOC_ARENAS = 2
#: Blocks up to this size come from the heaps, not from fresh pages (glibc's ceiling for the setting on 64-bit
#: systems): a 640×360 frame's largest buffer is 7 MiB, a 1280×720 one's 29 MiB.
MMAP_THRESHOLD = 32 << 20
#: Free memory at the top of a heap kept rather than returned to the system (more kept, more speed and memory).
TRIM_THRESHOLD = 64 << 20
# glibc's malloc.h
_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
_M_ARENA_MAX = -8


def tune_malloc(env: Mapping[str, str] | None = None) -> bool:
    """Set glibc's malloc as the module docstring says, for the rest of the process (threads that allocate for the
    first time from now on share the arenas); True when set.
    ``VST_MALLOC=system``, or elsewhere than glibc (macOS, musl), it logs one line and returns False: memory then creeps
    up and frames run slower, as described above. Call it first thing in a program's entry point (the command line,
    the app's ``main`` and the benchmarks do; training does not: 40 steps took 1.63–1.72 s each either way)."""
    if malloc(env) == "system":
        log.info("VST_MALLOC=system: malloc is left as it is (slower frames; memory may creep up frame after frame)")
        return False
    if not sys.platform.startswith("linux"):
        log.info("not on Linux, malloc is left as it is: memory may creep up frame after frame")
        return False
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError) as err:
        log.info("no glibc mallopt (%s), malloc is left as it is: memory may creep up frame after frame", err)
        return False
    mallopt.argtypes, mallopt.restype = [ctypes.c_int, ctypes.c_int], ctypes.c_int
    for option, value, what in ((_M_ARENA_MAX, MALLOC_ARENAS, f"{MALLOC_ARENAS} malloc arenas"),
                                (_M_MMAP_THRESHOLD, MMAP_THRESHOLD, "an mmap threshold of 32 MiB"),
                                (_M_TRIM_THRESHOLD, TRIM_THRESHOLD, "a trim threshold of 64 MiB")):
        if mallopt(option, value) != 1:
            log.info("glibc refused %s: malloc is left partly as it was (slower frames or more memory)", what)
            return False
    return True


def cuda_build_note(cuda_version: str | None = torch.version.cuda, gpu: bool | None = None) -> str | None:
    """One line for the log when PyTorch is its CUDA build (``cuda_version``, by default this process's) and no GPU
    can be used (``gpu``, by default ``torch.cuda.is_available()``); ``None`` otherwise."""
    if cuda_version is None:
        return None
    if gpu is None:
        gpu = torch.cuda.is_available()
    if gpu:
        return None
    return (f"PyTorch {torch.__version__} is its CUDA {cuda_version} build, on a machine without a usable GPU: it "
            f"holds about {CUDA_BUILD_EXTRA_MB} MB of memory more than PyTorch's CPU-only build would (on a Space's "
            f"CPU hardware, pre-requirements.txt installs the CPU-only build: docs/app.md, 'Memory')")

"""Frames side by side on the CPU: one thread per core, each running its frames' forward passes on one core.

A network on one frame with torch's two intra-op threads spends part of each layer waiting: the threads meet at the
end of every layer (and spin there, burning the cycles that the H.264 encoder wants), and the small layers at
quarter resolution divide badly in two. Two frames at once, each on one thread, keep both cores busy without the
meetings. On the 2-core CPU this project is developed on, the fast network rendered 640×360 and a quarter of
1280×720 end to end about 1.1× as fast this way (``benchmarks/performance.py`` reports both;
``docs/performance.md``).

:func:`run_side_by_side` runs a function on several chunks of work in a pool of :func:`cores` threads, each of
which has set torch's intra-op threads to one (a thread-local setting with torch's OpenMP backend: the caller's
threads keep theirs). The pool is shared by the whole process, so two jobs at once share its threads rather than
multiplying them.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
U = TypeVar("U")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def cores() -> int:
    """The cores this process may run on (its CPU affinity), at least one."""
    return max(1, len(os.sched_getaffinity(0)))


def _one_intra_op_thread() -> None:
    torch.set_num_threads(1)


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(cores(), thread_name_prefix="vst-frames", initializer=_one_intra_op_thread)
        return _pool


def run_side_by_side(work: Callable[[T], U], chunks: Sequence[T]) -> list[U]:
    """``[work(chunk) for chunk in chunks]``, the chunks run at once on the shared pool's threads (one intra-op
    thread each); results in the chunks' order. A single chunk runs in the caller's thread, with the caller's
    intra-op threads. The first exception raised by any chunk is raised here, after every chunk has finished."""
    if len(chunks) <= 1:
        return [work(chunk) for chunk in chunks]
    futures = [_shared_pool().submit(work, chunk) for chunk in chunks]
    errors = [future.exception() for future in futures]  # waits for all: no chunk still runs when this returns
    for error in errors:
        if error is not None:
            raise error
    return [future.result() for future in futures]

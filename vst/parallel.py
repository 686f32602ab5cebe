"""Frames side by side on the CPU: one thread per core, each running its frames' forward passes on one core.

A network on one frame with torch's two intra-op threads spends part of each layer waiting: the threads meet at the
end of every layer (and spin there, burning the cycles that the H.264 encoder wants), and the small layers at
quarter resolution divide badly in two. Two frames at once, each on one thread, keep both cores busy without the
meetings. On the 2-core CPU this project is developed on, the fast network rendered 640×360 end to end 1.25× as
fast this way (``benchmarks/performance.py --one-at-a-time`` reports both; ``docs/performance.md``).

:func:`run_side_by_side` runs a function on several chunks of work in a pool of :func:`cores` threads, each of
which has set torch's intra-op threads to one (a thread-local setting with torch's OpenMP backend: the caller's
threads keep theirs); :class:`InFlight` keeps several pieces of work running on the pool and hands their results
back in order, for a caller that keeps frames in flight (:func:`vst.pipeline.render_video`): no frame waits for a
slower neighbour, as the chunks of one call do. The pool is shared by the whole process, so two jobs at once share its
threads rather than multiplying them.
"""

from __future__ import annotations

import os
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from types import TracebackType
from typing import Generic, Self, TypeVar

import torch

T = TypeVar("T")
U = TypeVar("U")

_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()
_in_pool = threading.local()


def cores() -> int:
    """The cores this process may run on (its CPU affinity), at least one."""
    return max(1, len(os.sched_getaffinity(0)))


def _one_intra_op_thread() -> None:
    torch.set_num_threads(1)
    _in_pool.active = True


def in_pool_thread() -> bool:
    """Whether the calling thread is one of the shared pool's (where work runs inline: it never waits on the pool)."""
    return getattr(_in_pool, "active", False)


def _shared_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(cores(), thread_name_prefix="vst-frames", initializer=_one_intra_op_thread)
        return _pool


def run_side_by_side(work: Callable[[T], U], chunks: Sequence[T]) -> list[U]:
    """``[work(chunk) for chunk in chunks]``, the chunks run at once on the shared pool's threads (one intra-op
    thread each); results in the chunks' order. A single chunk runs in the caller's thread, with the caller's
    intra-op threads, and so does every chunk when the caller is a pool thread itself. The first exception raised
    by any chunk is raised here, after every chunk has finished."""
    if len(chunks) <= 1 or in_pool_thread():
        return [work(chunk) for chunk in chunks]
    futures = [_shared_pool().submit(work, chunk) for chunk in chunks]
    errors = [future.exception() for future in futures]  # waits for all: no chunk still runs when this returns
    for error in errors:
        if error is not None:
            raise error
    return [future.result() for future in futures]


class InFlight(Generic[T, U]):
    """``work`` on items in order, up to ``depth`` of them running on the shared pool at once; results come back in
    the items' order (:meth:`map`). ``depth`` 1 runs each item in the caller's thread, one after the other.

    Leaving the ``with`` block (or an exception) cancels the items not started and waits for the running ones, so no
    work outlives the block.
    """

    def __init__(self, work: Callable[[T], U], depth: int) -> None:
        if depth < 1:
            raise ValueError(f"at least one item in flight, not {depth}")
        self._work, self.depth = work, depth
        self._window: deque[tuple[T, Future[U]]] = deque()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for _, future in self._window:
            future.cancel()
        wait([future for _, future in self._window])
        self._window.clear()

    def map(self, items: Iterable[T]) -> Iterator[tuple[T, U]]:
        """``(item, work(item))`` for each of ``items``, in order, with up to :attr:`depth` items in flight. An item's
        exception is raised in its place; one raised by ``items`` itself comes after the results (or the first
        exception) of the items taken before it."""
        iterator = iter(items)
        while True:
            try:
                item = next(iterator)
            except StopIteration:
                break
            except BaseException:
                yield from self._drain()
                raise
            yield from self._add(item)
        yield from self._drain()

    def _add(self, item: T) -> Iterator[tuple[T, U]]:
        """Start ``work(item)``; then the ``(item, result)`` pairs that have to finish to keep at most
        :attr:`depth` in flight, oldest first."""
        if self.depth == 1:
            yield item, self._work(item)
            return
        self._window.append((item, _shared_pool().submit(self._work, item)))
        while len(self._window) >= self.depth:
            yield self._oldest()

    def _drain(self) -> Iterator[tuple[T, U]]:
        while self._window:
            yield self._oldest()

    def _oldest(self) -> tuple[T, U]:
        item, future = self._window[0]
        result = future.result()  # raises the item's exception (the window keeps it until __exit__ waits)
        self._window.popleft()
        return item, result

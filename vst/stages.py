"""Three stages side by side: produce items in a thread, process them in the caller's thread, consume in a thread.

:class:`Stages` runs ``source → (caller) → sink``: a *producer* thread iterates ``source`` (e.g. decoding frame
batches) into a bounded :class:`Channel`; the caller takes the items (:meth:`Stages.items`), works on them (e.g. the
network's forward passes) and hands results on (:meth:`Stages.put`) through a second bounded channel to a *consumer*
thread that runs ``sink`` on each (e.g. encoding). Each stage's work overlaps the others', so the whole runs at about
the slowest stage's rate. The caller's stage stays in the caller's thread, so its thread-local state (torch's
inference mode, the intra-op thread pool that :func:`torch.set_num_threads` sizes) is the caller's.

Memory: at most ``depth`` items wait in each channel, besides the one item each stage holds (the producer's next
one, waiting for room, the caller's and the consumer's): ``depth + 2`` source items and ``depth + 2`` results alive.

Errors keep their order and identity: the producer's exception reaches the caller after the items produced before
it, as the very exception object (same type, message and cause); the consumer's is raised by the caller's next
:meth:`Stages.put` or by :meth:`Stages.finish`. Leaving the ``with`` block by an exception cancels both channels (queued
items are dropped) and joins both threads: a stage stops within the item it is working on, and no thread outlives the
block.

``overlap=False`` runs the same three stages one after another in the caller's thread (no threads): the same items
in the same order, for comparison and for timing each stage alone.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from types import TracebackType
from typing import Generic, Self, TypeVar

T = TypeVar("T")
U = TypeVar("U")

#: Items waiting in each channel between two stages (besides the one each stage holds).
QUEUE_DEPTH = 1


class ChannelCancelled(Exception):
    """Raised by :meth:`Channel.put` into a channel cancelled without an error (its reader stopped)."""


class Channel(Generic[T]):
    """A bounded first-in first-out hand-over between one writer thread and one reader thread.

    The writer :meth:`put` s items (blocking while ``depth`` are waiting) and ends with :meth:`finish` (optionally
    with the error that stopped it); the reader iterates. :meth:`cancel` (either side) drops what waits and wakes
    both: the reader's iteration ends, the writer's :meth:`put` raises the error given to :meth:`cancel` (or
    :class:`ChannelCancelled`).
    """

    def __init__(self, depth: int = QUEUE_DEPTH) -> None:
        if depth < 1:
            raise ValueError(f"a channel holds at least one item, not {depth}")
        self.depth = depth
        self._items: deque[T] = deque()
        self._finished = False
        self._error: BaseException | None = None  # the writer's, raised to the reader after the items
        self._cancelled = False
        self._cancel_error: BaseException | None = None  # raised to the writer
        self._changed = threading.Condition()

    def put(self, item: T) -> None:
        """Hand ``item`` to the reader, waiting while the channel is full; raises if the channel was cancelled."""
        with self._changed:
            while len(self._items) >= self.depth and not self._cancelled:
                self._changed.wait()
            if self._cancelled:
                raise self._cancel_error if self._cancel_error is not None else ChannelCancelled()
            if self._finished:
                raise ValueError("put into a finished channel")
            self._items.append(item)
            self._changed.notify_all()

    def finish(self, error: BaseException | None = None) -> None:
        """No more items; the reader gets ``error`` (if any) raised after the items already put."""
        with self._changed:
            self._finished, self._error = True, error
            self._changed.notify_all()

    def cancel(self, error: BaseException | None = None) -> None:
        """Drop the waiting items and wake both sides; the writer's :meth:`put` raises ``error`` from now on."""
        with self._changed:
            if not self._cancelled:
                self._cancelled, self._cancel_error = True, error
            self._items.clear()
            self._changed.notify_all()

    def __iter__(self) -> Iterator[T]:
        """The items in order, until :meth:`finish` (then its error, if any, is raised) or :meth:`cancel`."""
        while True:
            with self._changed:
                while not self._items and not self._finished and not self._cancelled:
                    self._changed.wait()
                if self._cancelled:
                    return
                if not self._items:
                    if self._error is not None:
                        raise self._error
                    return
                item = self._items.popleft()
                self._changed.notify_all()
            yield item


class _Clock:
    """Seconds spent in one stage's own work (not waiting for its neighbours), summed; thread-safe by ownership:
    only the stage's thread adds to it."""

    def __init__(self) -> None:
        self.seconds = 0.0

    def timed(self, work: Callable[[], T]) -> T:
        started = time.perf_counter()
        try:
            return work()
        finally:
            self.seconds += time.perf_counter() - started


class Stages(Generic[T, U]):
    """``source`` (a producer thread) → the caller's loop → ``sink`` (a consumer thread); see the module docstring.

    >>> with Stages(iter(range(3)), print) as stages:  # doctest: +SKIP
    ...     for item in stages.items():
    ...         stages.put(item * 10)
    ...     stages.finish()

    ``depth``: items waiting in each channel (:data:`QUEUE_DEPTH`); ``names``: the two threads' names. Call
    :meth:`finish` after the last :meth:`put`: leaving the block without it (a ``break``) drops the results the sink
    has not taken yet.
    :attr:`produce_seconds` / :attr:`consume_seconds`: time spent inside ``next(source)`` / ``sink``.
    """

    def __init__(self, source: Iterator[T], sink: Callable[[U], None], *, overlap: bool = True,
                 depth: int = QUEUE_DEPTH, names: tuple[str, str] = ("vst-produce", "vst-consume")) -> None:
        self._source = source
        self._sink = sink
        self.overlap = overlap
        self._produced: Channel[T] = Channel(depth)
        self._results: Channel[U] = Channel(depth)
        self._produce_clock, self._consume_clock = _Clock(), _Clock()
        self._consumer_error: BaseException | None = None
        self._threads: list[threading.Thread] = []
        if overlap:
            self._threads = [threading.Thread(target=self._produce, name=names[0], daemon=True),
                             threading.Thread(target=self._consume, name=names[1], daemon=True)]

    @property
    def produce_seconds(self) -> float:
        return self._produce_clock.seconds

    @property
    def consume_seconds(self) -> float:
        return self._consume_clock.seconds

    def __enter__(self) -> Self:
        try:
            for thread in self._threads:
                thread.start()
        except BaseException:  # e.g. "can't start new thread": stop the one that did start, then raise
            self._stop(cancel=True)
            raise
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop(cancel=exc_type is not None or any(t.is_alive() for t in self._threads))
        if not self.overlap:
            _close(self._source)

    def _stop(self, *, cancel: bool) -> None:
        """Join the threads that were started, after cancelling both channels (dropping what waits) if asked."""
        if cancel:
            self._produced.cancel()
            self._results.cancel()
        for thread in self._threads:
            if thread.ident is not None:
                thread.join()

    def items(self) -> Iterator[T]:
        """The source's items in order; the source's exception is raised after the items produced before it."""
        if self.overlap:
            return iter(self._produced)
        return self._inline_items()

    def put(self, result: U) -> None:
        """Hand ``result`` to the sink (waiting while ``depth`` results wait); raises the sink's exception if it
        failed on an earlier result."""
        if self.overlap:
            self._results.put(result)
        else:
            self._consume_clock.timed(lambda: self._sink(result))

    def finish(self) -> None:
        """After the last :meth:`put`: wait until the sink has taken every result; raises the sink's exception."""
        if not self.overlap:
            return
        self._results.finish()
        self._threads[1].join()
        if self._consumer_error is not None:
            raise self._consumer_error

    def _inline_items(self) -> Iterator[T]:
        end = object()
        while (item := self._produce_clock.timed(lambda: next(self._source, end))) is not end:
            yield item  # type: ignore[misc]

    def _produce(self) -> None:
        """The producer thread: ``source`` into the first channel, then its end or its exception."""
        end = object()
        try:
            try:
                while (item := self._produce_clock.timed(lambda: next(self._source, end))) is not end:
                    self._produced.put(item)  # type: ignore[arg-type]
            finally:
                _close(self._source)  # here, in the thread that iterated it
        except ChannelCancelled:
            return  # the caller left; it has its own exception
        except BaseException as err:  # noqa: BLE001 (handed to the caller's thread, raised there)
            self._produced.finish(err)
        else:
            self._produced.finish()

    def _consume(self) -> None:
        """The consumer thread: ``sink`` on each result; on an exception, the caller's next put raises it."""
        try:
            for result in self._results:
                self._consume_clock.timed(lambda: self._sink(result))  # noqa: B023 (called at once)
        except BaseException as err:  # noqa: BLE001 (handed to the caller's thread, raised there)
            self._consumer_error = err
            self._results.cancel(err)


def _close(source: Iterator[object]) -> None:
    """Close ``source`` if it is a generator (its ``finally`` blocks run now, e.g. closing a file)."""
    close = getattr(source, "close", None)
    if callable(close):
        close()

"""SIGTERM ends a command like Ctrl-C: the stack unwinds (temporary files are removed) and one line is printed.

``timeout``, systemd and container stops send SIGTERM, whose default action kills the process on the spot, leaving
partial files behind. Inside :func:`sigterm_as_exception` it raises :class:`Terminated` in the main thread instead.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType


class Terminated(BaseException):
    """Raised in the main thread when the process receives SIGTERM (a ``BaseException``, like ``KeyboardInterrupt``,
    so that ``except Exception`` blocks do not swallow it)."""


def _raise_terminated(signum: int, frame: FrameType | None) -> None:
    raise Terminated(f"received signal {signum}")


@contextlib.contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """Inside the block SIGTERM raises :class:`Terminated`; the previous handler is restored afterwards. Does nothing
    outside the main thread (where Python cannot install signal handlers)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)

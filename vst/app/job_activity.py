"""The count of running stylize jobs (:class:`JobActivity`), which background work (the showcase render) yields to."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator


class JobActivity:
    """How many stylize jobs are running now (thread-safe), so background work (the showcase render) can wait for the
    server to be idle instead of competing with visitors."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Counts the block as one running job."""
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    @property
    def busy(self) -> bool:
        return self._running > 0

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block while a job runs; False if still busy after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)

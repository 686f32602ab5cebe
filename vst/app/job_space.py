"""Per-job output folders that expire: :class:`JobSpace` (a random folder per stylize job, deleted a TTL after it was
made, Gradio's served copies with it) and :func:`expiry_thread`, the daemon thread that prunes such files (the blind
vote's copies use it too)."""

from __future__ import annotations

import logging
import shutil
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ..files import PARTIAL_GLOB
from .served_copies import forget_served

log = logging.getLogger(__name__)


class JobSpace:
    """Per-job output folders ``<root>/<random id>/``; folders older than ``ttl_seconds`` are deleted by
    :meth:`prune`, which :meth:`new` runs first and the thread of :meth:`start_expiry` every ``ttl_seconds / 4``
    (between 1 s and 60 s), so a visitor's result stops being served about a TTL after it was made, even on an idle
    server. The ids are random (UUID4), so nobody can guess another job's files."""

    def __init__(self, root: Path, ttl_seconds: float) -> None:
        self.root = Path(root)
        self.ttl_seconds = ttl_seconds
        self._expiry: threading.Thread | None = None

    def new(self) -> tuple[str, Path]:
        self.prune()
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def start_expiry(self) -> threading.Thread:
        """Run :meth:`prune` in a daemon thread, every ``ttl_seconds / 4`` (between 1 s and 60 s)."""
        if self._expiry is None:
            self._expiry = expiry_thread("vst-job-expiry", self.ttl_seconds, self.prune,
                                         f"old job folders in {self.root}")
        return self._expiry

    def prune(self, now: float | None = None) -> int:
        """Delete job folders last modified more than ``ttl_seconds`` ago, except those a running job is writing to
        (they hold a partial file); returns how many were deleted."""
        if not self.root.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - self.ttl_seconds
        removed = 0
        for folder in self.root.iterdir():
            try:
                if folder.is_dir() and folder.stat().st_mtime < cutoff and not any(folder.glob(PARTIAL_GLOB)):
                    _forget_folder(folder)
                    shutil.rmtree(folder)
                    removed += 1
            except FileNotFoundError:  # another thread pruned it first
                continue
        if removed:
            log.info("pruned %d old job folder(s) from %s", removed, self.root)
        return removed

    def remove(self, folder: Path) -> None:
        """Delete one job folder (only if it lies in this space)."""
        folder = Path(folder)
        if folder.parent.resolve() != self.root.resolve() or not folder.is_dir():
            return
        try:
            _forget_folder(folder)
            shutil.rmtree(folder)
        except OSError as err:  # e.g. removed by a concurrent prune; the next prune retries anything left
            log.warning("could not delete the job folder %s: %s", folder, err)


def expiry_thread(name: str, ttl_seconds: float, prune: Callable[[], object], what: str) -> threading.Thread:
    """Start a daemon thread that calls ``prune`` every ``ttl_seconds / 4`` (between 1 s and 60 s), so files expire at
    most a quarter TTL (a minute at most) late; an ``OSError`` is logged as one line (naming ``what``) and retried."""
    interval = min(60.0, max(1.0, ttl_seconds / 4))

    def work() -> None:
        while True:
            time.sleep(interval)
            try:
                prune()
            except OSError as err:
                log.warning("could not delete %s: %s", what, err)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread


def _forget_folder(folder: Path) -> None:
    """Delete Gradio's served copies of a job folder's files (see :func:`vst.app.served_copies.forget_served`)."""
    for path in folder.iterdir():
        if path.is_file():
            forget_served(path)

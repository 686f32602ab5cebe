"""Atomic output files: write to a temporary sibling, rename on success, leave nothing behind on failure.

The temporary sibling of ``out.mp4`` is ``.out.<random>.partial.mp4``. A process killed outright (``SIGKILL``, a power
cut) cannot remove its own; the next :func:`atomic_output` into the same folder deletes every such file not modified
for :data:`STALE_PARTIAL_SECONDS` (a live job writes to its file every few frames, so it is never that old).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import secrets
import time
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputError, OutputExistsError

log = logging.getLogger(__name__)

#: A partial file untouched for this long (one hour) belongs to a process that died: it is deleted.
STALE_PARTIAL_SECONDS = 3600.0
#: Glob of the temporary files :func:`atomic_output` creates.
PARTIAL_GLOB = ".*.partial.*"


def _reason(err: OSError) -> str:
    return os.strerror(err.errno) if err.errno else str(err)


def check_output_free(path: Path, *, overwrite: bool = False) -> None:
    """Check that ``path`` can be written before any work starts; a one-line error otherwise.

    ``OutputExistsError`` when ``path`` exists and ``overwrite`` is false; :class:`OutputError` when ``path`` is a
    folder, or its folder (or the nearest existing folder above it) is not writable, e.g. on a read-only file system.
    """
    path = Path(path)
    if path.is_dir():
        raise OutputError(f"output {path} is a folder; give a file name ending in .mp4")
    if path.exists() and not overwrite:
        raise OutputExistsError(f"output {path} already exists (use --overwrite to replace it)")
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: {folder} is a file, not a folder")
    if not os.access(folder, os.W_OK | os.X_OK):
        try:  # access() names no reason; statvfs tells a read-only file system from missing permissions
            read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
        except OSError:
            read_only = False
        why = "it is on a read-only file system" if read_only else "permission denied"
        raise OutputError(f"cannot write {path}: {why}")


def sweep_stale_partials(folder: Path, max_age: float = STALE_PARTIAL_SECONDS, *, now: float | None = None) -> int:
    """Delete the temporary files of :func:`atomic_output` in ``folder`` not modified for ``max_age`` seconds
    (``0``: all of them); returns how many were deleted."""
    cutoff = (time.time() if now is None else now) - max_age
    removed = 0
    for partial in Path(folder).glob(PARTIAL_GLOB):
        try:
            if partial.is_file() and not partial.is_symlink() and partial.stat().st_mtime <= cutoff:
                partial.unlink()
                removed += 1
        except FileNotFoundError:  # another process swept it first
            continue
    if removed:
        log.info("deleted %d stale partial file(s) in %s", removed, folder)
    return removed


def _create_temp(final: Path) -> Path:
    """A new, empty ``.<stem>.<random>.partial<suffix>`` next to ``final``, created with mode 0666 less the umask
    (what a plain ``open(path, "w")`` gives, so the renamed output gets the usual mode too)."""
    for _ in range(100):
        tmp = final.parent / f".{final.stem}.{secrets.token_hex(4)}.partial{final.suffix}"
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(final.parent))


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on normal exit it is renamed to ``path``.

    If the block raises, the temporary file is removed and ``path`` is untouched. Raises ``OutputExistsError`` up
    front when ``path`` exists and ``overwrite`` is false. A failure to write (full disk, read-only file system, the
    name is a folder, ...), up front or while the block writes, is an :class:`OutputError` naming ``path``.
    Stale partial files of dead processes in the same folder are swept first (:func:`sweep_stale_partials`).
    """
    final = Path(path)
    check_output_free(final, overwrite=overwrite)
    try:
        final.parent.mkdir(parents=True, exist_ok=True)
        sweep_stale_partials(final.parent)
        tmp = _create_temp(final)
    except OSError as err:
        raise OutputError(f"cannot write {final}: {_reason(err)}") from None
    try:
        yield tmp
        os.replace(tmp, final)
    except OSError as err:
        if err.errno not in _WRITE_ERRNOS:
            raise
        raise OutputError(f"cannot write {final}: {_reason(err)}; nothing was written") from None
    finally:
        tmp.unlink(missing_ok=True)


#: ``errno`` values of an ``OSError`` raised while writing that mean the output cannot be written (others, such as
#: an input file's read errors, pass through unchanged).
_WRITE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS, errno.EACCES, errno.EPERM,
                           errno.EISDIR, errno.ENOTDIR})

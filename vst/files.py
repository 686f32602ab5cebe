"""Atomic output files: write to a temporary sibling, rename on success, leave nothing behind on failure."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputExistsError


def check_output_free(path: Path, *, overwrite: bool = False) -> None:
    """``OutputExistsError`` when ``path`` exists and ``overwrite`` is false."""
    if path.exists() and not overwrite:
        raise OutputExistsError(f"output {path} already exists (use --overwrite to replace it)")


@contextlib.contextmanager
def atomic_output(path: str | os.PathLike[str], *, overwrite: bool = False) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on normal exit it is renamed to ``path``.

    If the block raises, the temporary file is removed and ``path`` is untouched. Raises
    ``OutputExistsError`` up front when ``path`` exists and ``overwrite`` is false.
    """
    final = Path(path)
    check_output_free(final, overwrite=overwrite)
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".partial{final.suffix}", dir=final.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)

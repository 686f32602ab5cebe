"""Start-up clean-up of the app's cache: what an earlier run left behind when it was killed (``kill -9``, a crash).

A cache folder (``VST_CACHE_DIR``) belongs to one running app. When the app starts, no job of it is running, so
:func:`sweep_cache` deletes, before anything is served:

- in the job folders: every partial file (``.*.partial.*``), every job folder older than the TTL, and every job
  folder left with no finished file (a job killed mid-way);
- every blind copy of the A/B vote (their names were known only to the dead process);
- partial files of the previews and the showcase not modified for :data:`vst.files.STALE_PARTIAL_SECONDS` (a
  ``python -m vst.app.showcase`` may be writing there at the same time);
- Gradio's own temporary files (uploads, copies of outputs; ``GRADIO_TEMP_DIR``, by default ``/tmp/gradio``) older
  than the TTL and than :data:`GRADIO_TEMP_MIN_AGE`, which Gradio deletes only for the instance that created them.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections import Counter
from pathlib import Path

from gradio.utils import get_upload_folder

from ..files import sweep_stale_partials
from .config import AppConfig

log = logging.getLogger(__name__)

#: Gradio's temporary files are deleted only when older than the TTL and than this (one hour): the folder may be
#: shared with other Gradio apps on the machine.
GRADIO_TEMP_MIN_AGE = 3600.0


def _remove(path: Path) -> bool:
    try:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path)
        else:
            path.unlink()
    except FileNotFoundError:
        return False
    except OSError as err:
        log.warning("could not delete %s: %s", path, err)
        return False
    return True


def _older_than(path: Path, cutoff: float) -> bool:
    try:
        return path.lstat().st_mtime < cutoff
    except FileNotFoundError:
        return False


def sweep_cache(config: AppConfig, *, gradio_temp: Path | None = None, now: float | None = None) -> Counter[str]:
    """Delete what an earlier run left behind (see the module docstring); returns how many of each kind.

    ``gradio_temp`` defaults to Gradio's upload folder.
    """
    now = time.time() if now is None else now
    cutoff = now - config.cache_ttl_minutes * 60
    removed: Counter[str] = Counter()
    if config.jobs_dir.is_dir():
        for folder in config.jobs_dir.iterdir():
            if not folder.is_dir():
                continue
            removed["partial files"] += sweep_stale_partials(folder, 0)  # no job of this app is running yet
            if _older_than(folder, cutoff) or not any(folder.iterdir()):
                removed["job folders"] += _remove(folder)
    if config.blind_dir.is_dir():
        for copy in config.blind_dir.iterdir():
            removed["blind copies"] += _remove(copy)
    for folder in (config.previews_dir, config.showcase_dir):
        if folder.is_dir():
            for sub in (folder, *(p for p in folder.rglob("*") if p.is_dir())):
                removed["partial files"] += sweep_stale_partials(sub)
    temp = Path(get_upload_folder()) if gradio_temp is None else Path(gradio_temp)
    temp_cutoff = min(cutoff, now - GRADIO_TEMP_MIN_AGE)  # other Gradio apps may share the folder
    if temp.is_dir():
        for entry in temp.iterdir():
            if _older_than(entry, temp_cutoff):
                removed["Gradio temporary files"] += _remove(entry)
    kept = {kind: n for kind, n in removed.items() if n}
    if kept:
        log.info("start-up clean-up of %s: deleted %s", config.cache_dir,
                 ", ".join(f"{n} {kind}" for kind, n in kept.items()))
    return removed

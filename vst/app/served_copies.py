"""Gradio's served copies of our files, deleted when ours expire.

A file that a handler returns to a ``gr.Video`` is copied by Gradio into its cache
(``<GRADIO_TEMP_DIR>/<hash of the content>/<name>``) and served from there, at a URL that stays valid until Gradio's
``delete_cache`` schedule removes it (up to twice the TTL). When we delete one of our files because it expired (a blind
A/B copy, a session's result), :func:`forget_served` deletes Gradio's copy too, so the URL stops working at once.
"""

from __future__ import annotations

import logging
from pathlib import Path

from gradio.processing_utils import hash_file
from gradio.utils import get_upload_folder
from gradio_client.utils import strip_invalid_filename_characters

log = logging.getLogger(__name__)


def served_copy(path: str | Path) -> Path:
    """Where Gradio keeps its copy of ``path`` (which must still exist: the location hashes its content)."""
    path = Path(path)
    return Path(get_upload_folder()) / hash_file(path) / strip_invalid_filename_characters(path.name)


def forget_served(path: str | Path) -> bool:
    """Delete Gradio's served copy of ``path`` (call before deleting ``path`` itself); True if there was one."""
    try:
        copy = served_copy(path)
        copy.unlink()
    except FileNotFoundError:
        return False
    except OSError as err:
        log.warning("could not delete Gradio's copy of %s: %s", path, err)
        return False
    try:
        copy.parent.rmdir()  # Gradio's folder for that content, now empty
    except OSError:
        pass  # not empty (the same content under another name) or already gone
    return True

"""The one fingerprint of a checkpoint folder, and the digests built from it.

:func:`checkpoint_fingerprint` is the SHA-256 of each of the folder's two files (:data:`~vst.style_folder.WEIGHTS_FILE`
and :data:`~vst.style_folder.CONFIG_FILE`): what identifies a checkpoint wherever one is recorded. What is stored keeps
the formula it was stored with, so existing data stays valid:

- an ONNX export's ``source_sha256`` (:mod:`vst.onnx_export`) is the fingerprint's ``weights`` (the bundled
  ``model.onnx`` files carry it);
- a vote's ``checkpoints`` (the vote store) and a pre-rendered A/B pair's folder name (``vst.app.showcase``) hash the
  fingerprints of the networks compared, ``{variant: [weights, config]}`` as sorted JSON: :func:`checkpoint_digest`.

Files are hashed once per process while unchanged (same path, size, modification and change time, inode).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import NamedTuple

from .style_folder import CONFIG_FILE, WEIGHTS_FILE

_digests: dict[tuple[str, int, int, int, int], str] = {}  # (path, size, mtime_ns, ctime_ns, inode) -> sha256


def file_sha256(path: Path) -> str:
    """The file's SHA-256 (hex), remembered while the file is unchanged, so that unchanged checkpoints and clips are
    hashed once per process."""
    stat = Path(path).stat()
    memo = (str(Path(path).resolve()), stat.st_size, stat.st_mtime_ns, stat.st_ctime_ns, stat.st_ino)
    if memo not in _digests:
        with Path(path).open("rb") as f:
            _digests[memo] = hashlib.file_digest(f, "sha256").hexdigest()
    return _digests[memo]


class CheckpointFingerprint(NamedTuple):
    """SHA-256 (hex) of a checkpoint folder's two files."""

    weights: str  #: of ``model.safetensors``
    config: str  #: of ``config.json``


def checkpoint_fingerprint(folder: Path) -> CheckpointFingerprint:
    """The fingerprint of checkpoint folder ``folder`` (``FileNotFoundError`` when a file is missing)."""
    return CheckpointFingerprint(file_sha256(Path(folder) / WEIGHTS_FILE), file_sha256(Path(folder) / CONFIG_FILE))


def checkpoint_digest(variants: Mapping[str, Path], compared: Sequence[str] | None = None) -> str:
    """16 hex digits identifying several checkpoints by name: ``variants``' folders (only the ``compared`` names, when
    given; e.g. a style's ``("fast", "fast-framewise")``). What a vote on a pair of networks judged, so that votes after
    a retraining are told apart from older ones; also the key of a style's rendered preview."""
    names = list(variants) if compared is None else list(compared)
    parts = {name: list(checkpoint_fingerprint(variants[name])) for name in names}
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]

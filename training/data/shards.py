"""The on-disk layout of the pairs: format version, splits, atomic JSON and shard writes, shard records.

A shard is a folder of ``frame_t.npy``, ``frame_t1.npy`` ``(N, H, W, 3)`` uint8, ``flow_back.npy`` ``(N, H, W, 2)``
float16 and ``weights.npy`` ``(N, H, W)`` uint8 0/1, plus its ``meta.json``; it appears at its final path only once
complete (a directory rename), so an interrupted run leaves at most a ``.<name>.*.partial`` folder behind.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vst.files import atomic_output

log = logging.getLogger(__name__)

#: Version of the on-disk layout; recorded in ``pairs/settings.json`` and ``pairs/index.json``.
FORMAT_VERSION = 2
SPLITS: tuple[str, ...] = ("train", "heldout")

#: One pair as built: ``frame_t``, ``frame_t1`` ``(H, W, 3)`` uint8, ``flow_back`` ``(H, W, 2)`` float32 (pixels),
#: ``weights`` ``(H, W)`` float32 0/1.
Pair = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def pairs_dir_of(data_dir: Path) -> Path:
    """The folder of the pairs (settings, index and shards) inside a data dir."""
    return data_dir / "pairs"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write ``obj`` as indented JSON to ``path`` (mode 0644), replacing it only once complete."""
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(obj, indent=1) + "\n")
        tmp.chmod(0o644)  # mkstemp creates it 0600


def write_shard(final: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
    """Write ``<key>.npy`` for each array plus ``meta.json`` into a temporary sibling, then rename it to ``final``."""
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".partial", dir=final.parent))
    try:
        for key, value in arrays.items():
            np.save(tmp / f"{key}.npy", np.ascontiguousarray(value))
        (tmp / "meta.json").write_text(json.dumps(dict(meta)) + "\n")
        tmp.chmod(0o755)  # mkdtemp creates it 0700
        os.replace(tmp, final)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


def remove_partials(source_dir: Path) -> None:
    """Remove shard directories left half-written by an interrupted run."""
    if source_dir.is_dir():
        for stale in source_dir.glob(".*.partial"):
            log.info("removing unfinished shard %s", stale)
            shutil.rmtree(stale)


def stack_shard(pairs: Sequence[Pair]) -> dict[str, np.ndarray]:
    """Pairs of ``(frame_t, frame_t1, flow_back float32, weights float32)`` → the shard's stacked arrays."""
    return {
        "frame_t": np.stack([p[0] for p in pairs]).astype(np.uint8),
        "frame_t1": np.stack([p[1] for p in pairs]).astype(np.uint8),
        "flow_back": np.stack([p[2] for p in pairs]).astype(np.float16),
        "weights": (np.stack([p[3] for p in pairs]) > 0.5).astype(np.uint8),
    }


def empty_shard(height: int, width: int) -> dict[str, np.ndarray]:
    """The arrays of a shard without pairs (every candidate was left out), for frames of ``height × width``."""
    return {"frame_t": np.zeros((0, height, width, 3), np.uint8), "frame_t1": np.zeros((0, height, width, 3), np.uint8),
            "flow_back": np.zeros((0, height, width, 2), np.float16), "weights": np.zeros((0, height, width), np.uint8)}


def shard_record(shard: Path, pairs_dir: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    """The index's entry for a shard: its path relative to ``pairs_dir`` and ``meta``'s source, split, n, size."""
    return {"path": shard.relative_to(pairs_dir).as_posix(), "source": meta["source"], "split": meta["split"],
            "n": meta["n"], "height": meta["height"], "width": meta["width"]}  # fmt: skip

"""Pairs from real video: consecutive distinct frames, their DIS flow ``t+1 → t`` and Ruder et al.'s weights.

Frames are decoded upright (the container's rotation applied) by :class:`vst.video.VideoReader` and resized so their
short side is ``short_side``; any unreadable input is a :class:`~vst.errors.VideoError` with a one-line message.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
from tqdm import tqdm

from vst.flow import consistency_weights, flow_pair
from vst.video import VideoReader

from ..registry import DataError
from .shards import Pair, empty_shard, remove_partials, shard_record, stack_shard, write_json_atomic, write_shard

log = logging.getLogger(__name__)

#: Real-footage pairs with a smaller fraction of reliable pixels are left out (scene cuts have < 0.15, bikes.mp4's
#: hardest genuine pair about 0.5).
MIN_RELIABLE_FRACTION = 0.3


@dataclass(frozen=True)
class Clip:
    """A video to take training pairs from: index name, file, split (``"train"`` or ``"heldout"``), pair stride."""

    name: str
    path: Path
    split: str = "train"
    stride: int | None = None  # None: prepare's stride


def resize_short_side(frame: np.ndarray, short_side: int) -> np.ndarray:
    """``(H, W, 3)`` uint8 → ``(h, w, 3)`` uint8 with ``min(h, w) == short_side`` (area when shrinking, else cubic)."""
    h, w = frame.shape[:2]
    s = short_side / min(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    if size == (w, h):
        return frame
    return cv2.resize(frame, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def _count_video_packets(path: Path) -> int:
    """Number of non-empty video packets (= decodable frames; cheap, no decoding), for the progress bar."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"{path} has no video stream")
            return sum(1 for packet in container.demux(container.streams.video[0]) if packet.size)
    except av.FFmpegError as err:
        raise DataError(f"cannot read {path}: {err}") from err


def _frames(reader: VideoReader, short_side: int) -> Iterator[np.ndarray]:
    """``reader``'s frames, upright, as ``(h, w, 3)`` uint8 RGB with short side ``short_side``."""
    for image, _pts, _time in reader.frames():
        yield resize_short_side(image, short_side)


def build_video_pairs(
    clip: Clip,
    pairs_dir: Path,
    *,
    short_side: int,
    stride: int,
    shard_size: int,
    preset: str = "medium",
    min_reliable: float = MIN_RELIABLE_FRACTION,
) -> list[dict[str, Any]]:
    """Shards of pairs ``(t, t+1)``, ``t = 0, stride, 2·stride, …`` of ``clip``, under ``pairs_dir/<clip.name>/``.

    Frames are upright (the container's rotation applied) ``(h, w, 3)`` uint8 RGB with short side ``short_side``.
    ``t`` counts distinct decoded frames: a variable-rate AVI's repeated frames (tree.avi's) are not decoded, and a
    decoded frame identical to the one before (diver.mov's repeats) is skipped, so no pair is a still.
    Shard ``k`` holds the candidate pairs ``t // stride`` in ``[k·shard_size, (k+1)·shard_size)``, less those with a
    reliable fraction below ``min_reliable`` (listed in its ``meta.json`` as ``skipped``). Existing shards are kept
    (their flow is not recomputed); a complete source (``done.json``) is not even decoded. Returns the shard records.
    An unreadable clip raises :class:`~vst.errors.VideoError` (one line, naming the file).
    """
    if stride < 1 or shard_size < 1:
        raise ValueError(f"stride and shard_size must be >= 1, got {stride} and {shard_size}")
    source_dir = pairs_dir / clip.name
    done = source_dir / "done.json"
    if done.is_file():
        return list(json.loads(done.read_text())["shards"])
    remove_partials(source_dir)
    records: list[dict[str, Any]] = []
    current: int | None = None  # shard index being filled
    buffer: list[Pair] = []
    frames_of: list[list[int]] = []
    skipped: list[int] = []
    size: tuple[int, int] = (0, 0)

    def flush() -> None:
        shard = source_dir / f"{current:04d}"
        if shard.is_dir():
            meta = json.loads((shard / "meta.json").read_text())
        else:
            meta = {"source": clip.name, "split": clip.split, "kind": "video", "file": clip.path.name,
                    "n": len(buffer), "height": size[0], "width": size[1], "frames": frames_of, "skipped": skipped}
            # every candidate left out: an empty shard is recorded all the same, so a rerun need not look again
            write_shard(shard, stack_shard(buffer) if buffer else empty_shard(*size), meta)
        records.append(shard_record(shard, pairs_dir, meta))

    prev: np.ndarray | None = None
    index = -1
    with (
        VideoReader(clip.path) as reader,
        tqdm(total=_count_video_packets(clip.path), unit="frame", desc=f"pairs: {clip.name}", leave=False) as bar,
    ):
        for frame in _frames(reader, short_side):
            bar.update(1)
            if prev is not None and np.array_equal(frame, prev):
                continue
            index += 1
            t = index - 1
            if prev is not None and t % stride == 0:
                shard_index = (t // stride) // shard_size
                if shard_index != current:
                    if current is not None:
                        flush()
                    current, buffer, frames_of, skipped = shard_index, [], [], []
                size = frame.shape[:2]
                if not (source_dir / f"{current:04d}").is_dir():
                    flow_fwd, flow_back = flow_pair(prev, frame, preset)
                    weights = consistency_weights(flow_back, flow_fwd)
                    if float(weights.mean()) < min_reliable:
                        skipped.append(t)
                    else:
                        buffer.append((prev, frame, flow_back, weights))
                        frames_of.append([t, t + 1])
            prev = frame
    if current is None:
        raise DataError(f"{clip.path} has fewer than 2 frames: no pairs")
    flush()
    n_pairs = sum(r["n"] for r in records)
    n_skipped = sum(len(json.loads((pairs_dir / r["path"] / "meta.json").read_text())["skipped"]) for r in records)
    note = f" ({n_skipped} left out: too few reliable pixels)" if n_skipped else ""
    log.info("%s: %d pairs%s", clip.name, n_pairs, note)
    write_json_atomic(done, {"source": clip.name, "split": clip.split, "shards": records})
    return records

"""The prepared pairs as a PyTorch dataset: random square crops, randomly mirrored, with flow and weights to match."""

from __future__ import annotations

import bisect
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ..registry import DataError
from .shards import FORMAT_VERSION, pairs_dir_of


def crop_and_flip(
    frame_t: np.ndarray,
    frame_t1: np.ndarray,
    flow_back: np.ndarray,
    weights: np.ndarray,
    top: int,
    left: int,
    size: int,
    flip: bool,
) -> dict[str, torch.Tensor]:
    """One training sample from a stored pair: the same ``size × size`` crop of all four maps, optionally mirrored.

    Inputs as stored: ``(H, W, 3)`` uint8 frames, ``(H, W, 2)`` flow (pixels), ``(H, W)`` weights. Mirroring flips
    every map left–right and negates the flow's x component. Weights become 0 where ``x + flow_back(x)`` leaves the
    crop (frame t has no content there). Returns ``frame_t``, ``frame_t1`` ``(3, size, size)`` float32 in [0, 1],
    ``flow_back`` ``(2, size, size)`` float32 pixels, ``weights`` ``(1, size, size)`` float32 0/1.
    """
    window = (slice(top, top + size), slice(left, left + size))
    a = np.asarray(frame_t[window], dtype=np.float32) / 255.0
    b = np.asarray(frame_t1[window], dtype=np.float32) / 255.0
    flow = np.asarray(flow_back[window], dtype=np.float32)
    w = np.asarray(weights[window], dtype=np.float32)
    if a.shape[:2] != (size, size):
        raise ValueError(f"crop {size} at ({top}, {left}) does not fit frames of {frame_t.shape[:2]}")
    if flip:
        a, b, flow, w = a[:, ::-1], b[:, ::-1], flow[:, ::-1] * np.float32([-1.0, 1.0]), w[:, ::-1]
    grid = np.arange(size, dtype=np.float32)
    tx, ty = flow[..., 0] + grid[None, :], flow[..., 1] + grid[:, None]
    w = w * ((tx >= 0) & (tx <= size - 1) & (ty >= 0) & (ty <= size - 1))
    return {
        "frame_t": torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1))),
        "frame_t1": torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1))),
        "flow_back": torch.from_numpy(np.ascontiguousarray(flow.transpose(2, 0, 1))),
        "weights": torch.from_numpy(np.ascontiguousarray(w[None])),
    }


class FramePairDataset(torch.utils.data.Dataset):
    """The prepared frame pairs, as random crops (and random mirror images) for training.

    Args:
        root: the data dir (its ``pairs/index.json`` is read) or the index path that :func:`prepare` returns.
        crop: side of the square crop; every stored frame must be at least this large.
        flip: mirror each sample left–right with probability 1/2.
        sources: source names to draw from (e.g. ``["vtest", "synthetic"]``); ``None``: every ``"train"`` source.

    Item ``i`` is pair ``i`` of the chosen shards (crop position and flip drawn from torch's RNG, so DataLoader
    workers differ): a dict of ``frame_t``, ``frame_t1`` ``(3, crop, crop)`` float32 in [0, 1], ``flow_back``
    ``(2, crop, crop)`` float32 in pixels (t+1 → t, on t+1's grid) and ``weights`` ``(1, crop, crop)`` float32 0/1
    (see :func:`crop_and_flip`). A shuffling sampler (``DataLoader(shuffle=True)`` / ``RandomSampler``) draws each pair
    once per epoch, from all videos in random order. Shards are memory-mapped lazily, so memory stays small.
    """

    def __init__(
        self, root: str | os.PathLike[str], *, crop: int = 256, flip: bool = True, sources: Sequence[str] | None = None
    ) -> None:
        root = Path(root)
        index_path = root if root.is_file() else pairs_dir_of(root) / "index.json"
        if not index_path.is_file():
            raise DataError(f"no training pairs at {index_path}: run `python -m training prepare` first")
        index = json.loads(index_path.read_text())
        if index.get("format") != FORMAT_VERSION:
            raise DataError(f"{index_path} has format {index.get('format')}, expected {FORMAT_VERSION}: prepare again")
        known: dict[str, dict[str, Any]] = index["sources"]
        if sources is None:
            chosen = [name for name, info in known.items() if info["split"] == "train"]
        else:
            unknown = [s for s in sources if s not in known]
            if unknown:
                raise ValueError(f"unknown sources {unknown}; {index_path} has {', '.join(known)}")
            chosen = list(dict.fromkeys(sources))
        self.pairs_dir = index_path.parent
        self.crop = int(crop)
        self.flip = bool(flip)
        self.sources: tuple[str, ...] = tuple(chosen)
        self.shards: list[dict[str, Any]] = [s for s in index["shards"] if s["source"] in chosen and s["n"] > 0]
        small = [s["path"] for s in self.shards if min(s["height"], s["width"]) < self.crop]
        if small:
            raise ValueError(f"crop {self.crop} is larger than the frames of shards {small}")
        self._ends: list[int] = list(np.cumsum([s["n"] for s in self.shards]).tolist())
        if not self._ends:
            raise DataError(f"no pairs for sources {list(chosen)} in {index_path}")
        self._arrays: dict[int, dict[str, np.ndarray]] = {}

    def __len__(self) -> int:
        return self._ends[-1]

    def locate(self, index: int) -> tuple[int, int]:
        """``(k, j)``: pair ``index`` is pair ``j`` of shard ``self.shards[k]``."""
        if not 0 <= index < len(self):
            raise IndexError(f"pair {index} out of range for {len(self)} pairs")
        k = bisect.bisect_right(self._ends, index)
        return k, index - (self._ends[k - 1] if k else 0)

    def _shard_arrays(self, k: int) -> dict[str, np.ndarray]:
        if k not in self._arrays:
            folder = self.pairs_dir / self.shards[k]["path"]
            self._arrays[k] = {key: np.load(folder / f"{key}.npy", mmap_mode="r")
                               for key in ("frame_t", "frame_t1", "flow_back", "weights")}  # fmt: skip
        return self._arrays[k]

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        k, j = self.locate(index)
        arrays = self._shard_arrays(k)
        h, w = self.shards[k]["height"], self.shards[k]["width"]
        top = int(torch.randint(0, h - self.crop + 1, ()).item())
        left = int(torch.randint(0, w - self.crop + 1, ()).item())
        flip = self.flip and bool(torch.rand(()) < 0.5)
        return crop_and_flip(arrays["frame_t"][j], arrays["frame_t1"][j], arrays["flow_back"][j], arrays["weights"][j],
                             top, left, self.crop, flip)  # fmt: skip

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_arrays"] = {}  # memory maps are reopened in each process, never pickled
        return state

    def pairs_per_source(self) -> dict[str, int]:
        """``{source: number of pairs}`` for the chosen sources."""
        counts = dict.fromkeys(self.sources, 0)
        for s in self.shards:
            counts[s["source"]] += s["n"]
        return counts

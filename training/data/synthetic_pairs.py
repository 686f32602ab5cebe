"""The synthetic source: shards of :func:`~training.data.synthetic_motion.make_synthetic_pair` pairs over photos."""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from .photo_loader import load_photos
from .shards import Pair, remove_partials, shard_record, stack_shard, write_json_atomic, write_shard
from .synthetic_motion import fit_photo, make_synthetic_pair

log = logging.getLogger(__name__)

#: Name of the synthetic source in the index.
SYNTHETIC = "synthetic"


def synthetic_frame_size(short_side: int) -> tuple[int, int]:
    """``(H, W)`` of the synthetic frames: 4:3 landscape with height ``short_side``."""
    return short_side, round(short_side * 4 / 3)


def build_synthetic_pairs(
    pairs_dir: Path, *, count: int, short_side: int, seed: int, shard_size: int, photo_files: Sequence[Path] = ()
) -> list[dict[str, Any]]:
    """``count`` synthetic pairs in shards under ``pairs_dir/synthetic/``; pair ``i`` depends only on ``(seed, i)``.

    The photos are :func:`load_photos`'s (the built-in ones and ``photo_files``), sorted by name and used in turn
    (pair ``i`` shows photo ``i mod n``); occluders are cut from the other photos. Existing shards are kept. Returns
    the shard records.
    """
    source_dir = pairs_dir / SYNTHETIC
    done = source_dir / "done.json"
    if done.is_file():
        return list(json.loads(done.read_text())["shards"])
    remove_partials(source_dir)
    frame_hw = synthetic_frame_size(short_side)
    n_shards = math.ceil(count / shard_size)
    photos: dict[str, np.ndarray] = {}
    if any(not (source_dir / f"{k:04d}").is_dir() for k in range(n_shards)):
        photos = {name: fit_photo(p, frame_hw) for name, p in load_photos(photo_files).items()}
    names = sorted(photos)
    records: list[dict[str, Any]] = []
    with tqdm(total=count, unit="pair", desc=f"pairs: {SYNTHETIC}", leave=False) as bar:
        for k in range(n_shards):
            shard = source_dir / f"{k:04d}"
            indices = range(k * shard_size, min(count, (k + 1) * shard_size))
            if not shard.is_dir():
                pairs: list[Pair] = []
                used: list[str] = []
                for i in indices:
                    rng = np.random.default_rng([seed, i])
                    name = names[i % len(names)]
                    others = [photos[n] for n in names if n != name]
                    p = make_synthetic_pair(photos[name], frame_hw, rng, textures=others)
                    pairs.append((p.frame_t, p.frame_t1, p.flow_back, p.weights))
                    used.append(name)
                    bar.update(1)
                meta = {"source": SYNTHETIC, "split": "train", "kind": "synthetic", "n": len(pairs),
                        "height": frame_hw[0], "width": frame_hw[1], "seed": seed, "pairs": list(indices),
                        "photos": used}  # fmt: skip
                write_shard(shard, stack_shard(pairs), meta)
            else:
                meta = json.loads((shard / "meta.json").read_text())
                bar.update(len(indices))
            records.append(shard_record(shard, pairs_dir, meta))
    log.info("%s: %d pairs", SYNTHETIC, count)
    write_json_atomic(done, {"source": SYNTHETIC, "split": "train", "shards": records})
    return records

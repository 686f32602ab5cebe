"""Building a data dir: fetch the footage and photos, build every source's shards, write the index; its summary."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tqdm import tqdm

from ..photos import fetch_photos
from ..registry import DataError
from .photo_loader import builtin_photo_count, photo_name
from .shards import FORMAT_VERSION, SPLITS, pairs_dir_of, write_json_atomic
from .sources import SOURCES, fetch_footage
from .synthetic_pairs import SYNTHETIC, build_synthetic_pairs
from .video_pairs import Clip, build_video_pairs

#: Synthetic pairs per photo when :func:`prepare` is not told a count.
PAIRS_PER_PHOTO = 2


def prepare(
    data_dir: Path,
    *,
    short_side: int = 256,
    stride: int = 6,
    synthetic_pairs: int | None = None,
    pairs_per_photo: int = PAIRS_PER_PHOTO,
    seed: int = 0,
    shard_size: int = 32,
    clips: Sequence[Clip] | None = None,
    photo_files: Sequence[Path] | None = None,
) -> Path:
    """Fetch the footage and photos and build every shard (resumable: finished shards and sources are skipped).
    Returns the index.

    Args:
        data_dir: the data dir (created); see :mod:`training.data` for its layout.
        short_side: frames are resized to this short side (synthetic frames are ``short_side × 4/3·short_side``).
        stride: a real-footage pair ``(t, t+1)`` is taken every ``stride`` frames, for clips without their own.
        synthetic_pairs: number of synthetic camera-motion pairs; ``None``: ``pairs_per_photo`` per photo.
        pairs_per_photo: see ``synthetic_pairs``.
        seed: seed of the synthetic pairs.
        shard_size: pairs per shard.
        clips: the videos to take pairs from; ``None``: :data:`SOURCES`, fetched into ``data_dir/raw`` (network).
        photo_files: photos for the synthetic pairs besides the built-in ones; ``None``: the registry photos of
            :data:`training.photos.PHOTO_PACKAGES`, fetched into ``data_dir/raw/photos`` (network), when ``clips`` is
            ``None`` too, else none.

    A data dir whose pairs were built with other settings is refused (delete its ``pairs/`` or use another dir).
    """
    if short_side < 16:
        raise ValueError(f"short_side must be at least 16, got {short_side}")
    if synthetic_pairs is not None and synthetic_pairs < 0:
        raise ValueError(f"synthetic_pairs must be >= 0, got {synthetic_pairs}")
    data_dir = Path(data_dir)
    pairs_dir = pairs_dir_of(data_dir)
    fetch = clips is None
    if clips is None:
        paths = fetch_footage(data_dir / "raw")
        clips = [Clip(s.name, paths[s.file], s.split, s.stride) for s in SOURCES]
    if photo_files is None:
        photo_files = []
        if fetch:
            for files in fetch_photos(data_dir / "raw" / "photos").values():
                photo_files += files
    photo_files = sorted(photo_files, key=photo_name)
    names = [clip.name for clip in clips]
    if len(set(names)) != len(names) or SYNTHETIC in names:
        raise ValueError(f"clip names must be unique and not {SYNTHETIC!r}, got {names}")
    bad = [clip.name for clip in clips if clip.split not in SPLITS]
    if bad:
        raise ValueError(f"clips {bad}: split must be one of {SPLITS}")
    strides = {clip.name: clip.stride or stride for clip in clips}
    n_photos = builtin_photo_count() + len(photo_files)
    if synthetic_pairs is None:
        synthetic_pairs = pairs_per_photo * n_photos
    settings = {"format": FORMAT_VERSION, "short_side": short_side, "stride": stride, "strides": strides,
                "synthetic_pairs": synthetic_pairs, "photos": n_photos, "seed": seed, "shard_size": shard_size,
                "flow_preset": "medium"}  # fmt: skip
    settings_path = pairs_dir / "settings.json"
    if settings_path.is_file():
        existing = json.loads(settings_path.read_text())
        if existing != settings:
            raise DataError(f"{pairs_dir} was built with {existing}, not {settings}: delete it or use another data dir")
    else:
        pairs_dir.mkdir(parents=True, exist_ok=True)
        write_json_atomic(settings_path, settings)

    shards: list[dict[str, Any]] = []
    sources: dict[str, dict[str, Any]] = {}
    for clip in tqdm(clips, unit="clip", desc="footage"):
        records = build_video_pairs(clip, pairs_dir, short_side=short_side, stride=strides[clip.name],
                                    shard_size=shard_size)  # fmt: skip
        shards += records
        sources[clip.name] = {"kind": "video", "split": clip.split, "file": clip.path.name,
                              "pairs": sum(r["n"] for r in records)}  # fmt: skip
    if synthetic_pairs:
        records = build_synthetic_pairs(pairs_dir, count=synthetic_pairs, short_side=short_side, seed=seed,
                                        shard_size=shard_size, photo_files=photo_files)  # fmt: skip
        shards += records
        per_package: dict[str, int] = {"built-in": builtin_photo_count()}
        for path in photo_files:
            per_package[path.parent.name] = per_package.get(path.parent.name, 0) + 1
        sources[SYNTHETIC] = {"kind": "synthetic", "split": "train", "pairs": sum(r["n"] for r in records),
                              "photos": per_package}  # fmt: skip
    index = {"format": FORMAT_VERSION, "settings": settings, "sources": sources, "shards": shards}
    index_path = pairs_dir / "index.json"
    if not index_path.is_file() or json.loads(index_path.read_text()) != index:
        write_json_atomic(index_path, index)
    return index_path


def summary(index_path: Path) -> str:
    """A plain-text table of the pairs per source (and the synthetic pairs' photos per package) of an index."""
    index = json.loads(Path(index_path).read_text())
    lines = [f"{'source':<34} {'kind':<9} {'split':<7} {'stride':>6} {'pairs':>6}"]
    totals: dict[str, int] = {}
    strides = index["settings"].get("strides", {})
    for name, info in index["sources"].items():
        lines.append(f"{name:<34} {info['kind']:<9} {info['split']:<7} {strides.get(name, ''):>6} {info['pairs']:>6}")
        totals[info["split"]] = totals.get(info["split"], 0) + info["pairs"]
    lines.append(", ".join(f"{split}: {n} pairs" for split, n in totals.items()))
    photos = index["sources"].get(SYNTHETIC, {}).get("photos", {})
    if photos:
        lines.append(f"photos ({sum(photos.values())}): " + ", ".join(f"{k} {v}" for k, v in photos.items()))
    return "\n".join(lines)

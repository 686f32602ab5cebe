"""The photos that synthetic camera motion is made of: built-in ones (scikit-image, scikit-learn) and fetched ones."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from ..registry import DataError

log = logging.getLogger(__name__)

#: ``skimage.data`` colour photos that ship inside the scikit-image wheel (no download): the synthetic clips' content.
SKIMAGE_PHOTOS: tuple[str, ...] = (
    "astronaut", "chelsea", "coffee", "hubble_deep_field", "immunohistochemistry", "rocket", "stereo_motorcycle",
)  # fmt: skip


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

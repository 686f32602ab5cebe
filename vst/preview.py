"""The preview: what a style network makes of one public-domain photo, the picture every style card, model folder
(``preview.jpg``) and visitor's painting shows beside its painting."""

from __future__ import annotations

import numpy as np
from PIL import Image
from torch import nn

from .pipeline import Stylizer

#: The long side, in pixels, previews are rendered at.
PREVIEW_SIZE = 384


def sample_photo() -> np.ndarray:
    """The photo every preview is rendered from: scikit-image's ``chelsea`` (a cat; public domain), ``(300, 451, 3)``
    uint8 RGB."""
    from skimage import data  # imported here: scikit-image is slow to import and only needed for previews

    return np.ascontiguousarray(data.chelsea())


def render_preview(model: nn.Module, size: int = PREVIEW_SIZE) -> Image.Image:
    """``model``'s rendering of :func:`sample_photo` scaled to a long side of ``size`` (Lanczos), on the CPU."""
    photo = Image.fromarray(sample_photo())
    scale = size / max(photo.size)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.LANCZOS)
    return Image.fromarray(Stylizer(model, "cpu")(np.asarray(photo)[None])[0])

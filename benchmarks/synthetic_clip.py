"""A synthetic test clip for benchmarks: a photo panning smoothly (real texture, known motion), H.264 in an MP4."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
from skimage import data as skdata


def write_panning_clip(path: Path, *, width: int, height: int, frames: int, fps: int = 25, grain: float = 0.0,
                       crf: int = 23, step: int = 2) -> Path:
    """Write ``frames`` frames of scikit-image's astronaut photo panning ``step`` px per frame (0: a still camera),
    ``width``×``height``; ``grain``: Gaussian grain of that many levels added to every frame anew (seeded), H.264 at
    quality ``crf``."""
    rng = np.random.default_rng(0)
    photo = skdata.astronaut()
    canvas = cv2.resize(photo, (width + step * frames + 8, height + 8), interpolation=cv2.INTER_CUBIC)
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps, options={"preset": "ultrafast", "crf": str(crf)})
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        for i in range(frames):
            image = np.ascontiguousarray(canvas[4:4 + height, step * i:step * i + width])
            if grain:
                image = np.clip(image + rng.normal(0.0, grain, image.shape), 0, 255).round().astype(np.uint8)
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path

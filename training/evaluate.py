"""Quality of a trained style on held-out clips: flicker (warping error), style distance, content distance, speed.

* warping error — Lai et al. 2018, see :mod:`vst.metrics` (lower is steadier);
* style distance — Σ over the style layers of the MSE between the output's and the painting's Gram matrices (VGG16),
  each relative to the painting's Gram energy, averaged over frames (lower carries the painting's textures and
  colours more closely);
* content distance — MSE of VGG16 relu3_3 features between output and input, relative to the input's feature energy
  (lower keeps more of the scene).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from vst.metrics import WarpingErrorMeter
from vst.pipeline import Stylizer
from vst.video import VideoReader

from .config import STYLE_LAYERS
from .losses import gram_matrix
from .train import load_style_image
from .vgg import VGG16Features, fetch_vgg16_weights


@dataclass
class StyleMetrics:
    """Means over the held-out clips (each clip weighs the same); ``per_clip``: clip file name → the same three
    figures on that clip alone."""

    warping_error: float
    style_distance: float
    content_distance: float
    fps_640x360: float
    per_clip: dict[str, dict[str, float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, float]:
        """The four means (what ``metrics.json`` records)."""
        return {"warping_error": self.warping_error, "style_distance": self.style_distance,
                "content_distance": self.content_distance, "fps_640x360": self.fps_640x360}


def load_clip(path: Path, *, max_side: int = 360, max_frames: int = 60) -> np.ndarray:
    """The first ``max_frames`` frames of a video as ``(N, H, W, 3)`` uint8, long side at most ``max_side``."""
    frames = []
    with VideoReader(path, max_side=max_side) as reader:
        for batch in reader.batches(8):
            frames.extend(batch.images)
            if len(frames) >= max_frames:
                break
    return np.stack(frames[:max_frames])


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """``(N, H, W, 3)`` uint8 → ``(N, 3, H, W)`` float in [0, 1]."""
    return torch.from_numpy(images).permute(0, 3, 1, 2).float().div(255)


def measure_fps(model: torch.nn.Module, *, width: int = 640, height: int = 360, frames: int = 8, batch: int = 4) -> float:
    """Network-only frames per second at ``width``×``height`` on the CPU (after one warm-up batch)."""
    stylizer = Stylizer(model, "cpu")  # type: ignore[arg-type]
    images = np.random.default_rng(0).integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    stylizer(images)
    start = time.perf_counter()
    for _ in range(max(1, frames // batch)):
        stylizer(images)
    return max(1, frames // batch) * batch / (time.perf_counter() - start)


def evaluate(
    models: Mapping[str, torch.nn.Module],
    clips: Sequence[Path],
    style_image: Path,
    *,
    style_size: int = 384,
    max_side: int = 360,
    max_frames: int = 60,
    with_speed: bool = True,
) -> dict[str, StyleMetrics]:
    """Metrics for each named model (e.g. ``temporal`` and ``framewise``) on the same held-out clips."""
    vgg = VGG16Features(fetch_vgg16_weights(offline=True), layers=STYLE_LAYERS)
    with torch.no_grad():
        target = vgg(load_style_image(style_image, style_size))
        grams = {k: gram_matrix(target[k]) for k in STYLE_LAYERS}
    stylizers = {name: Stylizer(model, "cpu") for name, model in models.items()}
    per_clip: dict[str, dict[str, dict[str, float]]] = {name: {} for name in models}
    for clip in clips:
        frames = load_clip(clip, max_side=max_side, max_frames=max_frames)
        outputs = {name: np.concatenate([s(frames[i:i + 8]) for i in range(0, len(frames), 8)])
                   for name, s in stylizers.items()}
        meter = WarpingErrorMeter()
        for i, frame in enumerate(frames):
            meter.update(frame, {name: out[i] for name, out in outputs.items()})
        with torch.no_grad():
            content_in = [vgg(to_tensor(frames[i:i + 8]))["relu3_3"] for i in range(0, len(frames), 8)]
            for name, out in outputs.items():
                style_d: list[float] = []
                content_d: list[float] = []
                for j, i in enumerate(range(0, len(out), 8)):
                    feats = vgg(to_tensor(out[i:i + 8]))
                    content_d.append(float(torch.mean((feats["relu3_3"] - content_in[j]) ** 2)
                                           / content_in[j].pow(2).mean()))
                    per_layer = [torch.mean((gram_matrix(feats[k]) - grams[k]) ** 2, dim=(1, 2)) / grams[k].pow(2).mean()
                                 for k in STYLE_LAYERS]
                    style_d.extend(torch.stack(per_layer).sum(0).tolist())
                per_clip[name][clip.name] = {"warping_error": meter.mean()[name],
                                             "style_distance": float(np.mean(style_d)),
                                             "content_distance": float(np.mean(content_d))}
    return {
        name: StyleMetrics(
            warping_error=float(np.nanmean([c["warping_error"] for c in per_clip[name].values()])),
            style_distance=float(np.mean([c["style_distance"] for c in per_clip[name].values()])),
            content_distance=float(np.mean([c["content_distance"] for c in per_clip[name].values()])),
            fps_640x360=measure_fps(model) if with_speed else float("nan"),
            per_clip=per_clip[name],
        )
        for name, model in models.items()
    }

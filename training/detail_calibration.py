"""How much of the frame's own detail a trained network gets (:mod:`vst.detail`): as much as brings its output's fine
detail back to its teacher's.

The strength is chosen on training frames, never on the benchmark clips: the network's output ``S`` and the detail
term ``D`` (:func:`vst.detail.add_frame_detail` at strength 1, less ``S``) are rendered once; the Laplacian energy of
``S + k·D`` is a quadratic in ``k`` (clamping aside), solved for the teacher's energy. A network that already carries
as much detail as its teacher gets 0. The any-painting network gets one strength for every picture: the median of
the strengths of its training paintings (:func:`calibrate_any_painting`).
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from vst.checkpoint_check import load_network
from vst.conditional import load_conditional, save_conditional
from vst.detail import add_frame_detail, detail_energy, laplacian
from vst.model import StyleNet
from vst.style_folder import CONFIG_FILE
from vst.teacher import style_vectors

from .data import FramePairDataset

#: Largest strength the calibration returns (beyond it the frame's detail reads as a photo's, not a painting's).
MAX_STRENGTH = 2.0
#: Training frames the calibration renders, and their crop side.
FRAMES = 24
CROP = 256


def training_frames(data_dir: Path, *, count: int = FRAMES, crop: int = CROP, seed: int = 0) -> torch.Tensor:
    """``(count, 3, c, c)`` in [0, 1]: the first frames of ``count`` training pairs drawn with ``seed``, cropped to
    ``c`` = ``crop`` or, where some training frames are smaller, their short side (a multiple of 4)."""
    generator = torch.Generator().manual_seed(seed)
    shards = FramePairDataset(data_dir, crop=1, flip=False).shards
    crop = min(crop, min(min(s["height"], s["width"]) for s in shards) // 4 * 4)
    dataset = FramePairDataset(data_dir, crop=crop, flip=False)
    picks = torch.randperm(len(dataset), generator=generator)[:count].tolist()
    state = torch.get_rng_state()
    torch.manual_seed(seed)  # the crops' positions
    try:
        return torch.stack([dataset[i]["frame_t"] for i in picks])
    finally:
        torch.set_rng_state(state)


@torch.no_grad()
def matching_strength(network: StyleNet, teacher: StyleNet, frames: torch.Tensor) -> float:
    """The ``frame_detail`` strength in [0, :data:`MAX_STRENGTH`] at which ``network``'s output on ``frames``
    (``(N, 3, H, W)`` in [0, 1], H and W multiples of 4) carries its teacher's fine-detail energy."""
    network, teacher = network.eval(), teacher.eval()
    own = network.frame_detail
    network.frame_detail = 0.0
    try:
        stylized = network(frames)
    finally:
        network.frame_detail = own
    target = detail_energy(teacher(frames))
    added = add_frame_detail(stylized, frames, 1.0) - stylized
    s, d = laplacian(stylized), laplacian(added)
    a, b, c = float(d.square().mean()), 2.0 * float((s * d).mean()), float(s.square().mean()) - target
    if c >= 0 or a <= 0:  # already as detailed as the teacher, or the frames have no detail to give
        return 0.0
    root = (-b + math.sqrt(b * b - 4 * a * c)) / (2 * a)  # c < 0: one positive root
    return float(np.clip(root, 0.0, MAX_STRENGTH))


def calibrate_folder(folder: Path, teacher: Path, frames: torch.Tensor) -> float:
    """Set ``folder``'s ``frame_detail`` (its ``config.json``, weights untouched) to :func:`matching_strength`
    against the checkpoint ``teacher``; returns it."""
    strength = round(matching_strength(load_network(folder), load_network(teacher), frames), 3)
    config_path = folder / CONFIG_FILE
    config = json.loads(config_path.read_text())
    config.pop("frame_detail", None)
    if strength > 0:
        config["frame_detail"] = strength
    config_path.write_text(json.dumps(config, sort_keys=True, indent=2))  # as save_pretrained writes it
    return strength


def calibrate_networks(folders: dict[str, Path], teacher: Path, data_dir: Path) -> dict[str, float]:
    """:func:`calibrate_folder` for each named checkpoint folder against ``teacher``, on the same training frames
    (:func:`training_frames` of ``data_dir``); returns each strength."""
    frames = training_frames(data_dir)
    return {name: calibrate_folder(folder, teacher, frames) for name, folder in folders.items()}


def calibrate_any_painting(folder: Path, teacher: Path, paintings: Sequence[Path], data_dir: Path) -> float:
    """Set the any-painting network in ``folder`` (:mod:`vst.conditional`; weights untouched) to the median over
    ``paintings`` (its training paintings) of :func:`matching_strength` against the any-painting ``teacher`` folder,
    on training frames; returns it."""
    student, reference = load_conditional(folder), load_conditional(teacher)
    frames = training_frames(data_dir)
    strengths = []
    for painting in paintings:
        vector = style_vectors(Image.open(painting).convert("RGB")).mixed
        strengths.append(matching_strength(student.fixed(vector), reference.fixed(vector), frames))
    student.frame_detail = round(float(np.median(strengths)), 3)
    save_conditional(student, folder, **student.training_config)
    return student.frame_detail

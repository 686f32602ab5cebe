"""The classic framewise style networks of Johnson et al. (2016), as published by ml5.js, for side-by-side benchmarks.

A reference folder (``../shared/reference/johnson-ml5/<name>/``) holds ``manifest.json``, which maps 48 names
``Variable`` … ``Variable_47`` to raw little-endian float32 files and their shapes. In name order they form 16 layers
of (kernel, instance-norm shift, instance-norm scale):

    conv 9×9/1 (32) → conv 3×3/2 (64) → conv 3×3/2 (128) → 5 residual blocks of two 3×3 convs (128)
    → transposed conv 3×3/2 (64) → transposed conv 3×3/2 (32) → conv 9×9/1 (3)

Kernels are TensorFlow HWIO ``[h, w, in, out]`` (transposed convolutions: ``[h, w, out, in]``); every convolution
uses TensorFlow ``SAME`` zero padding and is followed by instance norm (ε = 1e-3, biased variance), then ReLU except
after each residual block's second convolution and after the last layer. Input RGB 0–255; output
``tanh(x)·150 + 127.5`` clipped to 0–255.

These networks are benchmarks only: never bundled, never read by the app.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

#: ``(kind, kernel size, stride)`` of the 16 layers, in manifest order.
LAYERS: tuple[tuple[str, int, int], ...] = (
    ("conv", 9, 1), ("conv", 3, 2), ("conv", 3, 2),
    *(("conv", 3, 1),) * 10,
    ("deconv", 3, 2), ("deconv", 3, 2), ("conv", 9, 1),
)  # fmt: skip
IN_EPS = 1e-3


class ClassicFormatError(ValueError):
    """A reference folder does not hold a network in the documented format."""


@dataclass(frozen=True)
class ClassicLayer:
    """One layer's TensorFlow-layout tensors: ``kernel`` HWIO (``[h, w, out, in]`` for transposed convolutions),
    ``shift`` and ``scale`` ``(C_out,)``."""

    kind: str
    stride: int
    kernel: np.ndarray
    shift: np.ndarray
    scale: np.ndarray


def _variable_index(name: str) -> int:
    match = re.fullmatch(r"Variable(?:_(\d+))?", name)
    if match is None:
        raise ClassicFormatError(f"unexpected variable name {name!r}")
    return int(match.group(1) or 0)


def read_classic_layers(folder: Path) -> list[ClassicLayer]:
    """The 16 layers of the network in ``folder`` (its ``manifest.json`` and raw float32 files), shapes checked."""
    folder = Path(folder)
    manifest_path = folder / "manifest.json"
    if not manifest_path.is_file():
        raise ClassicFormatError(f"{manifest_path} not found: not a classic network folder")
    manifest = json.loads(manifest_path.read_text())
    names = sorted(manifest, key=_variable_index)
    if [_variable_index(n) for n in names] != list(range(3 * len(LAYERS))):
        raise ClassicFormatError(f"{manifest_path}: expected Variable … Variable_{3 * len(LAYERS) - 1}, got {names}")
    tensors = []
    for name in names:
        entry = manifest[name]
        shape = tuple(int(s) for s in entry["shape"])
        data = np.fromfile(folder / entry["filename"], dtype="<f4")
        if data.size != int(np.prod(shape)):
            raise ClassicFormatError(f"{folder / entry['filename']}: {data.size} floats, shape {shape} needs "
                                     f"{int(np.prod(shape))}")
        tensors.append(data.reshape(shape))
    layers = []
    for i, (kind, size, stride) in enumerate(LAYERS):
        kernel, shift, scale = tensors[3 * i:3 * i + 3]
        channels_out = kernel.shape[2] if kind == "deconv" else kernel.shape[3]
        if kernel.shape[:2] != (size, size) or shift.shape != (channels_out,) or scale.shape != (channels_out,):
            raise ClassicFormatError(f"{folder}: layer {i} ({kind} {size}×{size}) has kernel {kernel.shape}, shift "
                                     f"{shift.shape}, scale {scale.shape}")
        layers.append(ClassicLayer(kind, stride, kernel, shift, scale))
    return layers


def same_padding(size: int, kernel: int, stride: int) -> tuple[int, int]:
    """TensorFlow ``SAME`` padding ``(before, after)`` of one axis: output ``ceil(size / stride)``, the odd pixel
    after (bottom / right)."""
    out = -(-size // stride)
    total = max((out - 1) * stride + kernel - size, 0)
    return total // 2, total - total // 2


class ClassicStyleNet(nn.Module):
    """Johnson et al.'s network from a reference folder: ``(B, 3, H, W)`` RGB in [0, 1] → the same shape in [0, 1].

    Works at any ``H, W`` (the transposed convolutions output exactly twice their input, as TensorFlow's ``SAME``);
    ``size_multiple`` 4 lets :class:`vst.pipeline.Stylizer` pad frames so both downsamplings are exact.
    """

    size_multiple = 4

    def __init__(self, layers: list[ClassicLayer]) -> None:
        super().__init__()
        self.kinds = [layer.kind for layer in layers]
        self.strides = [layer.stride for layer in layers]
        self.weights = nn.ParameterList()
        self.shifts = nn.ParameterList()
        self.scales = nn.ParameterList()
        for layer in layers:
            # conv HWIO [h, w, in, out] → OIHW; transposed [h, w, out, in] → PyTorch's (in, out, h, w): one permute
            weight = torch.from_numpy(np.ascontiguousarray(layer.kernel.transpose(3, 2, 0, 1)))
            self.weights.append(nn.Parameter(weight, requires_grad=False))
            self.shifts.append(nn.Parameter(torch.from_numpy(layer.shift.copy()), requires_grad=False))
            self.scales.append(nn.Parameter(torch.from_numpy(layer.scale.copy()), requires_grad=False))

    @classmethod
    def from_folder(cls, folder: Path) -> ClassicStyleNet:
        return cls(read_classic_layers(folder)).eval()

    def _layer(self, x: torch.Tensor, i: int, relu: bool) -> torch.Tensor:
        weight, stride = self.weights[i], self.strides[i]
        k = weight.shape[-1]
        if self.kinds[i] == "conv":
            top, bottom = same_padding(x.shape[-2], k, stride)
            left, right = same_padding(x.shape[-1], k, stride)
            x = F.conv2d(F.pad(x, (left, right, top, bottom)), weight, stride=stride)
        else:
            # TF's transposed SAME conv = the full transposed conv, cropped to 2× the input from the top-left
            h, w = x.shape[-2:]
            x = F.conv_transpose2d(x, weight, stride=stride)[..., :h * stride, :w * stride]
        x = F.instance_norm(x, eps=IN_EPS) * self.scales[i].view(1, -1, 1, 1) + self.shifts[i].view(1, -1, 1, 1)
        return F.relu(x) if relu else x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x * 255.0
        for i in range(3):
            x = self._layer(x, i, relu=True)
        for block in range(5):
            i = 3 + 2 * block
            x = x + self._layer(self._layer(x, i, relu=True), i + 1, relu=False)
        x = self._layer(x, 13, relu=True)
        x = self._layer(x, 14, relu=True)
        x = self._layer(x, 15, relu=False)
        return (torch.tanh(x) * 150.0 + 127.5).clamp(0.0, 255.0) / 255.0


#: Our style slug → the reference folder's name (``../shared/reference/johnson-ml5/<name>``).
CLASSIC_FOLDERS: dict[str, str] = {
    "great-wave": "wave", "the-scream": "scream", "udnie": "udnie", "shipwreck-of-the-minotaur": "wreck",
}


def classic_networks(reference_dir: Path) -> dict[str, ClassicStyleNet]:
    """``{slug: network}`` for each of :data:`CLASSIC_FOLDERS` found under ``reference_dir`` (the folder holding
    ``johnson-ml5/``, or ``johnson-ml5/`` itself)."""
    root = Path(reference_dir)
    if (root / "johnson-ml5").is_dir():
        root = root / "johnson-ml5"
    return {slug: ClassicStyleNet.from_folder(root / name) for slug, name in CLASSIC_FOLDERS.items()
            if (root / name / "manifest.json").is_file()}

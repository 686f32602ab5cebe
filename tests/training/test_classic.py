"""The classic Johnson et al. network loader (training/classic.py) against an independent NumPy implementation of the
documented format: explicit TF-SAME padding, convolution as a sum over kernel offsets, transposed convolution as a
scatter of each input pixel's kernel-weighted contribution."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from training.classic import CLASSIC_FOLDERS, LAYERS, ClassicFormatError, ClassicStyleNet, classic_networks

REFERENCE = Path(__file__).resolve().parents[3] / "shared" / "reference"


def _pad_same(x: np.ndarray, k: int, stride: int) -> np.ndarray:
    """``(C, H, W)`` zero-padded as TensorFlow's SAME: total ``max((ceil(n/s) - 1)·s + k - n, 0)``, odd pixel after."""
    pads = []
    for n in x.shape[1:]:
        total = max((-(-n // stride) - 1) * stride + k - n, 0)
        pads.append((total // 2, total - total // 2))
    return np.pad(x, ((0, 0), *pads))


def _conv(x: np.ndarray, hwio: np.ndarray, stride: int) -> np.ndarray:
    k = hwio.shape[0]
    xp = _pad_same(x, k, stride)
    h_out, w_out = -(-x.shape[1] // stride), -(-x.shape[2] // stride)
    out = np.zeros((hwio.shape[3], h_out, w_out), np.float64)
    for dy in range(k):
        for dx in range(k):
            patch = xp[:, dy:dy + stride * h_out:stride, dx:dx + stride * w_out:stride]
            out += np.einsum("chw,co->ohw", patch, hwio[dy, dx])
    return out


def _deconv(x: np.ndarray, hwoi: np.ndarray, stride: int) -> np.ndarray:
    """The adjoint of a SAME stride-``stride`` conv whose output is ``x``: input pixel ``i`` adds its kernel at
    ``stride·i + offset - pad_before`` (pad_before = 0 for k=3, s=2, even sizes), cropped to ``stride·n``."""
    k = hwoi.shape[0]
    c_in, h, w = x.shape
    out = np.zeros((hwoi.shape[2], stride * h + k, stride * w + k), np.float64)
    for dy in range(k):
        for dx in range(k):
            contribution = np.einsum("chw,oc->ohw", x, hwoi[dy, dx])
            out[:, dy:dy + stride * h:stride, dx:dx + stride * w:stride] += contribution
    return out[:, :stride * h, :stride * w]


def _norm(x: np.ndarray, shift: np.ndarray, scale: np.ndarray) -> np.ndarray:
    mean = x.mean(axis=(1, 2), keepdims=True)
    var = x.var(axis=(1, 2), keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-3) * scale[:, None, None] + shift[:, None, None]


def reference_forward(folder: Path, image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` uint8 RGB → ``(H, W, 3)`` float64 in [0, 255], straight from the raw files."""
    manifest = json.loads((folder / "manifest.json").read_text())
    raw = [np.fromfile(folder / manifest[f"Variable{'' if i == 0 else f'_{i}'}"]["filename"], "<f4")
           .reshape(manifest[f"Variable{'' if i == 0 else f'_{i}'}"]["shape"]).astype(np.float64)
           for i in range(48)]

    def layer(x: np.ndarray, i: int, relu: bool) -> np.ndarray:
        kind, _, stride = LAYERS[i]
        kernel, shift, scale = raw[3 * i:3 * i + 3]
        y = _conv(x, kernel, stride) if kind == "conv" else _deconv(x, kernel, stride)
        y = _norm(y, shift, scale)
        return np.maximum(y, 0) if relu else y

    x = image.transpose(2, 0, 1).astype(np.float64)
    for i in range(3):
        x = layer(x, i, True)
    for b in range(5):
        x = x + layer(layer(x, 3 + 2 * b, True), 4 + 2 * b, False)
    x = layer(layer(layer(x, 13, True), 14, True), 15, False)
    return np.clip(np.tanh(x) * 150 + 127.5, 0, 255).transpose(1, 2, 0)


def write_random_network(folder: Path, seed: int = 0) -> Path:
    """A network in the published format with random weights (48 raw float32 files + manifest.json)."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    channels = [3, 32, 64, 128, *[128] * 10, 64, 32, 3]
    manifest = {}
    for i, (kind, k, _) in enumerate(LAYERS):
        c_in, c_out = channels[i], channels[i + 1]
        kernel_shape = [k, k, c_out, c_in] if kind == "deconv" else [k, k, c_in, c_out]
        fan_in = k * k * c_in
        tensors = [rng.normal(0, 1 / np.sqrt(fan_in), kernel_shape), rng.normal(0, 0.1, [c_out]),
                   rng.normal(1, 0.2, [c_out])]
        for j, t in enumerate(tensors):
            name = f"Variable{'' if 3 * i + j == 0 else f'_{3 * i + j}'}"
            t.astype("<f4").tofile(folder / name)
            manifest[name] = {"filename": name, "shape": list(t.shape)}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _photo(size: tuple[int, int]) -> np.ndarray:
    import skimage.data
    from PIL import Image

    return np.asarray(Image.fromarray(skimage.data.chelsea()).resize(size[::-1], Image.BILINEAR))


def _ours(folder: Path, image: np.ndarray) -> np.ndarray:
    net = ClassicStyleNet.from_folder(folder).double()
    x = torch.from_numpy(image.copy()).permute(2, 0, 1)[None].double() / 255
    with torch.no_grad():
        return net(x)[0].permute(1, 2, 0).numpy() * 255


@pytest.mark.parametrize("size", [(36, 52), (48, 64)])  # quarter-resolution sides odd (9×13) and even (12×16)
def test_loader_matches_direct_implementation_on_a_photo(tmp_path: Path, size: tuple[int, int]) -> None:
    folder = write_random_network(tmp_path / "net")
    image = _photo(size)
    ours, direct = _ours(folder, image), reference_forward(folder, image)
    assert ours.shape == direct.shape == image.shape
    assert np.abs(ours - direct).max() < 1e-6
    assert ours.std() > 5  # not a flat image: the check compares real content


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is not here")
@pytest.mark.parametrize("slug", sorted(CLASSIC_FOLDERS))
def test_published_networks_match_direct_implementation(slug: str) -> None:
    folder = REFERENCE / "johnson-ml5" / CLASSIC_FOLDERS[slug]
    image = _photo((48, 64))
    ours, direct = _ours(folder, image), reference_forward(folder, image)
    assert np.abs(ours - direct).max() < 1e-5
    # float32 (how the benchmark runs it) within float rounding of the float64 reference: well under one uint8 step
    net32 = ClassicStyleNet.from_folder(folder)
    with torch.no_grad():
        ours32 = net32(torch.from_numpy(image.copy()).permute(2, 0, 1)[None].float() / 255)[0].permute(1, 2, 0)
    assert np.abs(ours32.numpy() * 255 - direct).max() < 0.05


@pytest.mark.skipif(not REFERENCE.is_dir(), reason="../shared/reference is not here")
def test_every_published_network_is_found() -> None:
    assert sorted(classic_networks(REFERENCE)) == sorted(CLASSIC_FOLDERS)


def test_malformed_folder_is_refused(tmp_path: Path) -> None:
    folder = write_random_network(tmp_path / "net")
    with pytest.raises(ClassicFormatError, match="not found"):
        ClassicStyleNet.from_folder(tmp_path)
    (folder / "Variable_5").write_bytes(b"\0" * 12)
    with pytest.raises(ClassicFormatError, match="Variable_5"):
        ClassicStyleNet.from_folder(folder)

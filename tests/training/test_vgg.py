"""The offline ImageNet VGG16 loss network: the cached file, the layer layout, and that the weights are trained."""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

import numpy as np
import pytest
import skimage.data
import torch
import torch.nn.functional as F
from safetensors import safe_open
from safetensors.torch import load_file
from torch import nn

from training.vgg import (
    BGR_MEAN,
    CONV_INDICES,
    WEIGHTS_FILENAME,
    WHEEL_SHA256,
    VGG16Features,
    VGGWeightsError,
    _torchvision_features,
    fetch_vgg16_weights,
)

#: sha256 of the 20 cached tensors' float32 bytes, in features-index order, weight before bias.
TENSORS_SHA256 = "0ad9b2905d34830f114dbae7759fc55f41d3f82a697f3bf7d6fc57e5a07bb155"


@pytest.fixture(scope="session")
def vgg_weights() -> Path:
    """The cached weights file (`python -m training fetch-vgg` fetches it at set-up). Fails, never skips, without it."""
    return fetch_vgg16_weights(offline=True)  # fetched by the set-up command, never by a test


@pytest.fixture(scope="session")
def vgg(vgg_weights: Path) -> VGG16Features:
    return VGG16Features(vgg_weights)


def _tensor_digest(tensors: dict[str, torch.Tensor]) -> str:
    digest = hashlib.sha256()
    for index in CONV_INDICES:
        for suffix in ("weight", "bias"):
            digest.update(tensors[f"features.{index}.{suffix}"].numpy().tobytes())
    return digest.hexdigest()


def _random_conv_weights(features: nn.Sequential, seed: int = 0) -> None:
    """Re-initialise ``features``' convolutions as torchvision does for an untrained VGG (the control)."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for module in features:
            if isinstance(module, nn.Conv2d):
                fan_out = module.out_channels * module.kernel_size[0] * module.kernel_size[1]
                module.weight.copy_(torch.randn(module.weight.shape, generator=gen) * (2.0 / fan_out) ** 0.5)
                module.bias.zero_()


def test_weights_file_layout_and_values(vgg_weights: Path) -> None:
    assert vgg_weights.name == WEIGHTS_FILENAME
    assert 29e6 < vgg_weights.stat().st_size < 32e6
    tensors = load_file(str(vgg_weights))
    reference = _torchvision_features()
    expected = {f"features.{i}.{s}": getattr(reference[i], s).shape for i in CONV_INDICES for s in ("weight", "bias")}
    assert {k: v.shape for k, v in tensors.items()} == expected
    assert all(t.dtype == torch.float32 for t in tensors.values())
    with safe_open(str(vgg_weights), framework="pt") as f:
        assert f.metadata()["wheel_sha256"] == WHEEL_SHA256
    assert _tensor_digest(tensors) == TENSORS_SHA256
    # Values of the Caffe/Keras ImageNet VGG16 conv1_1 (input channels B, G, R).
    w, b = tensors["features.0.weight"], tensors["features.0.bias"]
    torch.testing.assert_close(w[0, :, 0, 0], torch.tensor([0.42947057, 0.55037946, 0.4800154]))
    torch.testing.assert_close(b[:4], torch.tensor([0.73429835, 0.09340367, 0.06775674, 0.8862966]))


def test_conv1_1_filters_are_trained(vgg: VGG16Features) -> None:
    """ImageNet conv1_1 filters are smooth and mostly colour-aligned edge/blob detectors; random ones are neither."""

    def roughness(w: torch.Tensor) -> float:  # mean squared neighbour difference / (2·variance): ≈1 for iid taps
        w = w - w.mean((2, 3), keepdim=True)
        dx = (w[..., 1:] - w[..., :-1]).square().mean()
        dy = (w[..., 1:, :] - w[..., :-1, :]).square().mean()
        return float((dx + dy) / 2 / (2 * w.square().mean()))

    def colour_correlation(w: torch.Tensor) -> float:  # mean correlation of a filter's B/G and G/R spatial kernels
        w = w.flatten(2)
        w = w - w.mean(2, keepdim=True)
        w = w / w.norm(dim=2, keepdim=True)
        return float(((w[:, 0] * w[:, 1]).sum(1).mean() + (w[:, 1] * w[:, 2]).sum(1).mean()) / 2)

    trained = vgg.features[0].weight.detach()
    control = nn.Sequential(nn.Conv2d(3, 64, 3))
    _random_conv_weights(control)
    assert roughness(trained) < 0.7 and roughness(control[0].weight.detach()) > 0.9
    assert colour_correlation(trained) > 0.7 and abs(colour_correlation(control[0].weight.detach())) < 0.2


def test_feature_shapes_freezing_and_gradients(vgg: VGG16Features) -> None:
    x = torch.rand(2, 3, 40, 48, requires_grad=True)
    out = vgg(x)
    assert list(out) == ["relu1_2", "relu2_2", "relu3_3", "relu4_3"]
    assert out["relu1_2"].shape == (2, 64, 40, 48)
    assert out["relu2_2"].shape == (2, 128, 20, 24)
    assert out["relu3_3"].shape == (2, 256, 10, 12)
    assert out["relu4_3"].shape == (2, 512, 5, 6)
    assert all((v >= 0).all() for v in out.values())
    assert not any(p.requires_grad for p in vgg.parameters()) and not vgg.training
    sum(v.mean() for v in out.values()).backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert all(p.grad is None for p in vgg.parameters())


def test_truncates_at_deepest_layer_and_converts_input(vgg_weights: Path) -> None:
    shallow = VGG16Features(vgg_weights, layers=("conv1_1", "relu2_2"))
    assert len(shallow.features) == 9  # features[0 … 8]: stops at relu2_2
    x = torch.rand(1, 3, 16, 16)
    out = shallow(x)
    # Input convention of the weights: BGR, 0-255, mean-subtracted; the in-place ReLU must not clobber conv1_1.
    bgr = x.flip(1) * 255.0 - torch.tensor(BGR_MEAN).view(1, 3, 1, 1)
    expected = F.conv2d(bgr, shallow.features[0].weight, shallow.features[0].bias, padding=1)
    torch.testing.assert_close(out["conv1_1"], expected)
    assert (out["conv1_1"] < 0).any()
    with pytest.raises(ValueError, match="layers"):
        VGG16Features(vgg_weights, layers=("relu5_3",))


def test_deep_features_are_semantic(vgg: VGG16Features, vgg_weights: Path) -> None:
    """relu4_3 of a crop and of the same crop shifted by 8 px agree; of two different photos they do not.

    An untrained network with the same architecture (the control) finds all three pairs alike.
    """

    def crop(image: np.ndarray, top: int, left: int, size: int = 128) -> torch.Tensor:
        return torch.from_numpy(image[top : top + size, left : left + size]).permute(2, 0, 1).float() / 255.0

    astronaut, coffee, cat = skimage.data.astronaut(), skimage.data.coffee(), skimage.data.chelsea()
    crops = [crop(astronaut, 100, 150), crop(astronaut, 108, 150), crop(coffee, 100, 200), crop(cat, 50, 100)]
    batch = torch.stack(crops)

    def similarities(net: VGG16Features) -> tuple[float, float]:
        with torch.no_grad():
            f = net(batch)["relu4_3"]  # (4, 512, 16, 16); the 8 px shift is one feature row
        cos = lambda a, b: float(F.cosine_similarity(a.flatten(), b.flatten(), dim=0))  # noqa: E731
        shifted = cos(f[0, :, 1:], f[1, :, :-1])
        different = max(cos(f[0, :, 1:], f[2, :, 1:]), cos(f[0, :, 1:], f[3, :, 1:]), cos(f[2], f[3]))
        return shifted, different

    shifted, different = similarities(vgg)
    assert shifted > 0.8 and different < 0.3
    control = VGG16Features(vgg_weights, layers=("relu4_3",))
    _random_conv_weights(control.features)
    control_shifted, control_different = similarities(control)
    assert control_shifted > 0.8 and control_different > 0.6


def test_cached_file_is_reused_and_offline_miss_raises(vgg_weights: Path, tmp_path: Path, monkeypatch) -> None:
    def no_download(*args, **kwargs):
        raise AssertionError(f"unexpected subprocess call {args}")

    monkeypatch.setattr(subprocess, "run", no_download)
    assert fetch_vgg16_weights(vgg_weights.parent) == vgg_weights
    assert fetch_vgg16_weights(vgg_weights.parent, offline=True) == vgg_weights
    monkeypatch.setenv("VST_CACHE_DIR", str(tmp_path))
    with pytest.raises(VGGWeightsError, match="not cached"):
        fetch_vgg16_weights(offline=True)
    assert list(tmp_path.iterdir()) == []

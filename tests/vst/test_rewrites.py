"""Phase-space rewrites (:mod:`vst.rewrites`): the last upsampling and RGB convolution fused without the
full-resolution image between them, and which convolutions run space-to-depth. Each is held to the textbook layers."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from vst.model import ConvLayer, UpsampleConv, build_network, with_inference
from vst.rewrites import can_run_in_phases, fill_reflected_border, runs_space_to_depth, upsample_rgb_in_phases


@pytest.mark.parametrize(("size", "pad"), [((3, 5), 1), ((3, 5), 2), ((6, 4), 2), ((9, 7), 4)])
def test_padding_phases_is_padding_the_image(size: tuple[int, int], pad: int) -> None:
    """Reflection padding of the interleaved image by 2·pad, unshuffled, equals padding the phases, exactly."""
    phases = torch.randn(2, 4 * 3, *size)
    image = F.pixel_shuffle(phases, 2)
    expected = F.pixel_unshuffle(F.pad(image, (2 * pad,) * 4, mode="reflect"), 2)
    padded = torch.full_like(expected, float("nan"))  # every border value must be written
    padded[..., pad:pad + size[0], pad:pad + size[1]] = phases
    fill_reflected_border(padded, pad)
    assert torch.equal(padded, expected)


def _perturbed(*layers: nn.Module) -> None:
    """Non-trivial norms and biases: ``layers``' parameters moved off their defaults."""
    torch.manual_seed(1)
    for layer in layers:
        for p in layer.parameters():
            p.data.add_(0.3 * torch.randn_like(p))


@pytest.mark.parametrize("kernel", [9, 5])
@pytest.mark.parametrize("rgb_norm", [True, False])  # the Magenta networks normalise the RGB output, Johnson's don't
def test_upsampling_and_rgb_in_phases_match_the_textbook_layers(kernel: int, rgb_norm: bool) -> None:
    up = UpsampleConv(6, 4)
    rgb = ConvLayer(4, 3, kernel, norm=rgb_norm, act=False)
    _perturbed(up, rgb)
    x = torch.randn(2, 6, 7, 10) + 0.5  # output 14×20: odd low-resolution sides
    with torch.no_grad():
        assert can_run_in_phases(up, rgb)
        fused = upsample_rgb_in_phases(up.conv, rgb, x)
        plain = with_inference(rgb, rewrites=False)(with_inference(up, rewrites=False)(x))
    assert fused.shape == (2, 3, 14, 20)
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-4)


def test_phase_space_runs_only_where_it_is_exact() -> None:
    up, rgb = UpsampleConv(6, 4), ConvLayer(4, 3, 9, norm=False, act=False)
    with torch.no_grad():
        assert can_run_in_phases(up, rgb)
        assert not can_run_in_phases(UpsampleConv(6, 4, smooth=True), rgb)  # bilinear: 5×5 phase kernels
        assert not can_run_in_phases(up, ConvLayer(4, 3, 3, norm=False, act=False))  # odd padding (1)
        assert not can_run_in_phases(up, ConvLayer(4, 8, 9))  # not an RGB layer
        assert not can_run_in_phases(up, with_inference(rgb, rewrites=False))
    assert not can_run_in_phases(up, rgb)  # autograd on: training runs the textbook layers


def test_large_frames_in_phases_match_with_the_variance_in_chunks(monkeypatch: pytest.MonkeyPatch) -> None:
    """A frame large enough for strips runs in phases too; the variance taken a few channels at a time (a chunk
    smaller than one channel here: one at a time) is the same."""
    import vst.rewrites as rewrites_module

    up, rgb = UpsampleConv(6, 4), ConvLayer(4, 3, 9, act=False)
    _perturbed(up, rgb)
    x = torch.randn(1, 6, 260, 300) + 2.0  # output 520×600: over the strip threshold; a mean far from 0
    monkeypatch.setattr(rewrites_module, "STATS_CHUNK", 1000)
    with torch.no_grad():
        assert up.inference.in_strips(x, scale=2) and can_run_in_phases(up, rgb)
        fused = upsample_rgb_in_phases(up.conv, rgb, x)
        plain = with_inference(rgb, rewrites=False)(with_inference(up, rewrites=False)(x))
    torch.testing.assert_close(fused, plain, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("architecture", ["magenta", "johnson"])
def test_a_whole_network_runs_its_tail_in_phases_and_matches(architecture: str) -> None:
    net = build_network({"architecture": architecture, "channels": [4, 8, 8], "num_residual_blocks": 1}).eval()
    _perturbed(net)
    x = torch.rand(2, 3, 36, 44)
    with torch.no_grad():
        features = net.residuals(net.encoder(x))
        assert can_run_in_phases(net.decoder[1], net.decoder[2])
        torch.testing.assert_close(net(x), with_inference(net, rewrites=False)(x), atol=1e-5, rtol=1e-4)


def test_which_convolutions_run_space_to_depth() -> None:
    x = torch.rand(1, 8, 16, 16)
    assert runs_space_to_depth(nn.Conv2d(8, 3, 9), x)  # the RGB output
    assert runs_space_to_depth(nn.Conv2d(3, 8, 9), x)  # the Magenta networks' first layer
    assert not runs_space_to_depth(nn.Conv2d(3, 16, 9), x)  # slower that way (measured)
    assert not runs_space_to_depth(nn.Conv2d(8, 3, 3, stride=2), x)
    assert not runs_space_to_depth(nn.Conv2d(8, 3, 9), torch.rand(1, 8, 15, 16))  # odd height


def test_phase_space_can_be_turned_off_for_comparisons() -> None:
    """``phase_space=False`` runs the rewrites as before them (what ``benchmarks/performance.py`` compares with): the
    same function, and neither phase-space path taken."""
    net = build_network({"architecture": "magenta", "channels": [8, 8, 8], "num_residual_blocks": 1}).eval()
    _perturbed(net)
    before = with_inference(net, phase_space=False)
    x = torch.rand(1, 3, 36, 44)
    with torch.no_grad():
        features = before.decoder[0](before.residuals(before.encoder(x)))
        assert not can_run_in_phases(before.decoder[1], before.decoder[2])
        assert not runs_space_to_depth(before.encoder[0][1], x, phase_space=False)
        assert runs_space_to_depth(before.decoder[2][1], x, phase_space=False)  # the RGB one as ever
        torch.testing.assert_close(before(x), net(x), atol=1e-5, rtol=1e-4)


def test_layers_with_other_norms_run_as_before() -> None:
    """A norm other than ``nn.InstanceNorm2d`` after either convolution (training's style-conditioned ones) keeps the
    layers as they are."""

    class OtherNorm(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x * 2

    up, rgb = UpsampleConv(6, 4), ConvLayer(4, 3, 9, norm=False, act=False)
    x = torch.rand(1, 6, 8, 8)
    with torch.no_grad():
        assert can_run_in_phases(up, rgb)
        up.conv[2] = OtherNorm()
        assert not can_run_in_phases(up, rgb)


def test_not_under_torch_compile() -> None:
    """Traced by ``torch.compile`` the phase-space code became many small kernels (slower than without it), so the
    compiled network keeps the layers as they are."""
    up, rgb = UpsampleConv(6, 4), ConvLayer(4, 3, 9, norm=False, act=False)
    with torch.no_grad():
        assert can_run_in_phases(up, rgb)
        assert torch.compile(lambda: can_run_in_phases(up, rgb), backend="eager")() is False

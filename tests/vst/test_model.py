"""The stylization network: shapes, ranges, configs, and safetensors round trips."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from vst.checkpoint_check import load_network
from vst.model import (
    DEFAULT_CONFIG,
    FAST_CONFIG,
    JOHNSON_CONFIG,
    FastStyleNet,
    StyleNet,
    build_network,
    with_inference,
)
from vst.style_folder import CONFIG_FILE, WEIGHTS_FILE


@pytest.mark.parametrize("architecture", ["johnson", "fast", "magenta"])
@pytest.mark.parametrize("size", [(32, 32), (48, 64), (36, 20)])
def test_forward_keeps_shape_and_range(size: tuple[int, int], architecture: str) -> None:
    channels = [4, 8] if architecture == "fast" else [4, 8, 8]
    net = build_network({"architecture": architecture, "channels": channels, "num_residual_blocks": 1}).eval()
    x = torch.rand(2, 3, *size)
    with torch.no_grad():
        y = net(x)
    assert y.shape == x.shape
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_config_controls_width_and_depth() -> None:
    johnson = StyleNet(**JOHNSON_CONFIG)
    small = StyleNet(**DEFAULT_CONFIG)
    assert len(johnson.residuals) == 5 and len(small.residuals) == 3
    # Johnson et al.'s network has ~1.68 M parameters; the default one is several times smaller.
    assert 1.6e6 < johnson.num_parameters() < 1.8e6
    assert small.num_parameters() * 4 < johnson.num_parameters()


def test_save_and_load_round_trip_is_exact(tmp_path: Path) -> None:
    torch.manual_seed(0)
    net = StyleNet(channels=(4, 8, 8), num_residual_blocks=2, training_config={"steps": 7}).eval()
    net.save_pretrained(tmp_path)
    files = {p.name for p in tmp_path.iterdir()}
    assert {"model.safetensors", "config.json"} == {WEIGHTS_FILE, CONFIG_FILE} <= files  # the one name of each
    assert not any(name.endswith((".bin", ".pt", ".pth", ".pkl")) for name in files)  # never pickles
    loaded = StyleNet.from_pretrained(tmp_path).eval()
    assert loaded.channels == (4, 8, 8) and len(loaded.residuals) == 2
    assert loaded.training_config == {"steps": 7}
    x = torch.rand(1, 3, 24, 28)
    assert torch.equal(net(x), loaded(x))


def test_default_checkpoint_is_small(tmp_path: Path) -> None:
    StyleNet(**DEFAULT_CONFIG).save_pretrained(tmp_path)
    assert (tmp_path / "model.safetensors").stat().st_size < 2_000_000


@pytest.mark.parametrize("architecture", ["johnson", "johnson-antialias", "fast", "magenta"])
def test_strip_wise_inference_matches_the_plain_forward(monkeypatch: pytest.MonkeyPatch, architecture: str) -> None:
    """At inference, large inputs run strip by strip with in-place norms; it must compute the same function."""
    import vst.rewrites as rewrites_module

    torch.manual_seed(0)
    channels = [4, 8] if architecture == "fast" else [4, 8, 8]
    config = {"architecture": architecture.split("-")[0], "channels": channels, "num_residual_blocks": 1}
    if architecture.endswith("antialias"):
        config["antialias"] = True  # 5×5 phase kernels (blur folded in) and blurred strided convolutions
    net = build_network(config).eval()
    for block in [*net.encoder, *net.decoder]:  # non-trivial norms
        for p in block.parameters():
            p.data.add_(0.1 * torch.randn_like(p))
    x = torch.rand(2, 3, 202, 150)  # several strips, the last one partial; stride-2 layers on even sizes
    with torch.no_grad():
        plain = with_inference(net, rewrites=False)(x)  # the textbook layers, as in training
        monkeypatch.setattr(rewrites_module, "STRIP_THRESHOLD", 10**12)
        rewritten = net(x)  # phase-decomposed upsampling and space-to-depth RGB convolution, whole frames
        monkeypatch.setattr(rewrites_module, "STRIP_THRESHOLD", 0)
        monkeypatch.setattr(rewrites_module, "STRIP_ROWS", 24)
        strips = net(x)
        monkeypatch.setattr(rewrites_module, "STRIP_ROWS", 7)  # odd strip height: odd row offsets
        odd_strips = net(x)
        whole = with_inference(net, strips=False)  # as under torch.compile: whole frames however large
        assert not whole.decoder[0].inference.in_strips(x)
        unstriped = whole(x)
        assert net.decoder[0].inference.in_strips(x)  # the copy's options left the network's own alone
    assert torch.equal(unstriped, rewritten)
    torch.testing.assert_close(rewritten, plain, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(strips, plain, atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(odd_strips, plain, atol=1e-5, rtol=1e-4)
    with torch.enable_grad():  # training always takes the plain path
        assert net(x[:1]).requires_grad


def test_phase_weights_of_a_box_kernel() -> None:
    """Upsampled row 2i reads low-res rows i, i+1, i+1 (taps 1 | 2); row 2i+1 reads i+1, i+1, i+2 (taps 2 | 1)."""
    from vst.rewrites import phase_weights

    phases = phase_weights(torch.ones(1, 1, 3, 3)).view(2, 2, 3, 3)
    row = {0: torch.tensor([1.0, 2.0, 0.0]), 1: torch.tensor([0.0, 2.0, 1.0])}
    for a in range(2):
        for b in range(2):
            torch.testing.assert_close(phases[a, b], torch.outer(row[a], row[b]))


def test_phase_weights_of_a_5x5_kernel_match_the_upsampled_convolution() -> None:
    """A 5×5 kernel on the replicate-padded nearest-upsampled image equals the four-phase 3×3 low-res convolution."""
    import torch.nn.functional as F

    from vst.rewrites import phase_weights

    torch.manual_seed(0)
    weight, x = torch.randn(3, 2, 5, 5), torch.randn(1, 2, 7, 9)
    up = F.interpolate(x, scale_factor=2.0, mode="nearest")
    direct = F.conv2d(F.pad(up, (2, 2, 2, 2), mode="replicate"), weight)
    phases = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), phase_weights(weight))
    torch.testing.assert_close(F.pixel_shuffle(phases, 2), direct, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="3×3 or 5×5"):
        phase_weights(torch.randn(1, 1, 7, 7))


def _shift_error(net: StyleNet, image: torch.Tensor, shift: int) -> float:
    """Mean squared difference between the output for ``image`` and the output for ``image`` shifted left by
    ``shift`` pixels, shifted back (a 16-pixel margin left out: padding differs at the border)."""
    width = image.shape[-1] - 8
    with torch.no_grad():
        base = net(image[..., :width])
        moved = net(image[..., shift:shift + width])
    return float((base[..., 16:-16, 16 + shift:-16] - moved[..., 16:-16, 16:-16 - shift]).square().mean())


def test_antialias_makes_the_network_nearly_shift_equivariant() -> None:
    """Without antialiasing the network is equivariant to 4-pixel shifts only: 1–3 pixels change its output. With
    the same weights, blurred downsampling and bilinear upsampling cut that change by more than half. 4 pixels change
    it little either way (only the instance norms' statistics, over a window of slightly different content)."""
    torch.manual_seed(0)
    nearest = build_network({"channels": [8, 16, 16], "num_residual_blocks": 1}).eval()
    for p in nearest.parameters():  # non-trivial norms
        p.data.add_(0.2 * torch.randn_like(p))
    smooth = build_network(nearest.config | {"antialias": True}).eval()
    smooth.load_state_dict(nearest.state_dict())
    assert smooth.config["antialias"] is True and "antialias" not in nearest.config
    image = torch.nn.functional.interpolate(torch.rand(1, 3, 24, 32), size=(96, 136), mode="bilinear")
    for shift in (1, 2, 3):
        assert _shift_error(smooth, image, shift) < 0.5 * _shift_error(nearest, image, shift)
    one_pixel = _shift_error(nearest, image, 1)
    assert _shift_error(nearest, image, 4) < 0.05 * one_pixel and _shift_error(smooth, image, 4) < 0.05 * one_pixel


def test_antialias_round_trips_through_a_checkpoint(tmp_path: Path) -> None:
    net = StyleNet(channels=(4, 8, 8), num_residual_blocks=1, antialias=True).eval()
    net.save_pretrained(tmp_path)
    loaded = load_network(tmp_path)
    assert loaded.antialias and loaded.config["antialias"] is True
    x = torch.rand(1, 3, 24, 28)
    with torch.no_grad():
        assert torch.equal(net(x), loaded(x))


def test_space_to_depth_weights_place_every_tap_once() -> None:
    """Each of the k×k taps lands exactly once in each of the four phases, and nothing else is set."""
    from vst.rewrites import space_to_depth_weights

    weight = torch.arange(1, 2 * 3 * 9 * 9 + 1, dtype=torch.float32).view(2, 3, 9, 9)
    s2d = space_to_depth_weights(weight).view(2, 4, 3, 4, 5, 5)
    assert s2d.shape == (2, 4, 3, 4, 5, 5)
    for phase in range(4):
        taps = s2d[:, phase]  # (C_out, C_in, sub-pixel, 5, 5)
        assert int((taps != 0).sum()) == weight.numel()
        torch.testing.assert_close(taps.sum(dim=(2, 3, 4)), weight.sum(dim=(2, 3)))


def test_fast_network_has_no_full_resolution_layer() -> None:
    """Every convolution of the fast network sees at most half the input's rows and columns."""
    net = FastStyleNet(**FAST_CONFIG).eval()
    seen: list[int] = []
    hooks = [m.register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[-1]))
             for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    with torch.no_grad():
        net(torch.rand(1, 3, 64, 128))
    for hook in hooks:
        hook.remove()
    assert seen[0] == 128 + 2  # the first, stride-2 convolution reads the (padded) input...
    assert max(seen[1:]) <= 64 + 2  # ...every other one half resolution or less
    default = StyleNet(**DEFAULT_CONFIG)
    assert net.num_parameters() < default.num_parameters() / 2
    from torch.utils.flop_counter import FlopCounterMode

    flops = {}
    for name, model in (("fast", net.train()), ("default", default.train())):  # plain (non-strip) path
        with FlopCounterMode(display=False) as counter:
            model(torch.rand(1, 3, 180, 320))
        flops[name] = counter.get_total_flops()
    assert flops["fast"] * 4.5 < flops["default"]  # 3.0 vs 15.3 GFLOP at 640x360


def test_load_network_picks_the_class_from_config(tmp_path: Path) -> None:
    torch.manual_seed(0)
    fast = build_network({"architecture": "fast", "channels": [4, 8], "num_residual_blocks": 1}).eval()
    assert isinstance(fast, FastStyleNet)
    fast.save_pretrained(tmp_path / "fast")
    StyleNet(channels=(4, 8, 8), num_residual_blocks=1).save_pretrained(tmp_path / "johnson")
    loaded = load_network(tmp_path / "fast").eval()
    assert type(loaded) is FastStyleNet and loaded.channels == (4, 8)
    x = torch.rand(1, 3, 24, 28)
    assert torch.equal(fast(x), loaded(x))
    assert type(load_network(tmp_path / "johnson")) is StyleNet
    with pytest.raises(ValueError, match="unknown architecture 'nope'"):
        build_network({"architecture": "nope"})

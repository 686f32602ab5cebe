"""Training losses against known answers."""

from __future__ import annotations

import pytest
import torch

from training.losses import (
    content_loss,
    gram_matrix,
    luminance_temporal_loss,
    style_loss,
    temporal_loss,
    total_variation,
)
from training.train import with_input_noise
from vst.flow import warp_torch


def _constant_flow(b: int, h: int, w: int, dx: float, dy: float) -> torch.Tensor:
    return torch.tensor([dx, dy]).view(1, 2, 1, 1).expand(b, 2, h, w).clone()


def test_gram_of_constant_features() -> None:
    b, c, h, w, value = 2, 4, 5, 6, 3.0
    gram = gram_matrix(torch.full((b, c, h, w), value))
    # Σ_hw v² / (C·H·W) = v² / C for every entry.
    torch.testing.assert_close(gram, torch.full((b, c, c), value**2 / c))


def test_gram_is_symmetric_psd_and_matches_definition() -> None:
    features = torch.randn(3, 8, 7, 5, generator=torch.Generator().manual_seed(0))
    gram = gram_matrix(features)
    assert gram.shape == (3, 8, 8)
    torch.testing.assert_close(gram, gram.transpose(1, 2))
    assert (torch.linalg.eigvalsh(gram.double()) > -1e-6).all()
    expected = torch.einsum("bihw,bjhw->bij", features, features) / (8 * 7 * 5)
    torch.testing.assert_close(gram, expected)


def test_content_loss_known_value() -> None:
    assert content_loss(torch.zeros(2, 3, 4, 4), torch.full((2, 3, 4, 4), 2.0)).item() == 4.0
    with pytest.raises(ValueError, match="shape"):
        content_loss(torch.zeros(1, 3, 4, 4), torch.zeros(1, 3, 4, 5))


def test_style_loss() -> None:
    gen = torch.Generator().manual_seed(1)
    feats = {"a": torch.randn(1, 4, 6, 6, generator=gen), "b": torch.randn(1, 8, 3, 3, generator=gen)}
    targets = {name: gram_matrix(f) for name, f in feats.items()}
    batch = {name: f.expand(3, -1, -1, -1) for name, f in feats.items()}  # (1, C, C) targets broadcast over B=3
    assert style_loss(batch, targets).item() == 0.0
    # Ones against zero targets: every Gram entry is 1/C, so MSE = 1/C² per layer.
    ones = {"a": torch.ones(2, 4, 6, 6), "b": torch.ones(2, 8, 3, 3)}
    zeros = {"a": torch.zeros(1, 4, 4), "b": torch.zeros(1, 8, 8)}
    torch.testing.assert_close(style_loss(ones, zeros), torch.tensor(1 / 16 + 1 / 64))
    torch.testing.assert_close(style_loss(ones, zeros, {"a": 2.0, "b": 0.5}), torch.tensor(2 / 16 + 0.5 / 64))
    # Only the target layers count; extra feature layers are ignored.
    torch.testing.assert_close(style_loss(ones, {"a": zeros["a"]}), torch.tensor(1 / 16))
    with pytest.raises(KeyError, match="layer_weights"):
        style_loss(ones, zeros, {"a": 1.0})
    with pytest.raises(KeyError, match="features_out"):
        style_loss({"a": ones["a"]}, zeros)


def test_total_variation() -> None:
    assert total_variation(torch.full((2, 3, 5, 7), 0.3)).item() == 0.0
    ys, xs = torch.meshgrid(torch.arange(6.0), torch.arange(9.0), indexing="ij")
    torch.testing.assert_close(total_variation((0.5 * xs).expand(2, 3, 6, 9)), torch.tensor(0.25))
    torch.testing.assert_close(total_variation((0.5 * xs - 0.2 * ys).expand(1, 1, 6, 9)), torch.tensor(0.25 + 0.04))
    # Size independent: a larger crop of the same ramp gives the same value.
    ys, xs = torch.meshgrid(torch.arange(30.0), torch.arange(40.0), indexing="ij")
    torch.testing.assert_close(total_variation((0.5 * xs - 0.2 * ys).expand(1, 1, 30, 40)), torch.tensor(0.29))


@pytest.fixture
def pair() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """A random 'frame t' output, flow t+1→t of (+2, +1) px, and the exactly warped 'frame t+1' output."""
    prev = torch.rand(2, 3, 12, 16, generator=torch.Generator().manual_seed(2))
    flow = _constant_flow(2, 12, 16, 2.0, 1.0)
    return prev, flow, warp_torch(prev, flow)


def test_temporal_loss_zero_for_exact_warp(pair: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    prev, flow, nxt = pair
    weights = torch.ones(2, 1, 12, 16)
    assert temporal_loss(prev, nxt, flow, weights).item() == 0.0
    # The same pair built by slicing (independent of warp_torch): pixel x of t+1 shows pixel x + (2, 1) of t.
    shifted = torch.zeros_like(prev)
    shifted[..., :-1, :-2] = prev[..., 1:, 2:]
    weights[..., -1:, :] = 0.0  # rows/columns whose source lies outside frame t
    weights[..., :, -2:] = 0.0
    assert temporal_loss(prev, shifted, flow, weights).item() < 1e-10


def test_temporal_loss_ignores_masked_pixels(pair: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    prev, flow, nxt = pair
    nxt = nxt + 0.1 * torch.rand(nxt.shape, generator=torch.Generator().manual_seed(3))
    weights = (torch.rand(2, 1, 12, 16, generator=torch.Generator().manual_seed(4)) > 0.4).float()
    corrupted = torch.where(weights.bool(), nxt, torch.full_like(nxt, 1e3))
    assert torch.equal(temporal_loss(prev, corrupted, flow, weights), temporal_loss(prev, nxt, flow, weights))
    assert temporal_loss(prev, corrupted, flow, torch.ones_like(weights)) > 1e3


def test_temporal_loss_value_normalisation_and_gradients(
    pair: tuple[torch.Tensor, torch.Tensor, torch.Tensor],
) -> None:
    prev, flow, nxt = pair
    weights = torch.ones(2, 1, 12, 16)
    # A uniform error of 0.1 gives 0.01 whatever the fraction of valid pixels or the crop size.
    torch.testing.assert_close(temporal_loss(prev, nxt + 0.1, flow, weights), torch.tensor(0.01))
    weights[0, :, :6] = 0.0
    torch.testing.assert_close(temporal_loss(prev, nxt + 0.1, flow, weights), torch.tensor(0.01))
    big_prev = torch.rand(1, 3, 48, 64)
    big_flow = _constant_flow(1, 48, 64, 2.0, 1.0)
    torch.testing.assert_close(
        temporal_loss(big_prev, warp_torch(big_prev, big_flow) + 0.1, big_flow, torch.ones(1, 1, 48, 64)),
        torch.tensor(0.01),
    )
    assert temporal_loss(prev, nxt + 0.1, flow, torch.zeros_like(weights)).item() == 0.0
    prev = prev.clone().requires_grad_(True)
    nxt = torch.rand_like(nxt, requires_grad=True)
    loss = temporal_loss(prev, nxt, flow, torch.ones_like(weights))
    assert loss > 0
    loss.backward()
    assert prev.grad.abs().sum() > 0 and nxt.grad.abs().sum() > 0
    with pytest.raises(ValueError, match="weights"):
        temporal_loss(prev, nxt, flow, torch.ones(2, 3, 12, 16))
    with pytest.raises(ValueError, match="flow_back"):
        temporal_loss(prev, nxt, flow[..., :8], torch.ones_like(weights))


def test_luminance_temporal_loss(pair: tuple[torch.Tensor, torch.Tensor, torch.Tensor]) -> None:
    prev, flow, nxt = pair
    weights = torch.ones(2, 1, 12, 16)
    inputs = torch.rand(2, 3, 12, 16, generator=torch.Generator().manual_seed(5))
    # Input consistent along the flow: the luminance term vanishes and the loss equals the plain temporal loss.
    noisy = nxt + 0.05 * torch.rand(nxt.shape, generator=torch.Generator().manual_seed(6))
    torch.testing.assert_close(
        luminance_temporal_loss(prev, noisy, inputs, warp_torch(inputs, flow), flow, weights),
        temporal_loss(prev, noisy, flow, weights),
    )
    # The input brightens by 0.1 (luminance +0.1): an output brightening by 0.1 is not penalised, a static one is.
    zero = torch.zeros_like(flow)
    assert luminance_temporal_loss(prev, prev + 0.1, inputs, inputs + 0.1, zero, weights).item() < 1e-12
    static = luminance_temporal_loss(prev, prev, inputs, inputs + 0.1, zero, weights)
    torch.testing.assert_close(static, torch.tensor(0.01))
    torch.testing.assert_close(temporal_loss(prev, prev + 0.1, zero, weights), torch.tensor(0.01))
    # An input colour change of equal luminance excuses nothing: a static output is fine, a tinted one pays in full.
    tint = torch.tensor([0.0722, 0.0, -0.2126]).view(1, 3, 1, 1)  # ΔY = 0.2126·0.0722 − 0.0722·0.2126 = 0
    torch.testing.assert_close(
        luminance_temporal_loss(prev, prev, inputs, inputs + tint, zero, weights), torch.tensor(0.0), atol=1e-7, rtol=0
    )
    torch.testing.assert_close(
        luminance_temporal_loss(prev, prev + tint, inputs, inputs, zero, weights),
        tint.square().mean(),
    )


def test_input_noise_draws_a_sigma_per_image_up_to_the_bound() -> None:
    """``TrainConfig.input_noise``: each image gets Gaussian noise of its own σ, uniform in [0, bound], in [0, 1]."""
    torch.manual_seed(0)
    frames = torch.full((256, 3, 32, 32), 0.5)  # mid-grey: the clamp never bites at this σ
    noisy = with_input_noise(frames, 0.1)
    assert noisy.shape == frames.shape and noisy.min() >= 0 and noisy.max() <= 1
    sigmas = (noisy - frames).flatten(1).std(dim=1)
    assert sigmas.max() <= 0.1 * 1.1 and sigmas.min() < 0.01  # never above the bound; some images almost clean
    assert abs(float(sigmas.mean()) - 0.05) < 0.01  # uniform over [0, 0.1]
    assert float(((noisy[:, 0] - frames[:, 0]) - (noisy[:, 1] - frames[:, 1])).abs().mean()) > 0.01  # not one field
    assert torch.equal(with_input_noise(frames, 0.0), frames)
    bright = torch.ones(4, 3, 8, 8)
    assert with_input_noise(bright, 0.5).max() <= 1.0

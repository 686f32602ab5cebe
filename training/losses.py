"""Training losses: perceptual content/style (Gatys et al. 2016, Johnson et al. 2016), total variation, and the
temporal consistency terms of Huang et al. 2017 and ReCoNet (Gao et al. 2018).

Every loss returns a 0-dim tensor and is normalised so that its value does not depend on the batch or crop size.
Feature maps come from :class:`training.vgg.VGG16Features`; images are RGB in [0, 1].
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
import torch.nn.functional as F

from vst.flow import warp_torch

#: Rec. 709 luminance coefficients of R, G, B (ReCoNet applies them to the gamma-encoded frames).
LUMINANCE_RGB: tuple[float, float, float] = (0.2126, 0.7152, 0.0722)


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """Gram matrix of feature maps, normalised by C·H·W (Johnson et al.).

    Args:
        features: ``(B, C, H, W)``.

    Returns:
        ``(B, C, C)``, ``G[b, i, j] = Σ_hw F[b, i, h, w] · F[b, j, h, w] / (C·H·W)``; symmetric, positive semi-definite.
    """
    if features.ndim != 4:
        raise ValueError(f"expected (B, C, H, W) features, got shape {tuple(features.shape)}")
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def content_loss(features_out: torch.Tensor, features_target: torch.Tensor) -> torch.Tensor:
    """Mean squared error between two feature maps of the same shape ``(B, C, H, W)`` → scalar."""
    if features_out.shape != features_target.shape:
        raise ValueError(f"shape mismatch: {tuple(features_out.shape)} vs {tuple(features_target.shape)}")
    return F.mse_loss(features_out, features_target)


def style_loss(
    features_out: Mapping[str, torch.Tensor],
    target_grams: Mapping[str, torch.Tensor],
    layer_weights: Mapping[str, float] | None = None,
) -> torch.Tensor:
    """Σ_l w_l · MSE(gram(out_l), target_l) over the layers ``l`` of ``target_grams`` → scalar.

    Args:
        features_out: layer name → ``(B, C_l, H_l, W_l)`` features of the stylized images (may hold extra layers).
        target_grams: layer name → ``(1, C_l, C_l)`` style Gram matrix (broadcast over the batch) or ``(B, C_l, C_l)``.
        layer_weights: layer name → weight; must cover every layer of ``target_grams``. Default: 1 for each.
    """
    if not target_grams:
        raise ValueError("target_grams is empty")
    missing = [name for name in target_grams if name not in features_out]
    if missing:
        raise KeyError(f"features_out lacks the style layers {missing}")
    if layer_weights is not None:
        unweighted = [name for name in target_grams if name not in layer_weights]
        if unweighted:
            raise KeyError(f"layer_weights lacks the style layers {unweighted}")
    total = torch.zeros((), device=next(iter(target_grams.values())).device)
    for name, target in target_grams.items():
        gram = gram_matrix(features_out[name])
        weight = 1.0 if layer_weights is None else float(layer_weights[name])
        total = total + weight * F.mse_loss(gram, target.expand_as(gram))
    return total


def total_variation(image: torch.Tensor) -> torch.Tensor:
    """Squared total variation (Johnson et al.'s form), averaged so it does not depend on the image size.

    Args:
        image: ``(B, C, H, W)``.

    Returns:
        scalar ``mean((x[..., i+1, j] − x[..., i, j])²) + mean((x[..., i, j+1] − x[..., i, j])²)``, each mean over all
        vertical / horizontal neighbour pairs; 0 for a constant image, ``a²`` for a ramp of slope ``a`` per pixel.
    """
    if image.ndim != 4 or image.shape[-2] < 2 or image.shape[-1] < 2:
        raise ValueError(f"expected (B, C, H, W) with H, W >= 2, got shape {tuple(image.shape)}")
    dy = image[..., 1:, :] - image[..., :-1, :]
    dx = image[..., :, 1:] - image[..., :, :-1]
    return dy.square().mean() + dx.square().mean()


def _check_pair(stylized_prev: torch.Tensor, stylized_next: torch.Tensor, flow_back: torch.Tensor,
                weights: torch.Tensor) -> None:  # fmt: skip
    b, _, h, w = stylized_next.shape
    if stylized_prev.shape != stylized_next.shape or stylized_next.ndim != 4:
        raise ValueError(f"frames must share one (B, C, H, W) shape: {tuple(stylized_prev.shape)} vs "
                         f"{tuple(stylized_next.shape)}")  # fmt: skip
    if flow_back.shape != (b, 2, h, w):
        raise ValueError(f"flow_back must be {(b, 2, h, w)}, got {tuple(flow_back.shape)}")
    if weights.shape != (b, 1, h, w):
        raise ValueError(f"weights must be {(b, 1, h, w)}, got {tuple(weights.shape)}")


def _weighted_mse(diff: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    """``Σ weights·diff² / max(C·Σ weights, 1)`` for diff ``(B, C, H, W)``, weights ``(B, 1, H, W)`` → scalar."""
    denominator = (weights.sum() * diff.shape[1]).clamp_min(1.0)
    return (weights * diff.square()).sum() / denominator


def temporal_loss(
    stylized_prev: torch.Tensor,
    stylized_next: torch.Tensor,
    flow_back: torch.Tensor,
    weights: torch.Tensor,
) -> torch.Tensor:
    """Output temporal loss of Huang et al.: the next stylized frame should match the previous one warped onto it.

    Args:
        stylized_prev: ``(B, C, H, W)`` network output for frame t.
        stylized_next: ``(B, C, H, W)`` network output for frame t+1.
        flow_back: ``(B, 2, H, W)`` optical flow t+1 → t in pixels (x, y), on frame t+1's grid.
        weights: ``(B, 1, H, W)`` in [0, 1], Ruder et al.'s consistency weights (0 at occlusions / motion boundaries).

    Returns:
        scalar ``Σ weights·(stylized_next − warp(stylized_prev, flow_back))² / (C·Σ weights)``: the mean squared error
        over the valid pixels (and channels) of the whole batch, so it depends on neither crop size nor the occluded
        fraction (Huang et al. divide by C·H·W instead; this form is the warping error of Lai et al. that the
        benchmarks report). The denominator is clamped to at least 1, so a batch with no valid pixel gives 0.
    """
    _check_pair(stylized_prev, stylized_next, flow_back, weights)
    return _weighted_mse(stylized_next - warp_torch(stylized_prev, flow_back), weights)


def luminance_temporal_loss(
    stylized_prev: torch.Tensor,
    stylized_next: torch.Tensor,
    input_prev: torch.Tensor,
    input_next: torch.Tensor,
    flow_back: torch.Tensor,
    weights: torch.Tensor,
) -> torch.Tensor:
    """ReCoNet's luminance-corrected output temporal loss (Gao et al. 2018).

    The change of the stylized frames along the flow should equal the change of the input's luminance, so lighting
    changes in the input are allowed to show in the output: ``Δ = (O_{t+1} − warp(O_t)) − (Y_{t+1} − warp(Y_t))`` with
    ``Y = 0.2126 R + 0.7152 G + 0.0722 B`` of the input (on its gamma-encoded values, as ReCoNet) broadcast over the
    output's 3 channels.

    Args:
        stylized_prev, stylized_next: ``(B, 3, H, W)`` network outputs for frames t and t+1.
        input_prev, input_next: ``(B, 3, H, W)`` RGB input frames t and t+1 in [0, 1].
        flow_back: ``(B, 2, H, W)`` optical flow t+1 → t on frame t+1's grid.
        weights: ``(B, 1, H, W)`` in [0, 1], consistency weights.

    Returns:
        scalar ``Σ weights·Δ² / (3·Σ weights)``, normalised as :func:`temporal_loss`; equal to it when the input's
        luminance is exactly consistent along the flow.
    """
    _check_pair(stylized_prev, stylized_next, flow_back, weights)
    if input_prev.shape != stylized_prev.shape or input_next.shape != stylized_next.shape:
        raise ValueError(f"inputs {tuple(input_prev.shape)}, {tuple(input_next.shape)} must match the outputs "
                         f"{tuple(stylized_next.shape)}")  # fmt: skip
    if stylized_next.shape[1] != 3:
        raise ValueError(f"expected RGB (B, 3, H, W) frames, got {tuple(stylized_next.shape)}")
    coeffs = torch.tensor(LUMINANCE_RGB, dtype=input_next.dtype, device=input_next.device).view(1, 3, 1, 1)
    lum_prev = (input_prev * coeffs).sum(1, keepdim=True)
    lum_next = (input_next * coeffs).sum(1, keepdim=True)
    # One warp for both: the previous output and its input's luminance share the flow.
    warped = warp_torch(torch.cat([stylized_prev, lum_prev], dim=1), flow_back)
    diff = (stylized_next - warped[:, :3]) - (lum_next - warped[:, 3:])
    return _weighted_mse(diff, weights)

"""The frame's own fine detail added to a stylized frame: crisp edges that cannot flicker.

A network trained with the temporal term keeps steady by painting less fine detail than its teacher: the strokes
that the stride-2 and ×2 layers tie to the pixel grid are what flickers, and the temporal term fades them with the
rest of the fine detail (on the bundled styles the trained networks keep a half to a quarter of their teacher's
Laplacian energy; the blind look test called them "softer", "washed out"). The frame's own detail — its brightness
less a blurred copy — moves with the scene exactly, so adding it back gives edges at no cost in steadiness: on
bikes and carphone, Udnie's temporal network with ``strength`` 1 kept 1.1× its teacher's Laplacian energy (0.46×
without) for 1.07× its own warping error.

Detail below the frame's own noise is not detail: on grainy or heavily compressed footage the finest band is mostly
sensor noise and coding artefacts that change from frame to frame, and adding them back paints flickering grain over
the stylization (on two grainy training clips, a surveillance camera's and a tree's, the six temporal networks'
warping error was 0.23–0.50× their teacher's without the detail and 0.55–1.26× with it, where clean clips rose by a
tenth; ``benchmarks/detail_noise.py``). So the detail is
cored first: soft-thresholded (Donoho and Johnstone, 1994) at :data:`CORING` times the frame's noise level, the
median absolute detail over 0.6745 (what Gaussian noise of that standard deviation gives), estimated on each frame.

The detail is scaled, per channel and place, by how the stylized colours follow the frame's brightness locally: the
slope of a local linear fit (the guided filter's ``a``; He et al., TPAMI 2013). Where the painting inverts the
brightness the detail is inverted too; where the stylized frame ignores it (a flat painted area) none is added.
:mod:`vst.guided` does the same for a network run at a lower resolution.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from .guided import fit_slope, luma

#: Per-axis binomial taps of the blur that defines "fine detail" (σ = 1 pixel).
FINE = (1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16)
#: The local fit runs at this fraction of each side (the slopes vary slowly; at ½ it took 4× the time).
SUBSAMPLE = 4
#: Window radius of the local fit, in pixels at that resolution (a 5×5 window there, 20×20 in the frame).
RADIUS = 2
#: Regularisation of the fit (brightness in [0, 1]): windows whose brightness varies less than about √EPS get a
#: slope near 0 (flat regions receive no detail, so no noise is amplified there).
EPS = 1e-3
#: Detail within this many noise levels of zero is taken for noise and removed (:func:`core`): 3 keeps all but 0.3%
#: of Gaussian noise out while strong edges keep all but that margin.
CORING = 3.0
#: The noise level is estimated on every this-many-th pixel of each side (the median's cost; the estimate of a
#: 640×360 frame moves by under 1% from the full frame's).
NOISE_STRIDE = 4
#: Median absolute value of a standard normal variable: median |detail| / this estimates the noise's σ.
MAD_TO_SIGMA = 0.6745


def fine_detail(brightness: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` → the same: ``brightness`` less its binomial blur (:data:`FINE`, border pixels repeated).
    The blur is written as shifted sums: a one-channel ``conv2d`` ran 30× slower here."""
    a, b, c = FINE[0], FINE[1], FINE[2]
    p = F.pad(brightness, (2, 2, 0, 0), mode="replicate")
    rows = (p[..., :-4] + p[..., 4:]).mul_(a).add_(p[..., 1:-3] + p[..., 3:-1], alpha=b).add_(p[..., 2:-2], alpha=c)
    p = F.pad(rows, (0, 0, 2, 2), mode="replicate")
    blurred = (p[..., :-4, :] + p[..., 4:, :]).mul_(a).add_(p[..., 1:-3, :] + p[..., 3:-1, :], alpha=b)
    return brightness - blurred.add_(p[..., 2:-2, :], alpha=c)


def noise_level(detail: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` fine detail → ``(N, 1, 1, 1)``: each frame's noise σ, its median absolute value (every
    :data:`NOISE_STRIDE`-th pixel) over :data:`MAD_TO_SIGMA`. Edges are few, so they barely move the median."""
    sample = detail[..., ::NOISE_STRIDE, ::NOISE_STRIDE].abs().flatten(1)
    middle = (sample.shape[1] + 1) // 2
    if torch.onnx.is_in_onnx_export():  # neither median nor kthvalue exports; the same value through top-k
        median = sample.topk(middle, dim=1, largest=False).values[:, -1]
    else:  # 14× faster than top-k here
        median = sample.kthvalue(middle, dim=1).values
    return (median / MAD_TO_SIGMA).view(-1, 1, 1, 1)


def core(detail: torch.Tensor, sigmas: float = CORING) -> torch.Tensor:
    """``(N, 1, H, W)`` fine detail less its noise: soft-thresholded at ``sigmas`` × :func:`noise_level` (values
    within the threshold become 0, the rest move towards 0 by it)."""
    threshold = sigmas * noise_level(detail)
    return detail - torch.clamp(detail, -threshold, threshold)


def local_slope(stylized: torch.Tensor, brightness: torch.Tensor, *, radius: int = RADIUS,
                eps: float = EPS) -> torch.Tensor:
    """Slope of the local linear fit of each stylized channel to the brightness, fitted at 1/:data:`SUBSAMPLE` of
    each side.

    Args:
        stylized: ``(N, C, H, W)`` in [0, 1].
        brightness: ``(N, 1, H, W)`` in [0, 1].

    Returns:
        ``(N, C, H, W)``: ``cov(brightness, stylized) / (var(brightness) + eps)`` over each window, upsampled
        bilinearly (the slopes vary slowly).
    """
    # pooled apart: concatenating the full-size images first took longer than the pooling
    i = F.avg_pool2d(brightness, SUBSAMPLE, ceil_mode=True)
    p = F.avg_pool2d(stylized, SUBSAMPLE, ceil_mode=True)
    slope = fit_slope(i, p, radius=radius, eps=eps)
    return F.interpolate(slope, size=stylized.shape[-2:], mode="bilinear", align_corners=False)


def add_frame_detail(stylized: torch.Tensor, frame: torch.Tensor, strength: float, *,
                     coring: float = CORING) -> torch.Tensor:
    """``stylized`` with ``strength`` × the frame's fine detail, cored (:func:`core`) and scaled by the local slope
    (module docstring).

    Args:
        stylized: ``(N, 3, H, W)`` the network's output, in [0, 1].
        frame: ``(N, 3, H, W)`` the network's input, RGB in [0, 1].
        strength: 0 returns ``stylized`` itself; 1 adds the detail as the fit predicts it.
        coring: the noise levels cored away (:func:`core`); 0 adds the detail as it is (for comparisons).

    Returns:
        ``(N, 3, H, W)`` in [0, 1].
    """
    if strength == 0:
        return stylized
    bright = luma(frame)
    detail = core(fine_detail(bright), coring) if coring else fine_detail(bright)
    return torch.addcmul(stylized, local_slope(stylized, bright), detail, value=strength).clamp(0.0, 1.0)


def laplacian(images: torch.Tensor, margin: int = 8) -> torch.Tensor:
    """``(N, C, H, W)`` → ``(N, C, H - 2 - 2·margin, W - 2 - 2·margin)``: each channel's 4-neighbour Laplacian, a
    ``margin`` left out at the border."""
    kernel = torch.tensor([[0.0, 1.0, 0.0], [1.0, -4.0, 1.0], [0.0, 1.0, 0.0]], dtype=images.dtype,
                          device=images.device)
    channels = images.shape[1]
    lap = F.conv2d(images, kernel.expand(channels, 1, 3, 3), groups=channels)
    return lap[..., margin:-margin, margin:-margin] if margin else lap


def detail_energy(images: torch.Tensor, margin: int = 8) -> float:
    """Mean squared :func:`laplacian` of ``(N, C, H, W)`` images in [0, 1]: how much fine detail they carry."""
    return float(laplacian(images, margin).square().mean())

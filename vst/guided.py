"""Edge-aware upsampling of a stylized frame rendered at a lower resolution: the fast guided filter (He et al.,
"Guided image filtering", TPAMI 2013; He and Sun, "Fast guided filter", 2015).

The network runs at a fraction of the frame's size; its output is upsampled bilinearly, and the frame's own fine
detail (what its brightness loses at the low resolution) is added back, scaled by how the stylized colours follow the
frame's brightness locally — the slope of the guided filter's local linear fit, computed at the low resolution. The
painting's colours and strokes come from the network, untouched (a guided filter proper would smooth them away where
the frame is flat); the edges that the low resolution lost come back from the frame, where they are sharp.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: Window radius of the fit at half the low resolution, in pixels (a 5×5 window there).
RADIUS = 2
#: Regularisation of the fit (brightness in [0, 1]): a window whose brightness varies less than about √EPS keeps the
#: network's output as it is (smoothed); where the frame has an edge, the output follows it.
EPS = 1e-3
#: Rec. 601 luma weights of the guide.
LUMA = (0.299, 0.587, 0.114)


def luma(images: torch.Tensor) -> torch.Tensor:
    """``(N, 3, H, W)`` RGB → ``(N, 1, H, W)`` brightness, same range."""
    weights = torch.tensor(LUMA, dtype=images.dtype, device=images.device)
    return torch.einsum("nchw,c->nhw", images, weights).unsqueeze(1)  # a 1×1 conv2d ran 80× slower here


def box(x: torch.Tensor, radius: int) -> torch.Tensor:
    """Mean over the ``(2r+1)²`` window around each pixel, zeros outside the frame: ``(N, C, h, w)`` → the same.
    Running sums (two cumulative sums), several times faster here than ``avg_pool2d``; divide by :func:`box` of ones
    for windows cut at the border."""
    size = 2 * radius + 1
    sums = F.pad(x, (0, 0, radius + 1, radius)).cumsum(dim=-2)
    rows = sums[..., size:, :] - sums[..., :-size, :]
    sums = F.pad(rows, (radius + 1, radius)).cumsum(dim=-1)
    return (sums[..., size:] - sums[..., :-size]).div_(size * size)


def upsample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Bilinear ``(N, C, h, w)`` → ``(N, C, *size)`` (``align_corners=False``), each channel resized as an image of
    its own: on one thread PyTorch's kernel resized three channels of 1280×720 in 8.3 ms as one image and in 3.9 ms as
    three (the same values to float rounding; two threads 2.0 ms either way), and frames run side by side run on one
    thread each (:mod:`vst.parallel`)."""
    n, c, h, w = x.shape
    return F.interpolate(x.reshape(n * c, 1, h, w), size=size, mode="bilinear", align_corners=False).view(n, c, *size)


def fit_slope(guide: torch.Tensor, target: torch.Tensor, *, radius: int, eps: float) -> torch.Tensor:
    """The guided filter's slope ``a``: per window of radius ``radius``, ``cov(guide, target) / (var(guide) + eps)``.

    Args:
        guide: ``(N, 1, h, w)`` brightness.
        target: ``(N, C, h, w)``.

    Returns:
        ``(N, C, h, w)``; windows cut by the border average over their pixels inside.
    """
    channels = target.shape[1]
    moments = box(torch.cat([guide, target, guide * target, guide * guide, torch.ones_like(guide)], dim=1), radius)
    mean_i, mean_p, mean_ip, mean_ii, inside = moments.split([1, channels, channels, 1, 1], dim=1)
    mean_i, mean_p, mean_ip, mean_ii = (m / inside for m in (mean_i, mean_p, mean_ip, mean_ii))  # cut windows
    return (mean_ip - mean_i * mean_p) / (mean_ii - mean_i * mean_i + eps)


def guided_upsample(low: torch.Tensor, guide: torch.Tensor, *, radius: int = RADIUS, eps: float = EPS) -> torch.Tensor:
    """Upsample ``low`` to the size of ``guide``, the edges that the low resolution lost taken from ``guide``.

    ``low`` is upsampled bilinearly (its strokes and texture kept as they are), then the frame's own detail — its
    brightness less that brightness at the low resolution upsampled the same way — is added, scaled in each channel
    by the local linear fit of ``low`` to the frame's brightness (the guided filter's slope ``a``: how strongly, and
    with which sign, the stylized colours follow the frame's brightness there). The fit runs at half the low
    resolution (the fast guided filter's subsampling): the slopes vary slowly.

    Args:
        low: ``(N, C, h, w)`` the network's output at the low resolution, in [0, 1].
        guide: ``(N, 3, H, W)`` the frame at full resolution (H ≥ h, W ≥ w), RGB in [0, 1].
        radius, eps: the fit's window radius (in pixels at half the low resolution) and regularisation.

    Returns:
        ``(N, C, H, W)`` in [0, 1].
    """
    bright = luma(guide)
    small = F.interpolate(bright, size=low.shape[-2:], mode="area")
    channels = low.shape[1]
    fit = F.interpolate(torch.cat([small, low], dim=1), scale_factor=0.5, mode="area", recompute_scale_factor=False)
    i, p = fit.split([1, channels], dim=1)
    slope = fit_slope(i, p, radius=radius, eps=eps)
    size = (guide.shape[-2], guide.shape[-1])
    up = upsample(torch.cat([low, small], dim=1), size)
    slope = upsample(slope, size)
    detail = bright.sub_(up[:, channels:])
    return torch.addcmul(up[:, :channels], slope, detail).clamp_(0.0, 1.0)


def internal_size(width: int, height: int, scale: float, multiple: int) -> tuple[int, int]:
    """The network's frame size for a ``width``×``height`` frame at ``scale`` (0 < scale ≤ 1): each side scaled and
    rounded to a multiple of ``multiple`` (at least one multiple)."""
    if not 0.0 < scale <= 1.0:
        raise ValueError(f"the internal scale must be in (0, 1], not {scale}")
    return (max(multiple, round(width * scale / multiple) * multiple),
            max(multiple, round(height * scale / multiple) * multiple))

"""Fixed filters of the network's ``antialias`` option (Zhang 2019): the binomial blur and its folding into a kernel."""

from __future__ import annotations

import torch
import torch.nn.functional as F

#: The binomial [1, 2, 1] / 4 filter (per axis) of ``antialias=True``.
BINOMIAL = (0.25, 0.5, 0.25)


def binomial_kernel(channels: int) -> torch.Tensor:
    """``(channels, 1, 3, 3)`` depthwise [1, 2, 1] ⊗ [1, 2, 1] / 16 blur (sums to 1)."""
    taps = torch.tensor(BINOMIAL)
    return (taps[:, None] * taps[None, :]).expand(channels, 1, 3, 3).contiguous()


def blur(x: torch.Tensor) -> torch.Tensor:
    """``(B, C, H, W)`` → the same shape, each channel blurred by :func:`binomial_kernel` (reflection padding)."""
    return F.conv2d(F.pad(x, (1, 1, 1, 1), mode="reflect"), binomial_kernel(x.shape[1]).to(x), groups=x.shape[1])


def smoothed_weights(weight: torch.Tensor) -> torch.Tensor:
    """A ``(C_out, C_in, 3, 3)`` kernel composed with the binomial blur: ``(C_out, C_in, 5, 5)``, so that convolving
    a nearest-upsampled image with it equals blurring that image (nearest + [1, 2, 1] blur is bilinear ×2 upsampling)
    and then convolving with ``weight``, away from the border."""
    cout, cin = weight.shape[:2]
    blurred = F.conv2d(F.pad(weight.reshape(cout * cin, 1, 3, 3), (2, 2, 2, 2)), binomial_kernel(1).to(weight))
    return blurred.reshape(cout, cin, 5, 5)

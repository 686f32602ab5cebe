"""Exact inference rewrites of the network's layers (:mod:`vst.model`): the same function, less arithmetic and memory.

At inference (no autograd) each layer of a network runs rewritten unless its :class:`InferenceOptions` say otherwise:

- nearest ×2 upsampling + 3×3 convolution becomes one 3×3 convolution at low resolution with four output phases and a
  pixel shuffle (:func:`phase_weights`): 4/9 of the useful arithmetic, and the upsampled tensor is never built;
- a stride-1 convolution with few output channels (the last, RGB one) runs space-to-depth: on the 2×2-unshuffled input
  with 4× the output channels (:func:`space_to_depth_weights`), which vectorises four times better;
- large frames (above :data:`STRIP_THRESHOLD` output pixels) run in strips of :data:`STRIP_ROWS` rows with in-place
  norms, to save memory (at 720p, not 360p, where speed matters more).

The options belong to a network's layers, not to the process: :func:`vst.model.with_inference` gives a copy of a
network with other options, so a network that several threads run is never switched under them. Tests hold the
rewrites to the textbook layers within float rounding.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from .filters import binomial_kernel, blur, smoothed_weights

#: Frames with more output pixels than this run in strips at inference (unless a layer's options say whole frames).
STRIP_THRESHOLD = 640 * 480
STRIP_ROWS = 64
#: Convolutions with at most this many output channels (the final RGB one) run space-to-depth at inference.
S2D_MAX_OUT_CHANNELS = 4


@dataclass(frozen=True)
class InferenceOptions:
    """How a layer runs at inference.

    ``rewrites``: the exact rewrites above (off: the textbook layers, as in training — what the benchmarks call the
    *eager reference*, and what the ONNX export traces). ``strips``: large frames in strips (with ``rewrites``); off
    under ``torch.compile``, where the strip loop unrolls into many small kernels and ran about half as fast as whole
    frames at 960×540 (``benchmarks/performance.py``): the compiler plans whole-frame memory itself.
    """

    rewrites: bool = True
    strips: bool = True

    def rewriting(self) -> bool:
        """Whether the rewrites apply now: enabled, and no autograd (training always runs the textbook layers)."""
        return self.rewrites and not torch.is_grad_enabled()

    def in_strips(self, x: torch.Tensor, scale: int = 1) -> bool:
        """Whether ``x`` ``(B, C, h, w)``, whose layer outputs ``scale``× its size per side, runs in strips."""
        return self.strips and self.rewriting() and x.shape[-2] * x.shape[-1] * scale * scale > STRIP_THRESHOLD


def phase_weights(weight: torch.Tensor) -> torch.Tensor:
    """Weights of ``convKxK(pad(upsample2x(x), K // 2))`` (nearest ×2; K = 3 with reflection or K = 5 with replicate
    padding) as a low-resolution 3×3 convolution with four output phases.

    Args:
        weight: ``(C_out, C_in, K, K)``, K 3 or 5.

    Returns:
        ``(4·C_out, C_in, 3, 3)``, channel ``4c + 2a + b`` giving output pixels ``(2i + a, 2j + b)`` of channel ``c``
        when convolved (no padding) with ``replicate_pad(x, 1)``; ``pixel_shuffle(·, 2)`` interleaves the phases.
        Output row ``2i + a`` reads upsampled rows ``2i + a + r − K // 2`` (r = 0 … K − 1), which are low-resolution
        padded rows ``i + 1 + (a + r − K // 2) // 2``: for K = 3 phase 0 sums taps (0 | 1, 2), phase 1 taps (0, 1 | 2).
        (Padding the upsampled image by one pixel, reflected or replicated, or by two, replicated, equals upsampling
        the replicate-padded low-resolution image.)
    """
    cout, cin, k = weight.shape[:3]
    if k not in (3, 5):
        raise ValueError(f"phase_weights takes 3×3 or 5×5 kernels, not {k}×{k}")
    phase, row, tap = torch.meshgrid(torch.arange(2), torch.arange(3), torch.arange(k), indexing="ij")
    # (2, 3, K): phase a, low-resolution row k ← tap r
    taps = (row == torch.div(phase + tap - k // 2, 2, rounding_mode="floor") + 1).to(weight)
    return torch.einsum("akr,oirs,bls->oabikl", taps, weight, taps).reshape(4 * cout, cin, 3, 3)


def space_to_depth_weights(weight: torch.Tensor) -> torch.Tensor:
    """Weights of a stride-1 ``k×k`` convolution (k odd) as a ``(k+1)/2``-square one on ``pixel_unshuffle(x, 2)``.

    Args:
        weight: ``(C_out, C_in, k, k)``.

    Returns:
        ``(4·C_out, 4·C_in, m, m)`` with ``m = (k + 1) // 2``: output channel ``4c + 2a + b`` is output pixel
        ``(2i + a, 2j + b)`` of channel ``c``; input channel ``4ci + 2p + q`` is input pixel ``(2i + p, 2j + q)``.
        Tap ``d`` of phase ``a`` lands at unshuffled offset ``(a + d) // 2``, sub-pixel ``(a + d) % 2``.
    """
    cout, cin, k, _ = weight.shape
    m = (k + 1) // 2
    phase, sub, offset, tap = torch.meshgrid(*(torch.arange(n) for n in (2, 2, m, k)), indexing="ij")
    lands = (phase + tap == 2 * offset + sub).to(weight)  # (2, 2, m, k): tap d of phase a → (sub-pixel, offset)
    out = torch.einsum("apmd,bqne,oide->oabipqmn", lands, lands, weight)
    return out.reshape(4 * cout, 4 * cin, m, m)


def interleave_into(out: torch.Tensor, top: int, phases: torch.Tensor) -> None:
    """Write ``phases`` ``(B, 4C, h, w)`` (channel ``4c + 2a + b``) into rows ``2top + a`` , columns ``2j + b`` of
    ``out`` ``(B, C, H, W)`` — a pixel shuffle into a preallocated tensor."""
    b, c, _, width = out.shape
    rows = phases.shape[-2]
    grid = out.view(b, c, out.shape[-2] // 2, 2, width // 2, 2)
    grid[:, :, top:top + rows].copy_(phases.view(b, c, 2, 2, rows, width // 2).permute(0, 1, 4, 2, 5, 3))


def instance_norm_(x: torch.Tensor, norm: nn.InstanceNorm2d) -> torch.Tensor:
    """``norm(x)`` computed in place (inference only): saves one full-size copy of ``x``."""
    var, mean = torch.var_mean(x, dim=(-2, -1), keepdim=True, correction=0)
    scale = torch.rsqrt(var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight.view(1, -1, 1, 1)
        return x.sub_(mean).mul_(scale).add_(norm.bias.view(1, -1, 1, 1))
    return x.sub_(mean).mul_(scale)


def norm_act_(layer: nn.Sequential, y: torch.Tensor, *, in_place: bool = True) -> torch.Tensor:
    """The layers of a conv layer ``[pad, conv, (norm), (ReLU)]`` after its convolution, on ``y``; ``in_place`` saves
    a copy of ``y`` but normalises slower."""
    for module in list(layer)[2:]:
        y = instance_norm_(y, module) if in_place and isinstance(module, nn.InstanceNorm2d) else module(y)
    return y


def conv_layer(layer: nn.Sequential, x: torch.Tensor, *, antialias: bool, scale: int,
               options: InferenceOptions) -> torch.Tensor:
    """A conv layer ``[reflection pad, conv, (norm), (ReLU)]`` (:class:`vst.model.ConvLayer`) at inference, rewritten;
    ``antialias``: blur the input first; ``scale``: the network's input is this many times ``x`` per side.
    ``(B, C_in, H, W)`` → ``(B, C_out, H', W')``."""
    if antialias:
        if options.in_strips(x, scale):
            return _blurred_strips(layer, x)
        x = blur(x)
    conv = layer[1]
    if (conv.stride[0] == 1 and conv.out_channels <= S2D_MAX_OUT_CHANNELS and x.shape[-2] % 2 == 0
            and x.shape[-1] % 2 == 0):
        return norm_act_(layer, _space_to_depth_conv(layer, x, options), in_place=options.in_strips(x))
    if not options.in_strips(x):
        return nn.Sequential.forward(layer, x)  # the layers as written (the layer's own forward dispatches here)
    # Convolve strips of the padded input (views, no copies): the convolution never holds full-size working
    # buffers, and large kernels run faster on cache-sized strips.
    padded = layer[0](x)
    kernel, stride = conv.kernel_size[0], conv.stride[0]
    out_h = (padded.shape[-2] - kernel) // stride + 1
    out_w = (padded.shape[-1] - kernel) // stride + 1
    out = x.new_empty(x.shape[0], conv.out_channels, out_h, out_w)
    for top in range(0, out_h, STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, out_h)
        out[..., top:bottom, :] = conv(padded[..., top * stride:(bottom - 1) * stride + kernel, :])
    return norm_act_(layer, out)


def _blurred_strips(layer: nn.Sequential, x: torch.Tensor) -> torch.Tensor:
    """An antialiased conv layer on a large frame at inference, strip by strip: each strip's rows are blurred and
    padded on their own, so neither the blurred nor the padded frame is ever held whole (at 720p that is two
    full-resolution copies of the first layer's output). ``(B, C_in, H, W)`` → ``(B, C_out, H', W')``."""
    conv = layer[1]
    kernel, stride, pad = conv.kernel_size[0], conv.stride[0], layer[0].padding[0]
    height, width = x.shape[-2:]
    out_h = (height + 2 * pad - kernel) // stride + 1
    out_w = (width + 2 * pad - kernel) // stride + 1
    out = x.new_empty(x.shape[0], conv.out_channels, out_h, out_w)
    binomial = binomial_kernel(x.shape[1]).to(x)
    for top in range(0, out_h, STRIP_ROWS):
        bottom = min(top + STRIP_ROWS, out_h)
        first, last = top * stride - pad, (bottom - 1) * stride + kernel - pad  # blurred rows read, may overhang
        lo, hi = max(first, 0), min(last, height)
        # blurred rows [lo, hi) need frame rows [lo − 1, hi + 1), reflected at the frame's edges
        rows = F.pad(x[..., max(lo - 1, 0):min(hi + 1, height), :], (1, 1, int(lo == 0), int(hi == height)),
                     mode="reflect")
        blurred = F.conv2d(rows, binomial, groups=x.shape[1])
        strip = F.pad(blurred, (pad, pad, lo - first, last - hi), mode="reflect")  # the convolution's padding
        out[..., top:bottom, :] = conv(strip)
    return norm_act_(layer, out)


def _space_to_depth_conv(layer: nn.Sequential, x: torch.Tensor, options: InferenceOptions) -> torch.Tensor:
    """The layer's convolution (stride 1, even H and W) on the 2×2-unshuffled padded input, in strips of output rows
    for large frames. ``(B, C_in, H, W)`` → ``(B, C_out, H, W)``."""
    pad, conv = layer[0], layer[1]
    padded = pad(x)
    kernel = conv.kernel_size[0]
    weight, bias = space_to_depth_weights(conv.weight), conv.bias.repeat_interleave(4)
    height = x.shape[-2]
    out = x.new_empty(x.shape[0], conv.out_channels, height, x.shape[-1])
    rows = max(2, STRIP_ROWS // 2 * 2) if options.in_strips(x) else height
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        strip = F.pixel_unshuffle(padded[..., top:bottom + kernel - 1, :], 2)
        interleave_into(out, top // 2, F.conv2d(strip, weight, bias))
    return out


def upsample_conv(layer: nn.Sequential, x: torch.Tensor, *, smooth: bool, options: InferenceOptions) -> torch.Tensor:
    """Nearest (``smooth``: bilinear) ×2 upsampling then a 3×3 conv layer, at inference: the upsampled tensor — the
    largest of the whole network — is never built. Reflecting a nearest-upsampled image by one pixel equals upsampling
    the low-resolution image replicated by one pixel, so the convolution becomes a 3×3 convolution of the small
    replicate-padded input with four output phases (:func:`phase_weights`), interleaved into the output (in strips of
    rows for large frames). ``(B, C_in, h, w)`` → ``(B, C_out, 2h, 2w)``."""
    conv = layer[1]
    weight = smoothed_weights(conv.weight) if smooth else conv.weight
    weight, bias = phase_weights(weight), conv.bias.repeat_interleave(4)
    height = x.shape[-2]
    padded = F.pad(x, (1, 1, 1, 1), mode="replicate")  # low resolution: cheap
    out = x.new_empty(x.shape[0], conv.out_channels, 2 * height, 2 * x.shape[-1])
    rows = max(1, STRIP_ROWS // 2) if options.in_strips(x, scale=2) else height
    for top in range(0, height, rows):
        bottom = min(top + rows, height)
        interleave_into(out, top, F.conv2d(padded[..., top:bottom + 2, :], weight, bias))
    return norm_act_(layer, out, in_place=options.in_strips(x, scale=2))

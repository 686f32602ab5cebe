"""Exact inference rewrites of the network's layers (:mod:`vst.model`): the same function, less arithmetic and memory.

At inference (no autograd) each layer of a network runs rewritten unless its :class:`InferenceOptions` say otherwise:

- nearest ×2 upsampling + 3×3 convolution becomes one 3×3 convolution at low resolution with four output phases and a
  pixel shuffle (:func:`phase_weights`): 4/9 of the useful arithmetic, and the upsampled tensor is never built;
- a stride-1 convolution with few output channels (the last, RGB one), or few input and output channels (the
  Magenta networks' first, 3 → 8), runs space-to-depth: on the 2×2-unshuffled input with 4× the output channels
  (:func:`space_to_depth_weights`), which vectorises four times better (:func:`runs_space_to_depth`);
- the last ×2 upsampling and the RGB convolution after it run fused in *phase space*
  (:func:`upsample_rgb_in_phases`): the upsampling's four output phases are padded (:func:`fill_reflected_border`),
  normalised and convolved as they come, never interleaved into the full-resolution image and unshuffled again
  (three full-size copies fewer: 2.7 of the fast network's 34 ms a 640×360 frame; the teacher's network 1.29× as
  fast at 1280×720, where the strips had interleaved, padded and unshuffled row by row);
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
#: Elements centred at a time for a phase-space norm's variance (:func:`phase_stats`): a 1280×720 frame's 8-channel
#: layer is 7.4 million.
STATS_CHUNK = 1 << 20
#: ... and those from at most :data:`S2D_MAX_OUT_CHANNELS` input channels to at most this many (the Magenta networks'
#: first 9×9 convolution, 3 → 8: 5.3 against 5.8 ms at 640×360 on two threads; to 16 channels it took 1.6× as
#: long).
S2D_MAX_OUT_FROM_RGB = 8


@dataclass(frozen=True)
class InferenceOptions:
    """How a layer runs at inference.

    ``rewrites``: the exact rewrites above (off: the textbook layers, as in training — what the benchmarks call the
    *eager reference*; the ONNX export starts from them, :mod:`vst.onnx_layers`). ``strips``: large frames in strips
    (with ``rewrites``); off under ``torch.compile``, where the strip loop unrolls into many small kernels and ran
    about half as fast as whole frames at 960×540 (``benchmarks/performance.py``): the compiler plans whole-frame
    memory itself. ``phase_space``: below.
    """

    rewrites: bool = True
    strips: bool = True
    #: with ``rewrites``: the phase-space ones too (:func:`upsample_rgb_in_phases`, the first convolution
    #: space-to-depth); off only to measure what they bring (``benchmarks/performance.py``)
    phase_space: bool = True

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
    if runs_space_to_depth(conv, x, phase_space=options.phase_space):
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


def runs_space_to_depth(conv: nn.Conv2d, x: torch.Tensor, *, phase_space: bool = True) -> bool:
    """Whether ``conv`` runs space-to-depth on ``x`` ``(B, C, H, W)`` at inference: stride 1, H and W even, and few
    output channels (:data:`S2D_MAX_OUT_CHANNELS`), or (``phase_space``) few input and output channels
    (:data:`S2D_MAX_OUT_FROM_RGB`)."""
    few = conv.out_channels <= S2D_MAX_OUT_CHANNELS or (phase_space and conv.in_channels <= S2D_MAX_OUT_CHANNELS
                                                          and conv.out_channels <= S2D_MAX_OUT_FROM_RGB)
    return conv.stride[0] == 1 and few and x.shape[-2] % 2 == 0 and x.shape[-1] % 2 == 0


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


def phase_stats(phases: torch.Tensor, norm: nn.InstanceNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """The instance norm ``norm`` of the image whose four phases are ``phases`` ``(B, 4C, h, w)`` (channel
    ``4c + 2a + b``; a view such as a padded tensor's interior will do), as a per-channel scale and shift
    ``(B, C, 1, 1, 1)``: ``norm(image) = scale · image + shift`` on ``phases.unflatten(1, (C, 4))``. The mean and
    variance are taken in two passes (``torch.var_mean`` took 5.5× as long here), the second a few channels at a time
    (:data:`STATS_CHUNK`), so the centred copy stays small."""
    grouped = phases.unflatten(1, (phases.shape[1] // 4, 4))  # (B, C, 4, h, w)
    dims = (2, 3, 4)
    mean = grouped.mean(dims, keepdim=True)
    per_chunk = max(1, STATS_CHUNK // grouped[0, 0].numel())
    var = torch.cat([(part - m).square_().mean(dims, keepdim=True)
                     for part, m in zip(grouped.split(per_chunk, 1), mean.split(per_chunk, 1), strict=True)], 1)
    scale = torch.rsqrt(var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight.view(1, -1, 1, 1, 1)
        return scale, norm.bias.view(1, -1, 1, 1, 1) - mean * scale
    return scale, -mean * scale


def fill_reflected_border(padded: torch.Tensor, pad: int) -> None:
    """Fill the ``pad``-wide border of ``padded`` ``(B, 4C, h + 2·pad, w + 2·pad)``, whose interior holds the four
    phases of an image (channel ``4c + 2a + b``), as reflecting that image by ``2·pad`` pixels would, in place.
    Reflection keeps a pixel's parity (row ``−m`` is row ``m``, row ``H − 1 + m`` is ``H − 1 − m``), so each phase
    plane pads from itself: phase 0 reflects at the top (rows ``pad … 1``) and repeats its edge at the bottom, phase 1
    the other way round; columns likewise."""
    b, c4, height, width = padded.shape
    h, w = height - 2 * pad, width - 2 * pad
    planes = padded.view(b, c4 // 4, 2, 2, height, width)
    for phase in (0, 1):
        for k in range(pad):  # padded row k (top) and pad + h + k (bottom)
            for row, source in ((k, _reflected(k - pad, phase, h)), (pad + h + k, _reflected(h + k, phase, h))):
                planes[:, :, phase, :, row, pad:pad + w] = planes[:, :, phase, :, pad + source, pad:pad + w]
    for phase in (0, 1):  # columns last, from the padded rows: the corners come right
        for k in range(pad):
            for col, source in ((k, _reflected(k - pad, phase, w)), (pad + w + k, _reflected(w + k, phase, w))):
                planes[:, :, :, phase, :, col] = planes[:, :, :, phase, :, pad + source]


def _reflected(index: int, phase: int, size: int) -> int:
    """The low-resolution index, in its own phase plane, of the full-resolution pixel ``2·index + phase`` of an image
    ``2·size`` long reflected at both ends."""
    full, length = 2 * index + phase, 2 * size
    if full < 0:
        full = -full
    elif full >= length:
        full = 2 * (length - 1) - full
    return full // 2


def can_run_in_phases(up: nn.Module, rgb: nn.Sequential) -> bool:
    """Whether :func:`upsample_rgb_in_phases` computes ``rgb(up(x))``: both layers rewriting, nearest upsampling, a
    stride-1 RGB convolution whose reflection padding is even (9×9, 5×5), and nothing after either convolution but
    instance norms and ReLUs (training swaps in norms of its own). Not under ``torch.compile``: traced, its border
    copies and strips became many small kernels (the compiled fast network ran 12 fps at 640×360 with it, 20
    without), and the compiler fuses the layers itself."""
    conv = rgb[1]
    after = [*list(up.conv)[2:], *list(rgb)[2:]]
    return (not torch.compiler.is_compiling() and up.inference.rewriting() and up.inference.phase_space
            and rgb.inference.rewriting() and not up.smooth
            and all(type(m) in (nn.InstanceNorm2d, nn.ReLU) for m in after)
            and conv.stride[0] == 1 and conv.out_channels <= S2D_MAX_OUT_CHANNELS
            and conv.kernel_size[0] % 4 == 1 and isinstance(rgb[0], nn.ReflectionPad2d))


def upsample_rgb_in_phases(up: nn.Sequential, rgb: nn.Sequential, x: torch.Tensor,
                           options: InferenceOptions | None = None) -> torch.Tensor:
    """An :class:`~vst.model.UpsampleConv`'s conv layer ``up`` (nearest ×2 upsampling first) then the RGB conv layer
    ``rgb`` (stride 1, reflection padding 2·p), at inference, without the full-resolution image between them.

    The upsampling's four phases (:func:`phase_weights`) are written into the interior of a phase-space tensor
    padded by p, its border filled as phases (:func:`fill_reflected_border`), normalised and rectified in place
    (:func:`phase_stats`), and convolved space-to-depth (:func:`space_to_depth_weights`, whose input channels are
    those phases); then the RGB layer's own norm (if any) in phases, and only its three channels are pixel-shuffled to
    full size. Frames that ``options`` (default ``up``'s) run in strips convolve :data:`STRIP_ROWS` output rows at a
    time: the same memory as the strips, and 1.2–1.9× as fast as them at 1280×720 and 960×540 (two threads).
    Where :func:`can_run_in_phases`. ``(B, C_in, h, w)`` → ``(B, C_out, 2h, 2w)``.
    """
    options = options or up.inference
    up_conv, conv = up[1], rgb[1]
    pad = conv.kernel_size[0] // 4
    b, _, h, w = x.shape
    rows = max(1, STRIP_ROWS // 2) if options.in_strips(x, scale=2) else h
    source = F.pad(x, (1, 1, 1, 1), mode="replicate")
    weight, bias = phase_weights(up_conv.weight), up_conv.bias.repeat_interleave(4)
    padded = x.new_empty(b, weight.shape[0], h + 2 * pad, w + 2 * pad)
    for top in range(0, h, rows):
        bottom = min(top + rows, h)
        padded[:, :, pad + top:pad + bottom, pad:pad + w] = F.conv2d(source[..., top:bottom + 2, :], weight, bias)
    del source
    fill_reflected_border(padded, pad)
    _affine_act_(padded, padded[..., pad:pad + h, pad:pad + w], up)
    weight, bias = space_to_depth_weights(conv.weight), conv.bias.repeat_interleave(4)
    out = x.new_empty(b, weight.shape[0], h, w)
    for top in range(0, h, rows):
        bottom = min(top + rows, h)
        out[:, :, top:bottom] = F.conv2d(padded[..., top:bottom + 2 * pad, :], weight, bias)
    del padded
    _affine_act_(out, out, rgb)
    return F.pixel_shuffle(out, 2)


def _affine_act_(target: torch.Tensor, phases: torch.Tensor, layer: nn.Sequential) -> None:
    """The norm (its statistics from ``phases``, a view of ``target``'s interior or ``target`` itself) and ReLU after
    ``layer``'s convolution, in place on ``target`` ``(B, 4C, h', w')``."""
    grouped = target.unflatten(1, (target.shape[1] // 4, 4))
    for module in list(layer)[2:]:
        if isinstance(module, nn.InstanceNorm2d):
            scale, shift = phase_stats(phases, module)
            grouped.mul_(scale).add_(shift)
        elif isinstance(module, nn.ReLU):
            grouped.clamp_(min=0)
        else:
            raise TypeError(f"no phase-space rewrite for {type(module).__name__}")

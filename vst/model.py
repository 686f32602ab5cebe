"""The feed-forward stylization network (Johnson et al. 2016, as used for video by Huang et al. 2017).

    image ─ conv k×k ─ conv 3×3 /2 ─ conv 3×3 /2 ─ residual blocks ─ up ×2 + conv ─ up ×2 + conv ─ conv k×k ─ stylized

Every convolution uses reflection padding; every hidden one is followed by instance normalisation and ReLU. Upsampling
is nearest-neighbour resize followed by a convolution (Odena et al. 2016), which avoids the checkerboard artefacts of
transposed convolutions. Width (``channels``) and depth (``num_residual_blocks``) come from the config, so a small fast
network and the Johnson-size reference (32/64/128 channels, 5 residual blocks) share this code.

``antialias=True`` (Zhang 2019, "Making convolutional networks shift-invariant again"): a fixed [1, 2, 1] binomial blur
before each stride-2 convolution, and the upsampling convolutions see a blurred (bilinear) rather than a blocky
(nearest) ×2 image. Without it the network is equivariant only to shifts by multiples of 4 pixels: shifting the input
by 1–3 pixels changed a trained model's output about as much as one video frame to the next does (the flicker the
temporal loss has to fight), the nearest-neighbour upsampling most of it. With the same weights the option cuts that
5–7×; training then re-learns part of it (the learned convolutions after each blur can sharpen again), see
docs/quality.md, *Antialiasing*, and ``benchmarks/shift.py``.

Training runs these layers as written. Inference (no autograd) runs exactly equivalent rewrites that need less
arithmetic and memory on a CPU — upsampling convolutions as four-phase low-resolution convolutions, the final RGB
convolution space-to-depth, large frames in strips — see :func:`inference_rewrites`; tests hold them to the textbook
layers within float rounding.

:class:`FastStyleNet` is the real-time variant: the same building blocks with nothing at full resolution. It starts
with a stride-2 convolution and ends with a sub-pixel convolution (pixel shuffle, Shi et al. 2016) from half
resolution, so at 640×360 it needs a fifth of the default network's arithmetic (3.0 against 15.3 GFLOP). It is distilled from a trained
full-size temporal model (``python -m training distill``).

The classes subclass ``PyTorchModelHubMixin``: ``save_pretrained(folder)`` writes ``model.safetensors`` and
``config.json`` (the Hub repo layout, never pickles); :func:`load_network` reads them back, checked and strictly.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

#: ``config.json``'s ``architecture`` names the class; checkpoints without the key are :class:`StyleNet`.
ARCHITECTURES = ("johnson", "fast", "magenta")
#: ``config.json``'s ``architecture`` of the any-painting network (:mod:`vst.conditional`): not a style's network.
CONDITIONAL_ARCHITECTURE = "magenta-conditional"
#: Johnson et al.'s network: the reference that the benchmarks compare against.
JOHNSON_CONFIG: dict[str, object] = {"channels": [32, 64, 128], "num_residual_blocks": 5, "outer_kernel": 9}
#: The default network of the bundled styles: a quarter of the reference's width squared, three residual blocks.
DEFAULT_CONFIG: dict[str, object] = {"channels": [16, 32, 64], "num_residual_blocks": 3, "outer_kernel": 9}
#: The real-time network (:class:`FastStyleNet`): half- and quarter-resolution widths, residual blocks.
FAST_CONFIG: dict[str, object] = {"channels": [16, 32], "num_residual_blocks": 4}
#: The Live tab's in-browser network: :class:`FastStyleNet` at a third of the fast network's arithmetic (0.49 against
#: 1.52 GMAC a 640×360 frame), distilled from it (``python -m training distill --live``). In the browser's
#: WebAssembly runtime, where convolutions run about a quarter as fast as natively, it is what reaches 12 fps at 640×360.
LIVE_CONFIG: dict[str, object] = {"channels": [8, 24], "num_residual_blocks": 2}
#: The teacher's transform network (:class:`MagentaStyleNet`, Magenta's arbitrary-style model at width 0.25): the
#: full-size network of styles distilled from the teacher. 2.9 GMAC a 640×360 frame.
MAGENTA_CONFIG: dict[str, object] = {"architecture": "magenta", "channels": [8, 16, 32], "num_residual_blocks": 5,
                                     "outer_kernel": 9}
#: The networks the benchmarks compare, as :func:`build_network` configs (``magenta-fast``/``-live``: the teacher
#: recipe's lighter networks, the student with 2 and 1 residual blocks).
NAMED_CONFIGS: dict[str, dict[str, object]] = {
    "fast": {"architecture": "fast", **FAST_CONFIG},
    "live": {"architecture": "fast", **LIVE_CONFIG},
    "full-size": DEFAULT_CONFIG,
    "full-size-antialias": {**DEFAULT_CONFIG, "antialias": True},
    "johnson-reference": JOHNSON_CONFIG,
    "magenta": MAGENTA_CONFIG,
    "magenta-fast": {**MAGENTA_CONFIG, "num_residual_blocks": 2},
    "magenta-live": {**MAGENTA_CONFIG, "num_residual_blocks": 1},
}


#: At inference, full-resolution layers of large frames (more output pixels than this, e.g. 720p, not 360p, where
#: speed matters more) save memory: in-place instance norm, and
#: the upsampling layer runs over strips of :data:`STRIP_ROWS` rows (see :meth:`UpsampleConv.forward`).
STRIP_THRESHOLD = 640 * 480
STRIP_ROWS = 64


#: At inference the network runs rewritten, exactly equivalent layers (see :func:`inference_rewrites`).
_REWRITES = True
#: At inference large frames run in strips (see :func:`frame_strips`).
_STRIPS = True
#: Convolutions with at most this many output channels (the final RGB one) run space-to-depth at inference.
S2D_MAX_OUT_CHANNELS = 4


@contextlib.contextmanager
def inference_rewrites(enabled: bool) -> Iterator[None]:
    """Switch the exact inference rewrites on or off inside the block (they are on by default).

    With them off, inference runs the textbook layers as in training (resize then convolve; a k×k convolution with
    three output channels at full resolution) — what the benchmarks call the *eager reference*. With them on, three
    rewrites compute the same function (to float rounding) with less arithmetic or better vectorisation:

    - nearest ×2 upsampling + 3×3 convolution becomes one 3×3 convolution at low resolution with four output phases
      and a pixel shuffle (:func:`phase_weights`): 4/9 of the useful arithmetic, and the upsampled tensor is never built;
    - a stride-1 convolution with few output channels (the last, RGB one) runs space-to-depth: on the 2×2-unshuffled
      input with 4× the output channels (:func:`space_to_depth_weights`), which vectorises four times better;
    - large frames (above :data:`STRIP_THRESHOLD` pixels) run in strips with in-place norms, to save memory.
    """
    global _REWRITES
    previous, _REWRITES = _REWRITES, enabled
    try:
        yield
    finally:
        _REWRITES = previous


@contextlib.contextmanager
def frame_strips(enabled: bool) -> Iterator[None]:
    """Switch the strip-wise inference of large frames (see :func:`inference_rewrites`) on or off inside the block.

    On by default: in eager mode strips save memory and run faster on cache-sized pieces. :class:`vst.pipeline.Stylizer`
    turns them off under ``torch.compile``, where the strip loop is unrolled into many small kernels and ran about
    half as fast as whole frames at 960×540 (``benchmarks/performance.py``); the compiler plans whole-frame memory itself.
    """
    global _STRIPS
    previous, _STRIPS = _STRIPS, enabled
    try:
        yield
    finally:
        _STRIPS = previous


def _rewriting() -> bool:
    return _REWRITES and not torch.is_grad_enabled()


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


def _interleave_into(out: torch.Tensor, top: int, phases: torch.Tensor) -> None:
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


def _large_inference(x: torch.Tensor, scale: int = 1) -> bool:
    return _STRIPS and _rewriting() and x.shape[-2] * x.shape[-1] * scale * scale > STRIP_THRESHOLD


class ConvLayer(nn.Sequential):
    """Reflection-padded convolution, optionally followed by instance norm and ReLU. Keeps H, W unless ``stride`` > 1."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, *, norm_act: bool = True,
                 antialias: bool = False, scale: int = 1, norm: bool | None = None,
                 act: bool | None = None) -> None:  # fmt: skip
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm_act if norm is None else norm:  # ``norm``/``act`` choose the two apart (the Magenta network)
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        if norm_act if act is None else act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
        #: blur the input (:func:`blur`) before a strided convolution, so it samples a low-passed image
        self.antialias = antialias and stride > 1
        #: the network's input is this many times the layer's input per side (large frames run in strips by it)
        self.scale = scale

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.antialias:
            if _large_inference(x, self.scale):
                return self._blurred_strips(x)
            x = blur(x)
        conv = self[1]
        if _rewriting() and conv.stride[0] == 1 and conv.out_channels <= S2D_MAX_OUT_CHANNELS and x.shape[-2] % 2 == 0 \
                and x.shape[-1] % 2 == 0:
            return self.norm_act_(self._space_to_depth_conv(x), in_place=_large_inference(x))
        if not _large_inference(x):
            return super().forward(x)
        # Convolve strips of the padded input (views, no copies): the convolution never holds full-size working
        # buffers, and large kernels run faster on cache-sized strips.
        pad, conv = self[0], self[1]
        padded = pad(x)
        kernel, stride = conv.kernel_size[0], conv.stride[0]
        out_h = (padded.shape[-2] - kernel) // stride + 1
        out_w = (padded.shape[-1] - kernel) // stride + 1
        out = x.new_empty(x.shape[0], conv.out_channels, out_h, out_w)
        for top in range(0, out_h, STRIP_ROWS):
            bottom = min(top + STRIP_ROWS, out_h)
            out[..., top:bottom, :] = conv(padded[..., top * stride:(bottom - 1) * stride + kernel, :])
        return self.norm_act_(out)

    def _blurred_strips(self, x: torch.Tensor) -> torch.Tensor:
        """``self(x)`` with ``antialias`` on a large frame at inference, strip by strip: each strip's rows are blurred
        and padded on their own, so neither the blurred nor the padded frame is ever held whole (at 720p that is two
        full-resolution copies of the first layer's output). ``(B, C_in, H, W)`` → ``(B, C_out, H', W')``."""
        conv = self[1]
        kernel, stride, pad = conv.kernel_size[0], conv.stride[0], self[0].padding[0]
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
        return self.norm_act_(out)

    def _space_to_depth_conv(self, x: torch.Tensor) -> torch.Tensor:
        """The convolution (stride 1, even H and W) on the 2×2-unshuffled padded input, in strips of output rows for
        large frames. ``(B, C_in, H, W)`` → ``(B, C_out, H, W)``."""
        pad, conv = self[0], self[1]
        padded = pad(x)
        kernel = conv.kernel_size[0]
        weight, bias = space_to_depth_weights(conv.weight), conv.bias.repeat_interleave(4)
        height = x.shape[-2]
        out = x.new_empty(x.shape[0], conv.out_channels, height, x.shape[-1])
        rows = max(2, STRIP_ROWS // 2 * 2) if _large_inference(x) else height
        for top in range(0, height, rows):
            bottom = min(top + rows, height)
            strip = F.pixel_unshuffle(padded[..., top:bottom + kernel - 1, :], 2)
            _interleave_into(out, top // 2, F.conv2d(strip, weight, bias))
        return out

    def norm_act_(self, y: torch.Tensor, *, in_place: bool = True) -> torch.Tensor:
        """The layers after the convolution (inference); ``in_place`` saves a copy of ``y`` but normalises slower."""
        for layer in list(self)[2:]:
            y = instance_norm_(y, layer) if in_place and isinstance(layer, nn.InstanceNorm2d) else layer(y)
        return y


class ResidualBlock(nn.Module):
    """Two 3×3 conv + instance-norm layers with an identity shortcut (He et al. 2016, as in Johnson et al.)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            ConvLayer(channels, channels, 3),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels, affine=True),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class UpsampleConv(nn.Module):
    """Nearest-neighbour ×2 upsampling followed by a :class:`ConvLayer` (3×3).

    ``smooth=True`` (the network's ``antialias``): the upsampled image is blurred by the binomial filter first, which
    makes it a bilinear ×2 upsampling; the blur is folded into the convolution (:func:`smoothed_weights`: one 5×5
    kernel on the nearest-upsampled image, replicate-padded), so the parameters are the same 3×3 ones.

    At inference (see :func:`inference_rewrites`) the upsampled tensor — the largest of the whole network, ``cin``
    channels at full resolution — is never built: reflecting a nearest-upsampled image by one pixel equals upsampling
    the low-resolution image replicated by one pixel, so the 3×3 convolution becomes a 3×3 convolution of the small
    replicate-padded input with four output phases (:func:`phase_weights`), interleaved into the output (in strips
    of rows for large frames). Same result up to float rounding.
    """

    def __init__(self, cin: int, cout: int, *, smooth: bool = False) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, 3)
        self.smooth = smooth

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, h, w)`` → ``(B, C_out, 2h, 2w)``."""
        conv = self.conv[1]
        if not _rewriting():
            up = F.interpolate(x, scale_factor=2.0, mode="nearest")
            if not self.smooth:
                return self.conv(up)
            y = F.conv2d(F.pad(up, (2, 2, 2, 2), mode="replicate"), smoothed_weights(conv.weight), conv.bias)
            return self.conv.norm_act_(y, in_place=False)
        weight = smoothed_weights(conv.weight) if self.smooth else conv.weight
        weight, bias = phase_weights(weight), conv.bias.repeat_interleave(4)
        height = x.shape[-2]
        padded = F.pad(x, (1, 1, 1, 1), mode="replicate")  # low resolution: cheap
        out = x.new_empty(x.shape[0], conv.out_channels, 2 * height, 2 * x.shape[-1])
        rows = max(1, STRIP_ROWS // 2) if _large_inference(x, scale=2) else height
        for top in range(0, height, rows):
            bottom = min(top + rows, height)
            _interleave_into(out, top, F.conv2d(padded[..., top:bottom + 2, :], weight, bias))
        return self.conv.norm_act_(out, in_place=_large_inference(x, scale=2))


class StyleNet(
    nn.Module,
    PyTorchModelHubMixin,
    library_name="vst",
    repo_url="https://huggingface.co/spaces",
    pipeline_tag="image-to-image",
    license="mit",
    tags=["style-transfer", "video", "temporal-consistency"],
):
    """Feed-forward style transfer network.

    Args:
        channels: widths of the full-, half- and quarter-resolution stages, e.g. ``(32, 64, 128)``.
        num_residual_blocks: residual blocks at quarter resolution.
        outer_kernel: kernel size of the first and the last convolution (9 in Johnson et al.).
        antialias: blur before each stride-2 convolution and upsample bilinearly (see the module docstring); the
            parameters are the same either way, so a checkpoint trained without it can start a run with it.
        training_config: free-form record of how the checkpoint was trained (kept in ``config.json``; unused here).

    Input ``(B, 3, H, W)`` RGB in [0, 1] with H and W multiples of :attr:`size_multiple`; output the same shape,
    RGB in [0, 1] (a sigmoid bounds it).
    """

    size_multiple: int = 4
    architecture: str = "johnson"
    #: instance norm after the encoder's convolutions (Johnson et al.); the Magenta network has none there
    encoder_norm: bool = True
    #: instance norm on the last convolution's output, before the sigmoid (the Magenta network)
    output_norm: bool = False

    def __init__(
        self,
        channels: tuple[int, ...] | list[int] = (16, 32, 64),
        num_residual_blocks: int = 3,
        outer_kernel: int = 9,
        antialias: bool = False,
        training_config: dict[str, object] | None = None,
    ) -> None:
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        self.channels: tuple[int, ...] = (c1, c2, c3)
        self.outer_kernel = outer_kernel
        self.antialias = bool(antialias)
        self.training_config = dict(training_config or {})
        norm = self.encoder_norm
        self.encoder = nn.Sequential(
            ConvLayer(3, c1, outer_kernel, norm=norm),
            ConvLayer(c1, c2, 3, stride=2, antialias=antialias, norm=norm),
            ConvLayer(c2, c3, 3, stride=2, antialias=antialias, scale=2, norm=norm),
        )
        self.residuals = nn.Sequential(*(ResidualBlock(c3) for _ in range(num_residual_blocks)))
        self.decoder = nn.Sequential(
            UpsampleConv(c3, c2, smooth=antialias),
            UpsampleConv(c2, c1, smooth=antialias),
            ConvLayer(c1, 3, outer_kernel, norm=self.output_norm, act=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] → ``(B, 3, H, W)`` in [0, 1]."""
        return torch.sigmoid(self.decoder(self.residuals(self.encoder(x))))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def config(self) -> dict[str, object]:
        """What ``config.json`` holds: the architecture and the current ``training_config``."""
        config: dict[str, object] = {"architecture": self.architecture, "channels": list(self.channels),
                                     "num_residual_blocks": len(self.residuals), "outer_kernel": self.outer_kernel}
        if self.antialias:  # written only when set: checkpoints from before the option stay byte-identical
            config["antialias"] = True
        return config | {"training_config": self.training_config or None}

    def save_pretrained(self, save_directory: str | Path, **kwargs: Any) -> str | None:  # type: ignore[override]
        """``PyTorchModelHubMixin.save_pretrained`` with :attr:`config` as it is now (not as it was at construction)."""
        kwargs.setdefault("config", self.config)
        return super().save_pretrained(save_directory, **kwargs)


class FastStyleNet(StyleNet):
    """The real-time network: nothing runs at full resolution.

        image ─ conv 3×3 /2 ─ conv 3×3 /2 ─ residual blocks ─ up ×2 + conv ─ conv 3×3 → 12 ch ─ pixel shuffle ×2 ─ stylized

    Args:
        channels: widths of the half- and quarter-resolution stages, e.g. ``(16, 32)``.
        num_residual_blocks: residual blocks at quarter resolution.
        training_config: as in :class:`StyleNet`.

    Input and output as in :class:`StyleNet`: ``(B, 3, H, W)`` RGB in [0, 1], H and W multiples of 4.
    """

    architecture = "fast"

    def __init__(
        self,
        channels: tuple[int, ...] | list[int] = (16, 32),
        num_residual_blocks: int = 4,
        training_config: dict[str, object] | None = None,
    ) -> None:
        nn.Module.__init__(self)
        c1, c2 = (int(c) for c in channels)
        self.channels = (c1, c2)
        self.outer_kernel = 3
        self.antialias = False
        self.training_config = dict(training_config or {})
        self.encoder = nn.Sequential(ConvLayer(3, c1, 3, stride=2), ConvLayer(c1, c2, 3, stride=2))
        self.residuals = nn.Sequential(*(ResidualBlock(c2) for _ in range(num_residual_blocks)))
        self.decoder = nn.Sequential(
            UpsampleConv(c2, c1),
            nn.ReflectionPad2d(1),
            nn.Conv2d(c1, 3 * 4, 3),
            nn.PixelShuffle(2),  # (B, 12, H/2, W/2) -> (B, 3, H, W)
        )

    @property
    def config(self) -> dict[str, object]:
        return {"architecture": self.architecture, "channels": list(self.channels),
                "num_residual_blocks": len(self.residuals), "training_config": self.training_config or None}


class MagentaStyleNet(StyleNet):
    """The transform network of Magenta's arbitrary-style model (Ghiasi et al. 2017) with one painting's style folded
    into its instance norms: the student that starts as the teacher (:mod:`vst.teacher`) and is fine-tuned with the
    temporal term.

        image ─ conv 9×9 ─ conv 3×3 /2 ─ conv 3×3 /2 ─ 5 residual blocks ─ up ×2 + conv ─ up ×2 + conv ─ conv 9×9 + norm

    The same layers as :class:`StyleNet` (so the same inference rewrites), except that the encoder's convolutions have
    a bias and no norm (Magenta's folded batch norm) and the last convolution is instance-normalised before the
    sigmoid. Magenta's conditional norms become ordinary affine ones. Defaults: :data:`MAGENTA_CONFIG`.
    """

    architecture = "magenta"
    encoder_norm = False
    output_norm = True

    def __init__(
        self,
        channels: tuple[int, ...] | list[int] = (8, 16, 32),
        num_residual_blocks: int = 5,
        outer_kernel: int = 9,
        antialias: bool = False,
        training_config: dict[str, object] | None = None,
    ) -> None:
        super().__init__(channels, num_residual_blocks, outer_kernel, antialias, training_config)


def network_class(architecture: str) -> type[StyleNet]:
    """The class for a ``config.json`` ``architecture`` value (see :data:`ARCHITECTURES`)."""
    classes: dict[str, type[StyleNet]] = {"johnson": StyleNet, "fast": FastStyleNet, "magenta": MagentaStyleNet}
    if architecture not in classes:
        raise ValueError(f"unknown architecture '{architecture}'; known: {', '.join(classes)}")
    return classes[architecture]


def build_network(config: dict[str, Any]) -> StyleNet:
    """A freshly initialised network from a config dict such as :data:`DEFAULT_CONFIG` or :data:`FAST_CONFIG`."""
    kwargs = dict(config)
    cls = network_class(str(kwargs.pop("architecture", "johnson")))
    return cls(**kwargs)


def load_network(folder: str | Path) -> StyleNet:
    """Load a checkpoint folder (``model.safetensors`` + ``config.json``) as the class its config names, checked and
    strictly (see :func:`vst.checkpoint_check.load_checkpoint`: a :class:`~vst.checkpoint_check.CheckpointError` names
    the file and what is wrong with it)."""
    from .checkpoint_check import load_checkpoint  # imported here: that module builds on this one's classes

    return load_checkpoint(folder)

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
convolution space-to-depth, large frames in strips — in :mod:`vst.rewrites`, chosen per network by
:func:`with_inference`; tests hold them to the textbook layers within float rounding.

:class:`FastStyleNet` is the real-time variant: the same building blocks with nothing at full resolution. It starts
with a stride-2 convolution and ends with a sub-pixel convolution (pixel shuffle, Shi et al. 2016) from half
resolution, so at 640×360 it needs a fifth of the default network's arithmetic (3.0 against 15.3 GFLOP). It is distilled from a trained
full-size temporal model (``python -m training distill``).

The classes subclass ``PyTorchModelHubMixin``: ``save_pretrained(folder)`` writes ``model.safetensors`` and
``config.json`` (the Hub repo layout, never pickles); :func:`vst.checkpoint_check.load_network` reads them back,
checked and strictly.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any, TypeVar

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

from . import rewrites
from .detail import add_frame_detail
from .filters import blur, smoothed_weights
from .rewrites import InferenceOptions

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

NetworkT = TypeVar("NetworkT", bound=nn.Module)


def with_inference(network: NetworkT, *, rewrites: bool = True, strips: bool = True,
                   phase_space: bool = True) -> NetworkT:
    """A copy of ``network`` whose layers run at inference with these :class:`~vst.rewrites.InferenceOptions`
    (the defaults: the exact rewrites on, the phase-space ones included, large frames in strips). ``network`` itself
    is unchanged, so a network that other threads run is never switched under them."""
    copied = copy.deepcopy(network)
    options = InferenceOptions(rewrites=rewrites, strips=strips, phase_space=phase_space)
    for module in copied.modules():
        if isinstance(module, (ConvLayer, UpsampleConv)):
            module.inference = options
    return copied


class ConvLayer(nn.Sequential):
    """Reflection-padded convolution, optionally followed by instance norm and ReLU. Keeps H, W unless ``stride`` > 1.

    At inference it runs :func:`vst.rewrites.conv_layer` (the same function) unless :attr:`inference` says not to.
    """

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, *, norm_act: bool = True,
                 antialias: bool = False, scale: int = 1, norm: bool | None = None,
                 act: bool | None = None) -> None:  # fmt: skip
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm_act if norm is None else norm:  # ``norm``/``act`` choose the two apart (the Magenta network)
            layers.append(nn.InstanceNorm2d(cout, affine=True))
        if norm_act if act is None else act:
            layers.append(nn.ReLU(inplace=True))
        super().__init__(*layers)
        #: blur the input (:func:`vst.filters.blur`) before a strided convolution, so it samples a low-passed image
        self.antialias = antialias and stride > 1
        #: the network's input is this many times the layer's input per side (large frames run in strips by it)
        self.scale = scale
        #: how it runs at inference (see :func:`with_inference`)
        self.inference = InferenceOptions()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.inference.rewriting():
            return rewrites.conv_layer(self, x, antialias=self.antialias, scale=self.scale, options=self.inference)
        return super().forward(blur(x) if self.antialias else x)


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
    makes it a bilinear ×2 upsampling; the blur is folded into the convolution (:func:`vst.filters.smoothed_weights`:
    one 5×5 kernel on the nearest-upsampled image, replicate-padded), so the parameters are the same 3×3 ones.

    At inference it runs :func:`vst.rewrites.upsample_conv` (four-phase low-resolution convolutions; the same function)
    unless :attr:`inference` says not to.
    """

    def __init__(self, cin: int, cout: int, *, smooth: bool = False) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, 3)
        self.smooth = smooth
        #: how it runs at inference (see :func:`with_inference`)
        self.inference = InferenceOptions()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, C_in, h, w)`` → ``(B, C_out, 2h, 2w)``."""
        if self.inference.rewriting():
            return rewrites.upsample_conv(self.conv, x, smooth=self.smooth, options=self.inference)
        up = F.interpolate(x, scale_factor=2.0, mode="nearest")
        if not self.smooth:
            return self.conv(up)
        conv = self.conv[1]
        y = F.conv2d(F.pad(up, (2, 2, 2, 2), mode="replicate"), smoothed_weights(conv.weight), conv.bias)
        return rewrites.norm_act_(self.conv, y, in_place=False)


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
        frame_detail: > 0 adds the input frame's own fine detail to the output, this strong (:mod:`vst.detail`): crisp
            edges that move with the scene, given back to a network that the temporal term made soft. No parameters.
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
        frame_detail: float = 0.0,
    ) -> None:
        super().__init__()
        self.channels: tuple[int, ...] = tuple(int(c) for c in channels)
        self.outer_kernel = outer_kernel
        self.antialias = bool(antialias)
        self.frame_detail = float(frame_detail)
        self.training_config = dict(training_config or {})
        self.encoder, self.residuals, self.decoder = self.build_layers(num_residual_blocks)

    def build_layers(self, num_residual_blocks: int) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
        """The encoder, the residual blocks and the decoder, from :attr:`channels`, :attr:`outer_kernel` and
        :attr:`antialias` (the diagram above; subclasses build their own)."""
        c1, c2, c3 = self.channels
        norm, antialias, kernel = self.encoder_norm, self.antialias, self.outer_kernel
        encoder = nn.Sequential(
            ConvLayer(3, c1, kernel, norm=norm),
            ConvLayer(c1, c2, 3, stride=2, antialias=antialias, norm=norm),
            ConvLayer(c2, c3, 3, stride=2, antialias=antialias, scale=2, norm=norm),
        )
        residuals = nn.Sequential(*(ResidualBlock(c3) for _ in range(num_residual_blocks)))
        decoder = nn.Sequential(
            UpsampleConv(c3, c2, smooth=antialias),
            UpsampleConv(c2, c1, smooth=antialias),
            ConvLayer(c1, 3, kernel, norm=self.output_norm, act=False),
        )
        return encoder, residuals, decoder

    def forward(self, x: torch.Tensor, detail_from: torch.Tensor | None = None) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] → ``(B, 3, H, W)`` in [0, 1]. ``detail_from``: the frames whose fine detail
        :attr:`frame_detail` adds, ``(B, 3, H, W)`` in [0, 1] (default ``x``; the raw frames when ``x`` was denoised,
        :mod:`vst.denoise`)."""
        stylized = torch.sigmoid(self.decode(self.residuals(self.encoder(x))))
        if not self.frame_detail:
            return stylized
        return add_frame_detail(stylized, x if detail_from is None else detail_from, self.frame_detail)

    def decode(self, features: torch.Tensor) -> torch.Tensor:
        """The decoder: ``(B, C, H/4, W/4)`` → ``(B, 3, H, W)`` before the sigmoid. At inference its last upsampling
        and RGB convolution run fused in phase space where they can (:func:`vst.rewrites.upsample_rgb_in_phases`, the
        same function)."""
        *head, up, rgb = self.decoder
        if not (isinstance(up, UpsampleConv) and isinstance(rgb, ConvLayer)):
            return self.decoder(features)
        for layer in head:
            features = layer(features)
        if rewrites.can_run_in_phases(up, rgb):
            return rewrites.upsample_rgb_in_phases(up.conv, rgb, features)
        return rgb(up(features))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def config(self) -> dict[str, object]:
        """What ``config.json`` holds: the architecture and the current ``training_config``."""
        config: dict[str, object] = {"architecture": self.architecture, "channels": list(self.channels),
                                     "num_residual_blocks": len(self.residuals), "outer_kernel": self.outer_kernel}
        if self.antialias:  # written only when set: checkpoints from before the option stay byte-identical
            config["antialias"] = True
        if self.frame_detail:  # the same
            config["frame_detail"] = self.frame_detail
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
        frame_detail: float = 0.0,
    ) -> None:
        super().__init__(channels, num_residual_blocks, outer_kernel=3, antialias=False,
                         training_config=training_config, frame_detail=frame_detail)

    def build_layers(self, num_residual_blocks: int) -> tuple[nn.Sequential, nn.Sequential, nn.Sequential]:
        c1, c2 = self.channels
        encoder = nn.Sequential(ConvLayer(3, c1, 3, stride=2), ConvLayer(c1, c2, 3, stride=2))
        residuals = nn.Sequential(*(ResidualBlock(c2) for _ in range(num_residual_blocks)))
        decoder = nn.Sequential(
            UpsampleConv(c2, c1),
            nn.ReflectionPad2d(1),
            nn.Conv2d(c1, 3 * 4, 3),
            nn.PixelShuffle(2),  # (B, 12, H/2, W/2) -> (B, 3, H, W)
        )
        return encoder, residuals, decoder

    @property
    def config(self) -> dict[str, object]:
        config: dict[str, object] = {"architecture": self.architecture, "channels": list(self.channels),
                                     "num_residual_blocks": len(self.residuals)}
        if self.frame_detail:
            config["frame_detail"] = self.frame_detail
        return config | {"training_config": self.training_config or None}


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
        frame_detail: float = 0.0,
    ) -> None:
        super().__init__(channels, num_residual_blocks, outer_kernel, antialias, training_config, frame_detail)


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

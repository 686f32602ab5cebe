"""The feed-forward stylization network (Johnson et al. 2016, as used for video by Huang et al. 2017).

    image ─ conv k×k ─ conv 3×3 /2 ─ conv 3×3 /2 ─ residual blocks ─ up ×2 + conv ─ up ×2 + conv ─ conv k×k ─ stylized

Every convolution uses reflection padding; every hidden one is followed by instance normalisation and ReLU. Upsampling
is nearest-neighbour resize followed by a convolution (Odena et al. 2016), which avoids the checkerboard artefacts of
transposed convolutions. Width (``channels``) and depth (``num_residual_blocks``) come from the config, so a small fast
network and the Johnson-size reference (32/64/128 channels, 5 residual blocks) share this code.

:class:`FastStyleNet` is the real-time variant: the same building blocks with nothing at full resolution. It starts
with a stride-2 convolution and ends with a sub-pixel convolution (pixel shuffle, Shi et al. 2016) from half
resolution, so at 640×360 it needs a fifth of the default network's arithmetic (3.0 against 15.3 GFLOP). It is distilled from a trained
full-size temporal model (``python -m training distill``).

The classes subclass ``PyTorchModelHubMixin``: ``save_pretrained(folder)`` writes ``model.safetensors`` and
``config.json`` (the Hub repo layout, never pickles) and ``from_pretrained(folder_or_repo)`` reads them back.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from huggingface_hub import PyTorchModelHubMixin
from torch import nn

#: ``config.json``'s ``architecture`` names the class; checkpoints without the key are :class:`StyleNet`.
ARCHITECTURES = ("johnson", "fast")
#: Johnson et al.'s network: the reference that the benchmarks compare against.
JOHNSON_CONFIG: dict[str, object] = {"channels": [32, 64, 128], "num_residual_blocks": 5, "outer_kernel": 9}
#: The default network of the bundled styles: a quarter of the reference's width squared, three residual blocks.
DEFAULT_CONFIG: dict[str, object] = {"channels": [16, 32, 64], "num_residual_blocks": 3, "outer_kernel": 9}
#: The real-time network (:class:`FastStyleNet`): half- and quarter-resolution widths, residual blocks.
FAST_CONFIG: dict[str, object] = {"channels": [16, 32], "num_residual_blocks": 4}
#: The three networks the benchmarks compare, as :func:`build_network` configs.
NAMED_CONFIGS: dict[str, dict[str, object]] = {
    "fast": {"architecture": "fast", **FAST_CONFIG},
    "full-size": DEFAULT_CONFIG,
    "johnson-reference": JOHNSON_CONFIG,
}


#: At inference, full-resolution layers of large frames (more output pixels than this, e.g. 720p, not 360p, where
#: speed matters more) save memory: in-place instance norm, and
#: the upsampling layer runs over strips of :data:`STRIP_ROWS` rows (see :meth:`UpsampleConv.forward`).
STRIP_THRESHOLD = 640 * 480
STRIP_ROWS = 64


def instance_norm_(x: torch.Tensor, norm: nn.InstanceNorm2d) -> torch.Tensor:
    """``norm(x)`` computed in place (inference only): saves one full-size copy of ``x``."""
    var, mean = torch.var_mean(x, dim=(-2, -1), keepdim=True, correction=0)
    scale = torch.rsqrt(var + norm.eps)
    if norm.affine:
        scale = scale * norm.weight.view(1, -1, 1, 1)
        return x.sub_(mean).mul_(scale).add_(norm.bias.view(1, -1, 1, 1))
    return x.sub_(mean).mul_(scale)


def _large_inference(x: torch.Tensor, scale: int = 1) -> bool:
    return not torch.is_grad_enabled() and x.shape[-2] * x.shape[-1] * scale * scale > STRIP_THRESHOLD


class ConvLayer(nn.Sequential):
    """Reflection-padded convolution, optionally followed by instance norm and ReLU. Keeps H, W unless ``stride`` > 1."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int = 1, *, norm_act: bool = True) -> None:
        layers: list[nn.Module] = [nn.ReflectionPad2d(kernel // 2), nn.Conv2d(cin, cout, kernel, stride)]
        if norm_act:
            layers += [nn.InstanceNorm2d(cout, affine=True), nn.ReLU(inplace=True)]
        super().__init__(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
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

    def norm_act_(self, y: torch.Tensor) -> torch.Tensor:
        """The layers after the convolution, in place (inference)."""
        for layer in list(self)[2:]:
            y = instance_norm_(y, layer) if isinstance(layer, nn.InstanceNorm2d) else layer(y)
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

    At inference on large inputs the upsampled, padded tensor — the largest of the whole network, ``cin`` channels at
    full resolution — is never built whole: the convolution runs over strips of output rows. It uses that reflecting
    a nearest-upsampled image by one pixel equals upsampling the low-resolution image replicated by one pixel and
    cropping one pixel, so each strip is cut from the small padded input. Same result up to float rounding.
    """

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = ConvLayer(cin, cout, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not _large_inference(x, scale=2):
            return self.conv(F.interpolate(x, scale_factor=2.0, mode="nearest"))
        conv = self.conv[1]
        height, width = 2 * x.shape[-2], 2 * x.shape[-1]
        padded = F.pad(x, (1, 1, 1, 1), mode="replicate")  # low resolution: cheap
        out = x.new_empty(x.shape[0], conv.out_channels, height, width)
        for top in range(0, height, STRIP_ROWS):
            bottom = min(top + STRIP_ROWS, height)
            # Output rows top..bottom-1 read padded high-res rows top..bottom+1, i.e. rows top+1..bottom+2 of
            # upsample(padded), which come from low-res padded rows (top+1)//2 .. (bottom+2)//2.
            first = (top + 1) // 2
            strip = F.interpolate(padded[..., first:(bottom + 2) // 2 + 1, :], scale_factor=2.0, mode="nearest")
            offset = top + 1 - 2 * first
            out[..., top:bottom, :] = conv(strip[..., offset:offset + bottom - top + 2, 1:width + 3])
        return self.conv.norm_act_(out)


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
        training_config: free-form record of how the checkpoint was trained (kept in ``config.json``; unused here).

    Input ``(B, 3, H, W)`` RGB in [0, 1] with H and W multiples of :attr:`size_multiple`; output the same shape,
    RGB in [0, 1] (a sigmoid bounds it).
    """

    size_multiple: int = 4
    architecture: str = "johnson"

    def __init__(
        self,
        channels: tuple[int, ...] | list[int] = (16, 32, 64),
        num_residual_blocks: int = 3,
        outer_kernel: int = 9,
        training_config: dict[str, object] | None = None,
    ) -> None:
        super().__init__()
        c1, c2, c3 = (int(c) for c in channels)
        self.channels: tuple[int, ...] = (c1, c2, c3)
        self.outer_kernel = outer_kernel
        self.training_config = dict(training_config or {})
        self.encoder = nn.Sequential(
            ConvLayer(3, c1, outer_kernel),
            ConvLayer(c1, c2, 3, stride=2),
            ConvLayer(c2, c3, 3, stride=2),
        )
        self.residuals = nn.Sequential(*(ResidualBlock(c3) for _ in range(num_residual_blocks)))
        self.decoder = nn.Sequential(
            UpsampleConv(c3, c2),
            UpsampleConv(c2, c1),
            ConvLayer(c1, 3, outer_kernel, norm_act=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, 3, H, W)`` in [0, 1] → ``(B, 3, H, W)`` in [0, 1]."""
        return torch.sigmoid(self.decoder(self.residuals(self.encoder(x))))

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    @property
    def config(self) -> dict[str, object]:
        """What ``config.json`` holds: the architecture and the current ``training_config``."""
        return {"architecture": self.architecture, "channels": list(self.channels),
                "num_residual_blocks": len(self.residuals), "outer_kernel": self.outer_kernel,
                "training_config": self.training_config or None}

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


def network_class(architecture: str) -> type[StyleNet]:
    """The class for a ``config.json`` ``architecture`` value (see :data:`ARCHITECTURES`)."""
    classes: dict[str, type[StyleNet]] = {"johnson": StyleNet, "fast": FastStyleNet}
    if architecture not in classes:
        raise ValueError(f"unknown architecture '{architecture}'; known: {', '.join(classes)}")
    return classes[architecture]


def build_network(config: dict[str, Any]) -> StyleNet:
    """A freshly initialised network from a config dict such as :data:`DEFAULT_CONFIG` or :data:`FAST_CONFIG`."""
    kwargs = dict(config)
    cls = network_class(str(kwargs.pop("architecture", "johnson")))
    return cls(**kwargs)


def load_network(folder: str | Path) -> StyleNet:
    """Load a checkpoint folder (``model.safetensors`` + ``config.json``) as the class its config names."""
    config = json.loads((Path(folder) / "config.json").read_text())
    return network_class(config.get("architecture", "johnson")).from_pretrained(folder)

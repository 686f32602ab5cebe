"""The exact inference rewrites of :mod:`vst.rewrites` as plain operators, for the ONNX export.

:mod:`vst.rewrites` writes into preallocated tensors, which ONNX cannot express; these modules compute the same
functions with operators that trace (``Pad``, ``Conv``, ``DepthToSpace``, reshapes), so that onnxruntime, and
onnxruntime-web in the Live tab, get the same savings:

- :class:`SpaceToDepthConv`: a stride-1 convolution with few channels (the first 3 → 8 and the last RGB one of the
  Magenta networks) on the 2×2-unshuffled input, its four output phases shuffled back;
- :class:`PhaseUpsampleConv`: nearest ×2 upsampling and a 3×3 convolution as one low-resolution convolution with four
  output phases, shuffled: the upsampled tensor is never built.

:func:`export_layers` swaps them into a copy of a network. In onnxruntime (Python, 320×180, the any-painting network
with its detail) the graph ran 17.6 against 24.6 ms a frame on one thread, 13.2 against 15.5 on two.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .model import ConvLayer, StyleNet, UpsampleConv
from .rewrites import phase_weights, runs_space_to_depth, space_to_depth_weights


class SpaceToDepthConv(nn.Module):
    """A stride-1 :class:`~vst.model.ConvLayer` (odd kernel k) run on ``pixel_unshuffle(pad(x), 2)`` with
    :func:`~vst.rewrites.space_to_depth_weights`: ``(B, C_in, H, W)`` → ``(B, C_out, H, W)``, H and W even."""

    def __init__(self, layer: ConvLayer) -> None:
        super().__init__()
        conv = layer[1]
        self.pad = layer[0]
        self.weight = nn.Parameter(space_to_depth_weights(conv.weight.detach()), requires_grad=False)
        self.bias = nn.Parameter(conv.bias.detach().repeat_interleave(4), requires_grad=False)
        self.after = nn.Sequential(*list(layer)[2:])  # norm and ReLU, as the layer has them

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phases = F.conv2d(F.pixel_unshuffle(self.pad(x), 2), self.weight, self.bias)
        return self.after(F.pixel_shuffle(phases, 2))


class PhaseUpsampleConv(nn.Module):
    """An :class:`~vst.model.UpsampleConv` (nearest) as a 3×3 convolution of the replicate-padded low-resolution input
    with four output phases (:func:`~vst.rewrites.phase_weights`), pixel-shuffled: ``(B, C_in, h, w)`` →
    ``(B, C_out, 2h, 2w)``."""

    def __init__(self, up: UpsampleConv) -> None:
        super().__init__()
        conv = up.conv[1]
        self.weight = nn.Parameter(phase_weights(conv.weight.detach()), requires_grad=False)
        self.bias = nn.Parameter(conv.bias.detach().repeat_interleave(4), requires_grad=False)
        self.after = nn.Sequential(*list(up.conv)[2:])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        phases = F.conv2d(F.pad(x, (1, 1, 1, 1), mode="replicate"), self.weight, self.bias)
        return self.after(F.pixel_shuffle(phases, 2))


def export_layers(net: StyleNet) -> StyleNet:
    """A copy of ``net`` (running its textbook layers: :func:`vst.model.with_inference` with ``rewrites=False``) with
    each nearest :class:`~vst.model.UpsampleConv`, and the full-resolution first and last conv layers where they run
    space-to-depth at inference (:func:`~vst.rewrites.runs_space_to_depth`), swapped for their plain-operator
    rewrites above. The same function within float rounding, for any input whose sides are multiples of
    ``net.size_multiple`` (the full-resolution sides are even; those of a quarter need not be)."""
    net = copy.deepcopy(net)
    for parent in [m for m in net.modules() if not isinstance(m, UpsampleConv)]:  # its conv layer is its own
        for name, child in parent.named_children():
            if isinstance(child, UpsampleConv) and not child.smooth:
                setattr(parent, name, PhaseUpsampleConv(child))
    even = torch.empty(0, 0, 2, 2)
    for layers, index in ((net.encoder, 0), (net.decoder, len(net.decoder) - 1)):
        layer = layers[index]
        if (isinstance(layer, ConvLayer) and not layer.antialias and isinstance(layer[0], nn.ReflectionPad2d)
                and runs_space_to_depth(layer[1], even)):
            layers[index] = SpaceToDepthConv(layer)
    return net

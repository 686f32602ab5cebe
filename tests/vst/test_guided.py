"""Edge-aware upsampling (vst.guided) and the Stylizer's internal scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from tests.support.model_fixtures import TINY
from vst.guided import box, guided_upsample, internal_size
from vst.model import StyleNet
from vst.pipeline import Stylizer


def test_box_is_the_windowed_mean() -> None:
    x = torch.rand(2, 3, 17, 23, dtype=torch.float64)
    expected = F.avg_pool2d(x, 5, stride=1, padding=2, count_include_pad=True)  # zeros outside, / 25
    torch.testing.assert_close(box(x, 2), expected)


def test_a_flat_guide_gives_the_bilinear_upsampling() -> None:
    """Where the frame has no detail there is nothing to add: the network's strokes are kept as they are."""
    low = torch.rand(1, 3, 12, 16)
    guide = torch.full((1, 3, 48, 64), 0.4)
    bilinear = F.interpolate(low, size=(48, 64), mode="bilinear", align_corners=False)
    torch.testing.assert_close(guided_upsample(low, guide), bilinear, atol=1e-5, rtol=0)


def test_an_edge_lost_at_low_resolution_comes_back_from_the_frame() -> None:
    """A stylization that follows the frame's brightness (here: its negative) gets the frame's sharp edge back,
    with the stylization's sign, where bilinear upsampling of the low-resolution output leaves a ramp."""
    frame = torch.zeros(1, 3, 64, 64)
    frame[..., 33:] = 1.0  # a vertical edge between columns 32 and 33 of the full-resolution frame
    low = 1.0 - F.interpolate(frame, size=(16, 16), mode="area")  # the stylization: the negative, at ¼ the size
    out = guided_upsample(low, frame)
    bilinear = F.interpolate(low, size=(64, 64), mode="bilinear", align_corners=False)
    truth = 1.0 - frame
    assert float((out - truth).abs().mean()) < 0.5 * float((bilinear - truth).abs().mean())
    assert out.shape == (1, 3, 64, 64) and float(out.min()) >= 0.0 and float(out.max()) <= 1.0


def test_internal_size_rounds_to_the_network_multiple() -> None:
    assert internal_size(1280, 720, 0.5, 4) == (640, 360)
    assert internal_size(1280, 720, 0.375, 4) == (480, 272)
    assert internal_size(10, 6, 0.1, 4) == (4, 4)
    with pytest.raises(ValueError, match="internal scale"):
        internal_size(64, 64, 1.5, 4)


def test_the_stylizer_at_half_scale_runs_the_network_at_half_size() -> None:
    torch.manual_seed(0)
    net = StyleNet(**TINY).eval()
    seen: list[tuple[int, ...]] = []
    net.register_forward_hook(lambda module, args, out: seen.append(tuple(args[0].shape)))
    frames = np.random.default_rng(0).integers(0, 256, (2, 48, 64, 3), dtype=np.uint8)
    out = Stylizer(net, scale=0.5, parallel=False)(frames)  # one pass of both frames (not side by side)
    assert out.shape == frames.shape and out.dtype == np.uint8
    assert seen == [(2, 3, 24, 32)]
    with pytest.raises(ValueError, match="internal scale"):
        Stylizer(net, scale=0.0)

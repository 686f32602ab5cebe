"""Choosing the internal scale that keeps up with a clip (vst.realtime), measured with real forward passes."""

from __future__ import annotations

import pytest

from tests.support.model_fixtures import TINY
from vst.model import StyleNet
from vst.realtime import ScaleChoice, choose_scale


def test_a_slow_clip_gets_full_resolution() -> None:
    choice = choose_scale(StyleNet(**TINY).eval(), 64, 48, fps=0.01)  # 80 s a frame to spare
    assert choice.scale == 1.0 and choice.internal == (64, 48) and choice.keeps_up
    assert 0 < choice.seconds_per_frame < choice.budget == pytest.approx(80.0)
    assert choice.describe(64, 48) == "the network ran at full resolution (64×48)"


def test_an_impossible_clip_gets_the_smallest_scale_and_says_it_is_still_slow() -> None:
    choice = choose_scale(StyleNet(**TINY).eval(), 128, 96, fps=1e9, min_scaled_frame=128)
    assert choice.scale == 0.25 and choice.internal == (32, 24) and not choice.keeps_up
    assert choice.describe(128, 96) == ("the network ran at 32×24 (a quarter of 128×96), its smallest size, and "
                                        "was still slower than the clip")


def test_only_frames_the_size_the_look_test_held_up_run_below_full_resolution() -> None:
    """A 360p clip stays at full resolution however slow: half of it (320×180) was never shown to hold its look."""
    choice = choose_scale(StyleNet(**TINY).eval(), 128, 96, fps=1e9, min_scaled_frame=129)
    assert choice.scale == 1.0 and choice.internal == (128, 96) and not choice.keeps_up
    assert choice.describe(128, 96) == ("the network ran at full resolution (128×96), slower than the clip (no smaller "
                                        "size is tried at this size)")


def test_the_line_names_the_resolution_it_chose() -> None:
    choice = ScaleChoice(scale=0.5, internal=(640, 360), seconds_per_frame=0.02, budget=0.032)
    assert choice.keeps_up
    assert choice.describe(1280, 720) == "the network ran at 640×360 (half of 1280×720) to keep up"


def test_a_frame_rate_must_be_positive() -> None:
    with pytest.raises(ValueError, match="frame rate"):
        choose_scale(StyleNet(**TINY).eval(), 64, 48, fps=0)

"""Flow-guided smoothing (:mod:`vst.smoothing`) on real frames: broad flicker held, fine detail untouched, cuts left
alone; and through the real pipeline and command line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.support.model_fixtures import TINY
from vst.__main__ import main as cli_main
from vst.errors import VSTError
from vst.metrics import WarpingErrorMeter
from vst.model import StyleNet
from vst.pipeline import Stylizer, render_video
from vst.smoothing import FlowSmoother, SmoothingOptions
from vst.video import VideoReader

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def real_frames(name: str, count: int, start: int = 0) -> np.ndarray:
    """``(count, H, W, 3)`` uint8: consecutive frames of a bundled example clip."""
    with VideoReader(EXAMPLES / name) as reader:
        frames = [image for image, _, _ in reader.frames()]
    return np.stack(frames[start:start + count])


def shifted(frames: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """``frames`` (uint8) plus a per-frame ``offsets`` pattern ``(N, H, W, 1)`` or ``(N, 1, 1, 1)``, clipped."""
    return np.clip(frames.astype(np.float32) + offsets, 0, 255).astype(np.uint8)


def frame_to_frame(frames: np.ndarray) -> float:
    """Mean absolute change between consecutive frames (uint8 levels), from the third frame on."""
    return float(np.abs(np.diff(frames[2:].astype(np.float32), axis=0)).mean())


def test_the_first_frame_passes_and_strength_zero_is_the_identity() -> None:
    frames = real_frames("bikes.mp4", 4)
    stylized = shifted(frames, np.array([20.0, -20.0, 20.0, -20.0])[:, None, None, None])
    first = FlowSmoother()(frames[0], stylized[0])
    np.testing.assert_array_equal(first, stylized[0])
    np.testing.assert_array_equal(FlowSmoother(SmoothingOptions(strength=0.0)).run(frames, stylized), stylized)


def test_broad_flicker_on_a_still_scene_is_held() -> None:
    still = np.repeat(real_frames("bikes.mp4", 1), 10, axis=0)
    signs = np.where(np.arange(10) % 2 == 0, 1.0, -1.0)
    stylized = shifted(still, 20.0 * signs[:, None, None, None])  # the whole frame's colour swells and fades
    smoothed = FlowSmoother().run(still, stylized)
    assert frame_to_frame(smoothed) < 0.3 * frame_to_frame(stylized)  # 0.18 × for a first-order filter at 0.7


def test_without_flow_a_still_scene_is_held_and_a_pan_needs_the_flow() -> None:
    """``flow=False`` (the Live page's filter): each pixel held to the previous output at the same place, where the
    input did not change there — a still camera's broad flicker drops; on a panning camera flat areas are held to
    colour from the wrong place, which the flow avoids (why the Stylize tab follows it)."""
    options = SmoothingOptions(flow=False)
    still = np.repeat(real_frames("bikes.mp4", 1), 10, axis=0)
    signs = np.where(np.arange(10) % 2 == 0, 1.0, -1.0)[:, None, None, None]
    stylized = shifted(still, 20.0 * signs)
    assert frame_to_frame(FlowSmoother(options).run(still, stylized)) < 0.3 * frame_to_frame(stylized)
    moving = real_frames("bikes.mp4", 10, start=20)
    rendered = 255 - moving
    smoothed = FlowSmoother(options).run(moving, rendered)
    with_flow = FlowSmoother().run(moving, rendered)
    assert np.abs(with_flow.astype(int) - rendered).mean() < np.abs(smoothed.astype(int) - rendered).mean()


def test_fine_detail_passes_untouched() -> None:
    still = np.repeat(real_frames("bikes.mp4", 1), 10, axis=0)
    h, w = still.shape[1:3]
    checker = np.where((np.arange(h)[:, None] + np.arange(w)[None, :]) % 2 == 0, 1.0, -1.0)[None, :, :, None]
    signs = np.where(np.arange(10) % 2 == 0, 1.0, -1.0)[:, None, None, None]
    stylized = shifted(still, 20.0 * signs * checker)  # a one-pixel pattern that flips every frame
    smoothed = FlowSmoother().run(still, stylized)
    assert frame_to_frame(smoothed) > 0.8 * frame_to_frame(stylized)


def test_a_scene_cut_keeps_the_new_frame() -> None:
    bikes = real_frames("bikes.mp4", 3)
    phone = real_frames("carphone.mp4", 1)
    cut = np.concatenate([bikes[:2], np.resize(phone, (1, *bikes.shape[1:]))])
    stylized = 255 - cut  # any rendering
    smoothed = FlowSmoother().run(cut, stylized)
    assert np.abs(smoothed[2].astype(int) - stylized[2].astype(int)).mean() < 3.0


def test_moving_footage_gets_steadier_by_its_warping_error() -> None:
    frames = real_frames("bikes.mp4", 12, start=20)
    rng = np.random.default_rng(0)
    blobs = rng.normal(0.0, 12.0, (12, 1, 1, 3)) * np.linspace(0.5, 1.5, frames.shape[2])[None, None, :, None]
    stylized = shifted(frames, blobs)  # broad colour that changes from frame to frame while the camera moves
    smoothed = FlowSmoother().run(frames, stylized)
    meter = WarpingErrorMeter()
    for i, frame in enumerate(frames):
        meter.update(frame, {"plain": stylized[i], "smoothed": smoothed[i]})
    errors = meter.mean()
    assert errors["smoothed"] < 0.6 * errors["plain"]


def test_bad_options_and_frames_are_refused() -> None:
    with pytest.raises(ValueError, match="strength"):
        SmoothingOptions(strength=1.0)
    with pytest.raises(ValueError, match="preset"):
        SmoothingOptions(preset="slow")
    with pytest.raises(ValueError, match="one size"):
        FlowSmoother()(np.zeros((8, 8, 3), np.uint8), np.zeros((8, 6, 3), np.uint8))
    with pytest.raises(ValueError, match="uint8"):
        FlowSmoother()(np.zeros((8, 8, 3), np.float32), np.zeros((8, 8, 3), np.float32))


def test_the_pipeline_smooths_the_named_output_only(clip_mp4: Path, tmp_path: Path) -> None:
    stylizer = Stylizer(StyleNet(**TINY).eval(), "cpu")
    targets = {"plain": (stylizer, tmp_path / "plain.mp4"), "smoothed": (stylizer, tmp_path / "smoothed.mp4")}
    result = render_video(clip_mp4, targets, measure_flicker=True,
                          smoothing={"smoothed": SmoothingOptions()})
    errors = result.mean_warping_error()
    assert errors["smoothed"] < errors["plain"]
    assert "smoothing" in result.stage_seconds
    with VideoReader(tmp_path / "plain.mp4") as a, VideoReader(tmp_path / "smoothed.mp4") as b:
        assert a.info.num_frames == b.info.num_frames
    with pytest.raises(VSTError, match="not among the targets"):
        render_video(clip_mp4, {"plain": (stylizer, tmp_path / "again.mp4")}, smoothing={"other": SmoothingOptions()})
    assert not (tmp_path / "again.mp4").exists()


def test_the_command_line_smooths_on_request(clip_mp4: Path, tmp_path: Path, tiny_checkpoints: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    style = next(p for p in tiny_checkpoints.iterdir() if p.is_dir()).name
    for flags, name in (([], "plain.mp4"), (["--smooth"], "smoothed.mp4")):
        code = cli_main(["stylize", str(clip_mp4), "--style", style, "-o", str(tmp_path / name), "--flicker", "-q",
                         *flags])
        assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("wrote")]
    plain, smoothed = (float(line.rsplit("warping error ", 1)[1]) for line in lines)
    assert smoothed < plain

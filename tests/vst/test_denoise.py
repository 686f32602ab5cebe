"""Flow-guided denoising of the networks' input (:mod:`vst.denoise`) on real frames: grain held on a still and on a
moving scene, edges and cuts left alone; the frame's detail from the raw frames; through the pipeline and the command
line on a real grainy clip."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from tests.support.model_fixtures import TINY
from vst.__main__ import main as cli_main
from vst.denoise import DenoiseOptions, InputDenoiser
from vst.model import StyleNet
from vst.pipeline import Stylizer, render_video
from vst.video import VideoReader

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def real_frames(name: str, count: int, start: int = 0) -> np.ndarray:
    """``(count, H, W, 3)`` uint8: consecutive frames of a bundled example clip."""
    with VideoReader(EXAMPLES / name) as reader:
        frames = [image for image, _, _ in reader.frames()]
    return np.stack(frames[start:start + count])


def with_grain(frames: np.ndarray, sigma: float = 6.0, seed: int = 0) -> np.ndarray:
    """``frames`` (uint8) plus Gaussian grain of ``sigma`` levels, new in every frame, clipped."""
    grain = np.random.default_rng(seed).normal(0.0, sigma, frames.shape)
    return np.clip(frames + grain, 0, 255).round().astype(np.uint8)


def error(a: np.ndarray, b: np.ndarray, margin: int = 16) -> float:
    """Mean absolute difference (levels) of two frame stacks from the fourth frame on, ``margin`` pixels from the
    borders left out (the flow is least sure there)."""
    return float(np.abs(a[3:, margin:-margin, margin:-margin].astype(np.float32)
                        - b[3:, margin:-margin, margin:-margin]).mean())


def test_the_first_frame_passes_and_strength_zero_is_the_identity() -> None:
    frames = with_grain(real_frames("bikes.mp4", 4))
    np.testing.assert_array_equal(InputDenoiser()(frames[0]), frames[0])
    np.testing.assert_array_equal(InputDenoiser(DenoiseOptions(strength=0.0)).run(frames), frames)


def test_grain_on_a_still_scene_is_held() -> None:
    clean = np.repeat(real_frames("bikes.mp4", 1), 10, axis=0)
    grainy = with_grain(clean)
    denoised = InputDenoiser().run(grainy)
    assert error(denoised, clean) < 0.7 * error(grainy, clean)  # about 0.6× for a first-order filter at 0.7


def test_grain_on_moving_footage_is_held_where_the_flow_follows_it() -> None:
    """Real camera motion (bikes): the previous frame is warped along the flow before it is averaged in, so the
    result is nearer the clean frames than the grainy ones — a misplaced average (ghosting) would be further."""
    clean = real_frames("bikes.mp4", 10, start=30)
    grainy = with_grain(clean)
    denoised = InputDenoiser().run(grainy)
    assert error(denoised, clean) < 0.85 * error(grainy, clean)


def test_edges_larger_than_the_tolerance_are_kept() -> None:
    """A clean clip passes almost unchanged: what is held is no more than noise."""
    clean = real_frames("bikes.mp4", 8, start=30)
    denoised = InputDenoiser().run(clean)
    assert error(denoised, clean) < 1.5


def test_a_scene_cut_keeps_the_new_frame() -> None:
    bikes = real_frames("bikes.mp4", 3)
    phone = real_frames("carphone.mp4", 1)
    cut = np.concatenate([bikes[:2], np.resize(phone, (1, *bikes.shape[1:]))])
    denoised = InputDenoiser().run(cut)
    assert np.abs(denoised[2].astype(int) - cut[2].astype(int)).mean() < 3.0


def test_bad_options_and_frames_are_refused() -> None:
    with pytest.raises(ValueError, match="strength"):
        DenoiseOptions(strength=1.0)
    with pytest.raises(ValueError, match="tolerance"):
        DenoiseOptions(tolerance=0.0)
    with pytest.raises(ValueError, match="preset"):
        DenoiseOptions(preset="slow")
    with pytest.raises(ValueError, match="uint8"):
        InputDenoiser()(np.zeros((8, 8, 3), np.float32))


def test_the_frames_detail_comes_from_the_frames_given_as_detail() -> None:
    """``Stylizer(images, detail=...)``: the network paints ``images`` and adds the fine detail of ``detail``, as
    the network's own ``forward(x, detail_from)`` does — the same frames give the same output, other frames another;
    without a detail strength nothing changes (frames run side by side and in one pass alike)."""
    frames = real_frames("carphone.mp4", 4)
    other = np.ascontiguousarray(np.resize(real_frames("bikes.mp4", 4, start=40), frames.shape))
    plain = Stylizer(StyleNet(**TINY).eval(), "cpu")
    detailed = Stylizer(StyleNet(**TINY, frame_detail=2.0).eval(), "cpu")
    detailed.model.load_state_dict(plain.model.state_dict())
    for stylizer in (plain, detailed):
        np.testing.assert_array_equal(stylizer(frames, detail=frames), stylizer(frames))
    np.testing.assert_array_equal(plain(frames, detail=other), plain(frames))
    with_other = detailed(frames, detail=other)
    assert not np.array_equal(with_other, detailed(frames))
    def as_tensor(images: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0

    with torch.inference_mode():
        expected = detailed.model(as_tensor(frames), detail_from=as_tensor(other))
    expected_u8 = (expected * 255.0 + 0.5).permute(0, 2, 3, 1).to(torch.uint8).numpy()
    assert np.abs(with_other.astype(int) - expected_u8).max() <= 1
    with pytest.raises(ValueError, match="detail frames"):
        plain(frames, detail=other[:2])


def test_the_pipeline_denoises_every_output_alike(clip_grainy: Path, tmp_path: Path) -> None:
    torch.manual_seed(0)  # a tiny random network: 0.78-0.93× the flicker with denoising over seeds 0-7, 0.90 at 0
    stylizer = Stylizer(StyleNet(**TINY, frame_detail=1.0).eval(), "cpu")
    plain = render_video(clip_grainy, {"a": (stylizer, tmp_path / "plain.mp4")}, measure_flicker=True)
    denoised = render_video(clip_grainy, {"a": (stylizer, tmp_path / "a.mp4"), "b": (stylizer, tmp_path / "b.mp4")},
                            measure_flicker=True, denoise=DenoiseOptions())
    assert denoised.mean_warping_error()["a"] < 0.95 * plain.mean_warping_error()["a"]
    assert denoised.warping_errors["a"] == denoised.warping_errors["b"]
    sequential = render_video(clip_grainy, {"a": (stylizer, None)}, measure_flicker=True, denoise=DenoiseOptions(),
                              overlap=False)
    assert sequential.warping_errors["a"] == denoised.warping_errors["a"]  # in frame order either way
    assert "denoise" in denoised.stage_seconds and "denoise" not in plain.stage_seconds
    with VideoReader(tmp_path / "plain.mp4") as a, VideoReader(tmp_path / "a.mp4") as b:
        assert a.info.num_frames == b.info.num_frames == 24


def test_the_command_line_denoises_on_request(clip_grainy: Path, tmp_path: Path, tiny_checkpoints: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    style = next(p for p in tiny_checkpoints.iterdir() if p.is_dir()).name
    for flags, name in (([], "plain.mp4"), (["--denoise"], "denoised.mp4")):
        code = cli_main(["stylize", str(clip_grainy), "--style", style, "-o", str(tmp_path / name), "--flicker",
                         "-q", *flags])
        assert code == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("wrote")]
    plain, denoised = (float(line.rsplit("warping error ", 1)[1]) for line in lines)
    assert denoised < plain

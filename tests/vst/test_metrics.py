"""Warping error (Lai et al. 2018): known answers on synthetic clips."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from skimage.data import astronaut, coffee

from vst.metrics import WarpingErrorMeter, pair_warping_error, warping_errors

H, W = 64, 96


def texture(h: int, w: int, *, seed: int, sigma: float = 2.0) -> np.ndarray:
    """``(h, w, 3)`` uint8 smoothed colour noise spanning [0, 255]."""
    noise = np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigma)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (noise * 255).round().astype(np.uint8)


def translating_clip(n: int, velocity: tuple[float, float] = (1.5, 0.7), *, seed: int = 3) -> list[np.ndarray]:
    """``n`` H×W uint8 views of a large texture whose window moves by ``velocity`` (sub-pixel) px per frame."""
    big = texture(200, 300, seed=seed)
    frames = []
    for t in range(n):
        m = np.float32([[1, 0, 60 + velocity[0] * t], [0, 1, 40 + velocity[1] * t]])
        frames.append(cv2.warpAffine(big, m, (W, H), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP))
    return frames


@pytest.fixture(scope="module")
def moving() -> list[np.ndarray]:
    return translating_clip(5)


def noisy(frames: list[np.ndarray], sigma: float, seed: int = 0) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [np.clip(f / 255.0 + rng.normal(0.0, sigma, f.shape), 0, 1).astype(np.float32) for f in frames]


def test_static_clip_has_zero_error():
    frame = texture(H, W, seed=1)
    clip = [frame] * 4
    errors = warping_errors(clip, clip)
    assert errors.shape == (3,)
    assert np.all(errors < 1e-6)
    assert np.all(warping_errors(clip, [f / 255.0 for f in clip]) < 1e-6)


@pytest.mark.parametrize("static", [True, False], ids=["static", "moving"])
def test_error_grows_with_per_frame_noise(moving, static):
    clip = [texture(H, W, seed=1)] * 4 if static else moving
    means = [float(np.nanmean(warping_errors(clip, noisy(clip, sigma)))) for sigma in (0.02, 0.05, 0.1)]
    assert means[0] < means[1] < means[2]
    if static:  # independent noise on both frames, no interpolation: E ≈ 2σ²
        np.testing.assert_allclose(means, [2 * 0.02**2, 2 * 0.05**2, 2 * 0.1**2], rtol=0.15)


def test_pointwise_stylization_of_translating_clip_is_steady(moving):
    inverted = [255 - f for f in moving]
    errors = warping_errors(moving, inverted)
    noise_floor = float(np.nanmean(warping_errors(moving, noisy(moving, 0.02))))
    assert np.all(np.isfinite(errors))
    assert errors.max() < 2e-4
    assert errors.max() < 0.25 * noise_floor
    for preset in ("ultrafast", "fast"):
        assert warping_errors(moving, inverted, preset=preset).max() < 2e-4
    assert warping_errors(moving, inverted, motion_boundaries=False).max() < 2e-4


def test_downscaled_flow_and_larger_outputs(moving):
    """Flow at 32×48, outputs at twice the input's size: the flow is upsampled and its vectors doubled."""
    outputs = [cv2.resize(255 - f, (2 * W, 2 * H), interpolation=cv2.INTER_LINEAR) for f in moving]
    errors = warping_errors(moving, outputs, flow_max_side=48)
    assert errors.max() < 2e-4
    shuffled = warping_errors(moving, outputs[::-1], flow_max_side=48)  # wrong motion: clearly worse
    assert np.nanmin(shuffled) > 10 * errors.max()


def test_scene_cut_is_nan_and_excluded():
    scene_a = cv2.resize(astronaut(), (W + 20, H + 20), interpolation=cv2.INTER_AREA)
    scene_b = cv2.resize(coffee(), (W, H), interpolation=cv2.INTER_AREA)
    clip = [np.ascontiguousarray(scene_a[10 - t:10 - t + H, 10 + t:10 + t + W]) for t in range(3)] + [scene_b] * 2
    outputs = [255 - f for f in clip]
    errors = warping_errors(clip, outputs)
    assert errors.shape == (4,)
    assert np.isnan(errors[2]) and np.all(np.isfinite(np.delete(errors, 2)))
    assert math.isnan(pair_warping_error(clip[2], clip[3], outputs[2], outputs[3]))

    meter = WarpingErrorMeter()
    for frame, out in zip(clip, outputs):
        meter.update(frame, {"out": out})
    assert len(meter.errors["out"]) == 4 and math.isnan(meter.errors["out"][2])
    assert meter.mean()["out"] == pytest.approx(float(np.mean(np.delete(errors, 2))))
    assert math.isfinite(meter.mean()["out"])

    # everything a cut: the mean is NaN, without warnings
    only_cut = WarpingErrorMeter()
    only_cut.update(clip[2], {"out": outputs[2]})
    only_cut.update(clip[3], {"out": outputs[3]})
    assert math.isnan(only_cut.mean()["out"])


def test_meter_with_two_outputs_matches_pair_function(moving):
    outputs = {"temporal": [255 - f for f in moving], "framewise": noisy(moving, 0.05)}
    meter = WarpingErrorMeter(flow_max_side=64)
    results = [meter.update(frame, {name: outs[i] for name, outs in outputs.items()}) for i, frame in enumerate(moving)]
    assert results[0] is None
    for name, outs in outputs.items():
        expected = [pair_warping_error(moving[i], moving[i + 1], outs[i], outs[i + 1], flow_max_side=64)
                    for i in range(len(moving) - 1)]
        assert meter.errors[name] == pytest.approx(expected, rel=1e-6)
        assert [r[name] for r in results[1:]] == meter.errors[name]
        assert meter.mean()[name] == pytest.approx(float(np.mean(expected)))
    assert meter.mean()["temporal"] < meter.mean()["framewise"]


def test_meter_rejects_inconsistent_inputs(moving):
    meter = WarpingErrorMeter()
    meter.update(moving[0], {"a": moving[0]})
    with pytest.raises(ValueError, match="names"):
        meter.update(moving[1], {"b": moving[1]})
    with pytest.raises(ValueError):
        warping_errors(moving, moving[:-1])

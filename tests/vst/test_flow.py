"""Optical flow, warping and Ruder et al.'s reliability masks, checked against known answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import cv2
import numpy as np
import pytest
import torch
from skimage.data import astronaut

from vst.flow import (
    PRESETS,
    compute_flow,
    consistency_weights,
    flow_pair,
    motion_boundary_mask,
    occlusion_mask,
    warp,
    warp_torch,
)

SHIFT = (3, -2)  # (dx, dy): content moves 3 px right and 2 px up


def texture(h: int, w: int, *, seed: int, sigma: float = 1.5) -> np.ndarray:
    """``(h, w, 3)`` uint8 smoothed colour noise spanning [0, 255]."""
    noise = np.random.default_rng(seed).random((h, w, 3)).astype(np.float32)
    noise = cv2.GaussianBlur(noise, (0, 0), sigma)
    noise = (noise - noise.min()) / (noise.max() - noise.min())
    return (noise * 255).round().astype(np.uint8)


@pytest.fixture(scope="module")
def shifted_pair() -> tuple[np.ndarray, np.ndarray]:
    """Two 96×128 astronaut crops with ``b(x + SHIFT) = a(x)``: the flow a → b is SHIFT everywhere."""
    image = astronaut()
    y0, x0, h, w = 100, 200, 96, 128
    dx, dy = SHIFT
    a = image[y0:y0 + h, x0:x0 + w]
    b = image[y0 - dy:y0 - dy + h, x0 - dx:x0 - dx + w]
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


def interior(x: np.ndarray, margin: int = 8) -> np.ndarray:
    return x[margin:-margin, margin:-margin]


# ----------------------------------------------------------------------------------------------------------- flow


@pytest.mark.parametrize("preset", list(PRESETS))
def test_compute_flow_recovers_known_shift(shifted_pair, preset):
    a, b = shifted_pair
    flow = compute_flow(a, b, preset)
    assert flow.shape == (*a.shape[:2], 2) and flow.dtype == np.float32
    median = np.median(interior(flow).reshape(-1, 2), axis=0)
    np.testing.assert_allclose(median, SHIFT, atol=0.25)


def test_flow_pair_gives_both_directions(shifted_pair):
    a, b = shifted_pair
    forward, backward = flow_pair(a, b)
    np.testing.assert_allclose(np.median(interior(forward).reshape(-1, 2), axis=0), SHIFT, atol=0.25)
    np.testing.assert_allclose(np.median(interior(backward).reshape(-1, 2), axis=0), [-s for s in SHIFT], atol=0.25)


def test_compute_flow_input_forms(shifted_pair):
    a, b = shifted_pair
    rgb = compute_flow(a, b, "fast")
    gray = compute_flow(cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY), "fast")
    np.testing.assert_array_equal(rgb, gray)
    as_float = compute_flow(a / 255.0, b / 255.0, "fast")
    np.testing.assert_allclose(as_float, rgb, atol=1e-4)
    with ThreadPoolExecutor(2) as pool:  # one DIS object per thread
        for flow in pool.map(lambda _: compute_flow(a, b, "fast"), range(4)):
            np.testing.assert_array_equal(flow, rgb)
    with pytest.raises(ValueError, match="preset"):
        compute_flow(a, b, "slow")
    with pytest.raises(ValueError, match="size"):
        compute_flow(a, b[:-1])


def test_a_flow_depends_only_on_its_frames_not_on_the_sizes_before(shifted_pair):
    """OpenCV's DIS keeps state from the frame sizes it has seen: a thread that first computed a smaller pair got a
    flow up to half a pixel off on the next one. Each size gets its own object, so the flow is the same either way."""
    a, b = shifted_pair
    small_a, small_b = np.ascontiguousarray(a[:40, :48]), np.ascontiguousarray(b[:40, :48])

    def after_small() -> np.ndarray:
        compute_flow(small_a, small_b, "fast")
        return compute_flow(a, b, "fast")

    with ThreadPoolExecutor(1) as pool:
        fresh = pool.submit(compute_flow, a, b, "fast").result()
    with ThreadPoolExecutor(1) as pool:
        np.testing.assert_array_equal(pool.submit(after_small).result(), fresh)


# ----------------------------------------------------------------------------------------------------------- warp


def test_small_and_narrow_frames_get_a_flow_instead_of_a_crash(tmp_path):
    """OpenCV's DIS raises on frames under 8 pixels a side and crashes the process (a segmentation fault) on frames
    under 32 pixels high and 40 or more wide; the pipeline accepts frames from 8×8 up, and the smoothing and the
    denoising run on half-size grids. Each size runs in a child process, so a crash fails this test, not the suite;
    a strip of a video (96×10) goes through the whole pipeline with the flicker meter, smoothing and denoising."""
    import subprocess
    import sys

    from tests.support.clips import make_clip_of

    clip = make_clip_of(tmp_path / "strip.mp4", np.random.default_rng(0).integers(0, 256, (6, 10, 96, 3), np.uint8))
    code = f"""
import numpy as np
from vst.flow import PRESETS, compute_flow
from vst.denoise import DenoiseOptions
from vst.model import StyleNet
from vst.pipeline import Stylizer, render_video
from vst.smoothing import SmoothingOptions
from tests.support.model_fixtures import TINY
rng = np.random.default_rng(0)
for preset in PRESETS:
    for h, w in [(1, 1), (8, 8), (8, 40), (10, 64), (15, 40), (31, 480), (12, 2000), (40, 12), (480, 31)]:
        for a in (rng.integers(0, 256, (h, w), dtype=np.uint8),):
            assert compute_flow(a, np.roll(a, 1, axis=1), preset).shape == (h, w, 2)
stylizer = Stylizer(StyleNet(**TINY).eval(), "cpu")
result = render_video({str(clip)!r}, {{"out": (stylizer, None)}}, measure_flicker=True,
                      smoothing={{"out": SmoothingOptions()}}, denoise=DenoiseOptions())
assert result.frames == 6, result.frames
print("ok")
"""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), (done.returncode, done.stderr[-2000:])


def test_warp_with_known_flow_reproduces_original(shifted_pair):
    a, b = shifted_pair
    flow = np.broadcast_to(np.float32(SHIFT), (*a.shape[:2], 2))
    back = warp(b, flow)
    assert back.dtype == np.uint8 and back.shape == a.shape
    np.testing.assert_array_equal(interior(back), interior(a))
    back_float = warp(b / 255.0, flow)
    assert back_float.dtype == np.float32
    np.testing.assert_allclose(interior(back_float), interior(a) / 255.0, atol=1e-6)


def test_warp_subpixel_is_bilinear_and_keeps_shape():
    h, w = 16, 24
    ramp = np.tile(np.arange(w, dtype=np.float32), (h, 1))  # bilinear interpolation of a ramp is exact
    flow = np.zeros((h, w, 2), np.float32)
    flow[..., 0], flow[..., 1] = 0.3, -0.7
    out = warp(ramp, flow)
    assert out.shape == (h, w)
    np.testing.assert_allclose(out[:, :-1], ramp[:, :-1] + 0.3, atol=1e-5)
    np.testing.assert_allclose(out[:, -1], w - 1, atol=1e-6)  # border replicated
    assert warp(ramp[..., None], flow).shape == (h, w, 1)
    assert warp(np.repeat(ramp[..., None], 5, axis=2), flow).shape == (h, w, 5)
    with pytest.raises(ValueError):
        warp(ramp, flow[:-1])


@pytest.mark.parametrize("channels", [1, 2, 3, 5])
def test_warp_torch_agrees_with_warp(channels):
    """Exact bilinear both ways, for every channel count (a flow's 2 channels included)."""
    rng = np.random.default_rng(channels)
    h, w = 40, 56
    images = [rng.random((h, w, channels)).astype(np.float32) for _ in range(2)]
    flows = [cv2.GaussianBlur(rng.normal(0, 4, (h, w, 2)).astype(np.float32), (0, 0), 3) * 3 for _ in range(2)]
    flows[1][..., 0] += 10.0  # reaches past the right border: replicate padding on both sides
    expected = np.stack([warp(im, fl) for im, fl in zip(images, flows)])
    got = warp_torch(
        torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2), torch.from_numpy(np.stack(flows)).permute(0, 3, 1, 2)
    ).permute(0, 2, 3, 1).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_warp_torch_is_differentiable():
    image = torch.rand(2, 3, 12, 16, requires_grad=True)
    flow = (torch.randn(2, 2, 12, 16) * 2).requires_grad_()
    out = warp_torch(image, flow)
    assert out.shape == image.shape
    out.square().sum().backward()
    assert image.grad is not None and torch.isfinite(image.grad).all() and image.grad.abs().sum() > 0
    assert flow.grad is not None and torch.isfinite(flow.grad).all() and flow.grad.abs().sum() > 0
    with pytest.raises(ValueError):
        warp_torch(image, flow[:, :, :-1])


# ----------------------------------------------------------------------------------------------------------- masks
# A foreground square of side S moves D px right over a static background: top-left column C at t, C + D at t + 1.
H, W, S, C, D, TOP = 64, 96, 24, 30, 5, 20


def analytic_flows() -> tuple[np.ndarray, np.ndarray]:
    """Exact ``(forward t → t+1 on t's grid, backward t+1 → t on t+1's grid)`` of the moving square."""
    forward = np.zeros((H, W, 2), np.float32)
    forward[TOP:TOP + S, C:C + S, 0] = D
    backward = np.zeros((H, W, 2), np.float32)
    backward[TOP:TOP + S, C + D:C + D + S, 0] = -D
    return forward, backward


def region(x0: int, x1: int, y0: int = TOP, y1: int = TOP + S, shape: tuple[int, int] = (H, W)) -> np.ndarray:
    mask = np.zeros(shape, bool)
    mask[y0:y1, x0:x1] = True
    return mask


def test_occlusion_mask_flags_disoccluded_strip_exactly():
    forward, backward = analytic_flows()
    occ = occlusion_mask(backward, forward)  # on t+1's grid: the background uncovered behind the square
    assert occ.shape == (H, W) and occ.dtype == bool
    np.testing.assert_array_equal(occ, region(C, C + D))
    occ_t = occlusion_mask(forward, backward)  # on t's grid: the background the square is about to cover
    np.testing.assert_array_equal(occ_t, region(C + S, C + S + D))


def test_occlusion_mask_flags_flow_leaving_the_frame():
    flow = np.zeros((H, W, 2), np.float32)
    flow[..., 0] = 3.0
    occ = occlusion_mask(flow, -flow)
    np.testing.assert_array_equal(occ, region(W - 3, W, 0, H))


def test_motion_boundary_mask_flags_square_edges_only():
    _, backward = analytic_flows()
    mb = motion_boundary_mask(backward)
    x0, x1, y0, y1 = C + D, C + D + S, TOP, TOP + S  # the square at t + 1
    assert mb.shape == (H, W) and mb.dtype == bool
    # central differences: the pixel on each side of every edge
    assert mb[y0 + 2:y1 - 2, [x0 - 1, x0, x1 - 1, x1]].all()
    assert mb[[y0 - 1, y0, y1 - 1, y1], x0 + 2:x1 - 2].all()
    assert not mb[y0 + 1:y1 - 1, x0 + 1:x1 - 1].any()  # flat interior
    band = region(x0 - 1, x1 + 1, y0 - 1, y1 + 1)
    assert not mb[~band].any()  # static background
    assert not motion_boundary_mask(np.full((H, W, 2), 7.0, np.float32)).any()  # uniform motion


def test_consistency_weights_combine_both_masks():
    forward, backward = analytic_flows()
    weights = consistency_weights(backward, forward)
    assert weights.dtype == np.float32 and weights.shape == (H, W)
    expected = ~(occlusion_mask(backward, forward) | motion_boundary_mask(backward))
    np.testing.assert_array_equal(weights, expected.astype(np.float32))
    assert (weights[region(C, C + D)] == 0).all()
    assert weights[0:TOP - 2].min() == 1.0


def test_occlusion_mask_with_dis_flows():
    """Tolerant: DIS blurs motion edges, but most of the uncovered strip is caught and the far background is clean."""
    h, w, s, c, d, top = 96, 128, 32, 40, 6, 32
    background, square = texture(h, w, seed=1), texture(s, s, seed=2)

    def render(left: int) -> np.ndarray:
        frame = background.copy()
        frame[top:top + s, left:left + s] = square
        return frame

    forward, backward = flow_pair(render(c), render(c + d), "medium")
    occ = occlusion_mask(backward, forward)
    strip = region(c, c + d, top, top + s, (h, w))
    near = region(c - 6, c + d + s + 6, top - 6, top + s + 6, (h, w))
    assert occ[strip].mean() >= 0.5
    assert occ[~near].mean() <= 0.02


def ruder_occlusion_reference(flow: np.ndarray, flow_back: np.ndarray) -> np.ndarray:
    """Pixel loop transcribing Ruder et al.'s ``consistencyChecker`` occlusion test (with our half-pixel frame slack)."""
    h, w = flow.shape[:2]
    occluded = np.zeros((h, w), bool)
    for y in range(h):
        for x in range(w):
            u2, v2 = (float(c) for c in flow[y, x])
            bx, by = x + u2, y + v2
            if bx < -0.5 or bx > w - 0.5 or by < -0.5 or by > h - 0.5:
                occluded[y, x] = True
                continue
            x1, y1 = int(np.floor(bx)), int(np.floor(by))
            ax, ay = bx - x1, by - y1
            xs = [min(max(i, 0), w - 1) for i in (x1, x1 + 1)]
            ys = [min(max(i, 0), h - 1) for i in (y1, y1 + 1)]
            top = (1 - ax) * flow_back[ys[0], xs[0]] + ax * flow_back[ys[0], xs[1]]
            bottom = (1 - ax) * flow_back[ys[1], xs[0]] + ax * flow_back[ys[1], xs[1]]
            u, v = (1 - ay) * top + ay * bottom
            cx, cy = bx + u, by + v
            occluded[y, x] = (cx - x) ** 2 + (cy - y) ** 2 > 0.01 * (u2 * u2 + v2 * v2 + u * u + v * v) + 0.5
    return occluded


def test_occlusion_mask_matches_pixel_loop_reference():
    rng = np.random.default_rng(0)
    h, w = 24, 32
    flow = cv2.GaussianBlur(rng.normal(0, 3, (h, w, 2)).astype(np.float32), (0, 0), 2) * 4
    flow_back = -flow + cv2.GaussianBlur(rng.normal(0, 1, (h, w, 2)).astype(np.float32), (0, 0), 1) * 2
    expected = ruder_occlusion_reference(flow, flow_back)
    assert 0.1 < expected.mean() < 0.95  # a mix of both outcomes
    np.testing.assert_array_equal(occlusion_mask(flow, flow_back), expected)

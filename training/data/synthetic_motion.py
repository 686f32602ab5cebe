"""Synthetic camera motion with exactly known flow: two nearby homographies of one photo plus moving occluders.

:func:`make_synthetic_pair` renders frames t and t+1 and returns the exact backward flow ``t+1 → t`` and the weights
that mask occlusions, disocclusions and motion boundaries; nothing is estimated.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from ..registry import DataError


@dataclass
class SyntheticPair:
    """A synthetic pair on grids of ``(H, W)``.

    ``frame_t``, ``frame_t1``: ``(H, W, 3)`` uint8 RGB. ``flow_back``: ``(H, W, 2)`` float32, the exact flow
    ``t+1 → t`` on t+1's grid. ``weights``: ``(H, W)`` float32 0/1. ``layers_t``, ``layers_t1``: ``(H, W)`` int8,
    0 for the photo, ``k`` for occluder ``k`` (the top-most one). ``occluder_shifts``: each occluder's ``(dx, dy)``
    translation from t to t+1, in pixels.
    """

    frame_t: np.ndarray
    frame_t1: np.ndarray
    flow_back: np.ndarray
    weights: np.ndarray
    layers_t: np.ndarray
    layers_t1: np.ndarray
    occluder_shifts: list[tuple[int, int]]


def _translate(dx: float, dy: float) -> np.ndarray:
    return np.array([[1.0, 0.0, dx], [0.0, 1.0, dy], [0.0, 0.0, 1.0]])


def _rot_scale_persp(angle_deg: float, scale: float, gx: float = 0.0, gy: float = 0.0) -> np.ndarray:
    a = math.radians(angle_deg)
    c, s = scale * math.cos(a), scale * math.sin(a)
    return np.array([[c, -s, 0.0], [s, c, 0.0], [gx, gy, 1.0]])


def _apply(h: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Map points ``(x, y)`` (same-shape arrays) through the homography ``h``."""
    w = h[2, 0] * x + h[2, 1] * y + h[2, 2]
    return (h[0, 0] * x + h[0, 1] * y + h[0, 2]) / w, (h[1, 0] * x + h[1, 1] * y + h[1, 2]) / w


def _frame_inside(h: np.ndarray, frame_hw: tuple[int, int], photo_hw: tuple[int, int]) -> bool:
    """Whether the whole frame ``(H, W)`` seen through ``h`` (photo → frame) lies inside the photo, 1 px margin."""
    fh, fw = frame_hw
    ph, pw = photo_hw
    cx = np.array([-0.5, fw - 0.5, fw - 0.5, -0.5])
    cy = np.array([-0.5, -0.5, fh - 0.5, fh - 0.5])
    hinv = np.linalg.inv(h)
    if np.any(hinv[2, 0] * cx + hinv[2, 1] * cy + hinv[2, 2] <= 0):
        return False
    px, py = _apply(hinv, cx, cy)
    return bool(np.all((px >= 1) & (px <= pw - 2) & (py >= 1) & (py <= ph - 2)))


def fit_photo(photo: np.ndarray, frame_hw: tuple[int, int], margin: float = 1.3) -> np.ndarray:
    """Resize ``photo`` so that the frame spans at most ``1 / margin`` of it along each axis (area when shrinking)."""
    fh, fw = frame_hw
    ph, pw = photo.shape[:2]
    s = margin * max(fh / ph, fw / pw)
    size = (max(fw + 4, round(pw * s)), max(fh + 4, round(ph * s)))
    return cv2.resize(photo, size, interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_CUBIC)


def _random_homographies(
    rng: np.random.Generator, frame_hw: tuple[int, int], photo_hw: tuple[int, int], attempts: int = 200
) -> tuple[np.ndarray, np.ndarray]:
    """Two nearby photo → frame homographies ``H1`` (view at t), ``H2`` (view at t+1), both frames inside the photo.

    ``H1``: random centre, rotation ±6°, zoom 1–1.25, perspective ±5 %. ``H2 = M·H1`` with a small camera motion ``M``
    about the frame centre: rotation ±1.5°, scale ±3 %, translation ±3 % of the width, perspective ±1 %.
    """
    fh, fw = frame_hw
    ph, pw = photo_hw
    centre = _translate((fw - 1) / 2, (fh - 1) / 2)
    half = max(fw, fh) / 2
    for _ in range(attempts):
        cp = (rng.uniform(0, pw - 1), rng.uniform(0, ph - 1))
        view = _rot_scale_persp(rng.uniform(-6, 6), rng.uniform(1.0, 1.25), *(rng.uniform(-0.05, 0.05, 2) / half))
        h1 = centre @ view @ _translate(-cp[0], -cp[1])
        motion = _translate(*(rng.uniform(-0.03, 0.03, 2) * fw)) @ _rot_scale_persp(
            rng.uniform(-1.5, 1.5), 1.0 + rng.uniform(-0.03, 0.03), *(rng.uniform(-0.01, 0.01, 2) / half))
        h2 = centre @ motion @ np.linalg.inv(centre) @ h1
        if _frame_inside(h1, frame_hw, photo_hw) and _frame_inside(h2, frame_hw, photo_hw):
            return h1 / h1[2, 2], h2 / h2[2, 2]
    raise DataError(f"found no view of a {pw}×{ph} photo that holds a {fw}×{fh} frame in {attempts} attempts")


def _occluder(
    rng: np.random.Generator, texture_photo: np.ndarray, frame_hw: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """A textured occluder: an ``(h, w, 3)`` patch of ``texture_photo`` and its ``(h, w)`` bool shape (ellipse/box)."""
    fh, fw = frame_hw
    oh = int(rng.integers(max(2, round(0.2 * fh)), max(3, round(0.45 * fh)) + 1))
    ow = int(rng.integers(max(2, round(0.2 * fw)), max(3, round(0.45 * fw)) + 1))
    ph, pw = texture_photo.shape[:2]
    top, left = int(rng.integers(0, ph - oh + 1)), int(rng.integers(0, pw - ow + 1))
    patch = texture_photo[top : top + oh, left : left + ow]
    if rng.random() < 0.5:
        yy, xx = np.mgrid[0:oh, 0:ow]
        shape = ((yy - (oh - 1) / 2) / (oh / 2)) ** 2 + ((xx - (ow - 1) / 2) / (ow / 2)) ** 2 <= 1.0
    else:
        shape = np.ones((oh, ow), bool)
    return patch, shape


def _paste(frame: np.ndarray, layers: np.ndarray, patch: np.ndarray, shape: np.ndarray, top: int, left: int,
           label: int) -> None:  # fmt: skip
    """Draw ``patch`` where ``shape`` is true with its top-left corner at ``(top, left)`` (clipped to the frame)."""
    fh, fw = layers.shape
    oh, ow = shape.shape
    y0, y1, x0, x1 = max(top, 0), min(top + oh, fh), max(left, 0), min(left + ow, fw)
    if y0 >= y1 or x0 >= x1:
        return
    sub = shape[y0 - top : y1 - top, x0 - left : x1 - left]
    frame[y0:y1, x0:x1][sub] = patch[y0 - top : y1 - top, x0 - left : x1 - left][sub]
    layers[y0:y1, x0:x1][sub] = label


def make_synthetic_pair(
    photo: np.ndarray,
    frame_hw: tuple[int, int],
    rng: np.random.Generator,
    *,
    textures: Sequence[np.ndarray] = (),
) -> SyntheticPair:
    """Two frames of a virtual camera moving over ``photo``, 1–2 moving occluders on top, and the exact flow.

    Args:
        photo: ``(Hp, Wp, 3)`` uint8 RGB, already large enough for the frame (see :func:`fit_photo`); any
            ``(Hp, Wp, C)`` float32 image works too (the tests use a map of its own pixel coordinates).
        frame_hw: ``(H, W)`` of the frames.
        rng: the only source of randomness (same state → same pair).
        textures: ``(h, w, 3)`` uint8 images to cut the occluders from (``photo`` itself when empty).

    The photo is seen through homographies ``H1`` (frame t) and ``H2`` (frame t+1), so a photo pixel of t+1 at ``y``
    came from ``H1·H2⁻¹·y`` in t: ``flow_back(y) = H1·H2⁻¹·y − y``. Occluder ``k`` moves by an integer ``d_k``, so on
    its pixels ``flow_back = −d_k``. ``weights`` is 0 where the source point lies outside frame t or outside the
    photo, where any of its bilinear neighbours in t belongs to another layer (occlusion and disocclusion), and on
    layer boundaries of t+1 (motion boundaries); 1 elsewhere.
    """
    fh, fw = frame_hw
    ph, pw = photo.shape[:2]
    h1, h2 = _random_homographies(rng, frame_hw, (ph, pw))
    frame_t = cv2.warpPerspective(photo, h1, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    frame_t1 = cv2.warpPerspective(photo, h2, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
    layers_t = np.zeros((fh, fw), np.int8)
    layers_t1 = np.zeros((fh, fw), np.int8)

    shifts: list[tuple[int, int]] = []
    max_shift = max(2, round(0.03 * fw))
    for label in range(1, int(rng.integers(1, 3)) + 1):
        source = textures[int(rng.integers(len(textures)))] if textures else photo
        patch, shape = _occluder(rng, source, frame_hw)
        oh, ow = shape.shape
        top = int(rng.integers(-oh // 2, fh - oh // 2))
        left = int(rng.integers(-ow // 2, fw - ow // 2))
        while True:
            dx, dy = (int(v) for v in rng.integers(-max_shift, max_shift + 1, 2))
            if max(abs(dx), abs(dy)) >= 2:
                break
        _paste(frame_t, layers_t, patch, shape, top, left, label)
        _paste(frame_t1, layers_t1, patch, shape, top + dy, left + dx, label)
        shifts.append((dx, dy))

    ys, xs = np.mgrid[0:fh, 0:fw].astype(np.float64)
    sx, sy = _apply(h1 @ np.linalg.inv(h2), xs, ys)
    px, py = _apply(np.linalg.inv(h2), xs, ys)
    in_photo = (px >= 0) & (px <= pw - 1) & (py >= 0) & (py <= ph - 1)
    for label, (dx, dy) in enumerate(shifts, start=1):
        on = layers_t1 == label
        sx[on], sy[on] = xs[on] - dx, ys[on] - dy
        in_photo[on] = True
    flow_back = np.stack([sx - xs, sy - ys], axis=-1).astype(np.float32)

    inside = (sx >= 0) & (sx <= fw - 1) & (sy >= 0) & (sy <= fh - 1)
    cx, cy = np.clip(sx, 0, fw - 1), np.clip(sy, 0, fh - 1)
    same = np.ones((fh, fw), bool)
    for yy in (np.floor(cy), np.ceil(cy)):
        for xx in (np.floor(cx), np.ceil(cx)):
            same &= layers_t[yy.astype(np.intp), xx.astype(np.intp)] == layers_t1
    padded = np.pad(layers_t1, 1, mode="edge")
    boundary = np.zeros((fh, fw), bool)
    for oy in (0, 1, 2):
        for ox in (0, 1, 2):
            boundary |= padded[oy : oy + fh, ox : ox + fw] != layers_t1
    weights = (inside & same & in_photo & ~boundary).astype(np.float32)
    return SyntheticPair(frame_t, frame_t1, flow_back, weights, layers_t, layers_t1, shifts)

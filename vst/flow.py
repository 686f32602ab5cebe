"""Optical flow, warping and flow-reliability masks.

A flow is a ``(H, W, 2)`` float32 array, ``[..., 0] = dx`` and ``[..., 1] = dy`` in pixels, defined on the grid of the
frame it starts from: the flow ``a → b`` satisfies ``a(x) ≈ b(x + flow(x))``. Warping is backward warping with that
same flow, ``warp(b, flow_a→b) ≈ a``.

The reliability masks follow Ruder et al. 2016 ("Artistic style transfer for videos", their ``consistencyChecker``).
For frames ``t`` and ``t+1``, with ``ŵ`` the flow ``t+1 → t`` (on ``t+1``'s grid, the grid we want weights on) and
``w`` the flow ``t → t+1``, let ``w̃(x) = w(x + ŵ(x))`` (i.e. ``warp(w, ŵ)``). Then

* a pixel is *occluded* where ``|w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5`` (forward-backward check), or where
  ``x + ŵ(x)`` falls outside the frame (as in their checker, but with half a pixel of slack past the border pixels'
  centres, so that the near-zero flow of a static border does not flag it at random);
* a pixel is on a *motion boundary* where ``|∇û|² + |∇v̂|² > 0.01 |ŵ|² + 0.002``, with ``ŵ = (û, v̂)`` and
  central differences ``(f[i+1] - f[i-1]) / 2`` (edge-replicated at the border).

In the functions below ``flow`` plays ``ŵ``'s role and ``flow_back`` plays ``w``'s.
"""

from __future__ import annotations

import threading

import cv2
import numpy as np
import torch
import torch.nn.functional as F

#: DIS presets by name (Kroeger et al. 2016, OpenCV's ``DISOpticalFlow``): quality rises, speed falls, down the list.
PRESETS: dict[str, int] = {
    "ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
    "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
    "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM,
}

#: Frames narrower or lower than this are padded (border replicated) before OpenCV's DIS, and the flow cropped back:
#: on smaller ones DIS raises, or crashes the whole process (a segmentation fault in OpenCV 5.0: ``ultrafast`` on
#: frames under 32 pixels high and at least 40 wide, ``medium`` under 16 high; ``tests/vst/test_flow.py``).
DIS_MIN_SIDE = 32

_local = threading.local()


def _dis(preset: str, shape: tuple[int, int]) -> cv2.DISOpticalFlow:
    """This thread's DIS object for ``preset`` and frames of ``shape`` (the objects are not thread-safe).

    One object serves one frame size: OpenCV's DIS keeps state from the sizes it has seen (an object that first
    computed a flow on smaller frames gives a different flow on larger ones, by up to half a pixel), so an object is
    made anew when the size changes, and every flow depends only on its two frames."""
    if preset not in PRESETS:
        raise ValueError(f"unknown optical flow preset {preset!r}; expected one of {', '.join(PRESETS)}")
    cache: dict[str, tuple[tuple[int, int], cv2.DISOpticalFlow]] | None = getattr(_local, "dis", None)
    if cache is None:
        cache = _local.dis = {}
    if preset not in cache or cache[preset][0] != shape:
        cache[preset] = (shape, cv2.DISOpticalFlow_create(PRESETS[preset]))
    return cache[preset][1]


def to_gray_u8(image: np.ndarray) -> np.ndarray:
    """``(H, W, 3)`` RGB or ``(H, W)`` gray, uint8 or float in [0, 1] → ``(H, W)`` uint8 gray, C-contiguous."""
    if image.dtype != np.uint8:
        image = (np.clip(image, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
    if image.ndim == 3:
        if image.shape[2] != 3:
            raise ValueError(f"expected an (H, W, 3) RGB or (H, W) gray image, got shape {image.shape}")
        image = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY)
    elif image.ndim != 2:
        raise ValueError(f"expected an (H, W, 3) RGB or (H, W) gray image, got shape {image.shape}")
    return np.ascontiguousarray(image)


def compute_flow(src: np.ndarray, dst: np.ndarray, preset: str = "medium") -> np.ndarray:
    """DIS optical flow ``src → dst``.

    Args:
        src, dst: ``(H, W, 3)`` RGB or ``(H, W)`` gray frames of the same size, uint8 (float in [0, 1] is converted).
        preset: ``"ultrafast"``, ``"fast"`` or ``"medium"``.

    Returns:
        ``(H, W, 2)`` float32 flow on ``src``'s grid: ``src(x) ≈ dst(x + flow(x))``.
    """
    a, b = to_gray_u8(src), to_gray_u8(dst)
    if a.shape != b.shape:
        raise ValueError(f"frames differ in size: {a.shape} vs {b.shape}")
    h, w = a.shape
    pad_h, pad_w = max(0, DIS_MIN_SIDE - h), max(0, DIS_MIN_SIDE - w)
    if pad_h or pad_w:  # OpenCV's DIS fails, or crashes the process, on frames this small: pad, then crop the flow
        a, b = (cv2.copyMakeBorder(x, 0, pad_h, 0, pad_w, cv2.BORDER_REPLICATE) for x in (a, b))
    flow = _dis(preset, a.shape).calc(a, b, None)
    return np.ascontiguousarray(flow[:h, :w], dtype=np.float32)


def compute_flow_at_most(src: np.ndarray, dst: np.ndarray, preset: str, max_side: int) -> np.ndarray:
    """:func:`compute_flow` ``src → dst`` on copies of at most ``max_side`` pixels a side (area-downscaled), resized
    back to ``src``'s grid with its vectors rescaled: ``(H, W, 2)`` float32. Frames no larger pass as they are."""
    a, b = to_gray_u8(src), to_gray_u8(dst)
    h, w = a.shape
    scale = min(1.0, max_side / max(h, w))
    if scale == 1.0:
        return compute_flow(a, b, preset)
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    small = compute_flow(cv2.resize(a, size, interpolation=cv2.INTER_AREA),
                         cv2.resize(b, size, interpolation=cv2.INTER_AREA), preset)
    flow = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    flow[..., 0] *= w / size[0]
    flow[..., 1] *= h / size[1]
    return flow


def flow_pair(a: np.ndarray, b: np.ndarray, preset: str = "medium") -> tuple[np.ndarray, np.ndarray]:
    """Forward flow ``a → b`` (on ``a``'s grid) and backward flow ``b → a`` (on ``b``'s grid), each ``(H, W, 2)``."""
    ga, gb = to_gray_u8(a), to_gray_u8(b)
    return compute_flow(ga, gb, preset), compute_flow(gb, ga, preset)


def _remap(src: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """``cv2.remap`` of an ``(H, W)`` or ``(H, W, C<=4)`` image by a relative map, bilinear, border replicated."""
    return cv2.remap(src, flow, None, cv2.INTER_LINEAR | cv2.WARP_RELATIVE_MAP, borderMode=cv2.BORDER_REPLICATE)


def warp(image: np.ndarray, flow: np.ndarray) -> np.ndarray:
    """Backward warping ``out(x) = image(x + flow(x))``: bilinear, border replicated.

    Args:
        image: ``(H, W)`` or ``(H, W, C)``, any number of channels.
        flow: ``(H, W, 2)`` in pixels.

    Returns:
        Same shape as ``image``; uint8 for uint8 input, float32 otherwise.
    """
    if flow.shape != (*image.shape[:2], 2):
        raise ValueError(f"flow of shape {flow.shape} does not match image of shape {image.shape}")
    flow = np.ascontiguousarray(flow, dtype=np.float32)
    src = image if image.dtype == np.uint8 else image.astype(np.float32, copy=False)
    channels = 1 if src.ndim == 2 else src.shape[2]
    if channels in (1, 3, 4):
        return _remap(src, flow).reshape(image.shape)
    # OpenCV 5 interpolates 1-, 3- and 4-channel images at full precision, others (a flow's 2 channels included) at
    # 1/32 px: warp 2-channel pieces padded to 3 channels, wider images 4 channels at a time.
    pieces = []
    for start in range(0, channels, 4):
        piece = src[..., start:start + 4]
        if piece.shape[2] == 2:
            piece = np.concatenate([piece, np.zeros_like(piece[..., :1])], axis=2)
        pieces.append(_remap(np.ascontiguousarray(piece), flow).reshape(*piece.shape))
    return np.concatenate(pieces, axis=2)[..., :channels]


def _base_grid(h: int, w: int, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """``(1, 2, H, W)`` pixel coordinates ``(x, y)``."""
    ys, xs = torch.meshgrid(
        torch.arange(h, device=device, dtype=dtype), torch.arange(w, device=device, dtype=dtype), indexing="ij"
    )
    return torch.stack((xs, ys))[None]


def warp_torch(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Differentiable :func:`warp`: ``out(x) = image(x + flow(x))``, bilinear, border replicated.

    Args:
        image: ``(B, C, H, W)`` float.
        flow: ``(B, 2, H, W)`` in pixels, channel 0 = dx, channel 1 = dy.

    Returns:
        ``(B, C, H, W)``; gradients flow to both ``image`` and ``flow``.
    """
    b, _, h, w = image.shape
    if flow.shape != (b, 2, h, w):
        raise ValueError(f"flow of shape {tuple(flow.shape)} does not match image of shape {tuple(image.shape)}")
    coords = _base_grid(h, w, image.device, image.dtype) + flow.to(image.dtype)
    scale = torch.tensor([2.0 / max(w - 1, 1), 2.0 / max(h - 1, 1)], device=image.device, dtype=image.dtype)
    grid = (coords * scale.view(1, 2, 1, 1) - 1.0).permute(0, 2, 3, 1)
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)


def occlusion_mask(flow: np.ndarray, flow_back: np.ndarray) -> np.ndarray:
    """Forward-backward occlusion check on ``flow``'s grid.

    Args:
        flow: ``(H, W, 2)`` flow ``ŵ`` from this grid to the other frame.
        flow_back: ``(H, W, 2)`` flow ``w`` from the other frame back to this one (on the other frame's grid).

    Returns:
        ``(H, W)`` bool, True where occluded: ``|w̃ + ŵ|² > 0.01 (|w̃|² + |ŵ|²) + 0.5`` with ``w̃ = warp(w, ŵ)``,
        or where ``x + ŵ(x)`` lies outside the frame (more than half a pixel beyond the border pixels' centres).
    """
    h, w = flow.shape[:2]
    fx, fy = flow[..., 0], flow[..., 1]
    back = warp(flow_back, flow)
    bx, by = back[..., 0], back[..., 1]
    mismatch = (fx + bx) ** 2 + (fy + by) ** 2
    occluded = mismatch > 0.01 * (bx**2 + by**2 + fx**2 + fy**2) + 0.5
    tx = fx + np.arange(w, dtype=np.float32)[None, :]
    ty = fy + np.arange(h, dtype=np.float32)[:, None]
    occluded |= (tx < -0.5) | (tx > w - 0.5) | (ty < -0.5) | (ty > h - 0.5)
    return occluded


_CENTRAL_DIFF = np.array([[-0.5, 0.0, 0.5]], np.float32)


def motion_boundary_mask(flow: np.ndarray) -> np.ndarray:
    """Motion boundaries of ``flow`` ``(H, W, 2)``.

    Returns:
        ``(H, W)`` bool, True where ``|∇u|² + |∇v|² > 0.01 |flow|² + 0.002`` (central differences, edge replicated).
    """
    flow = np.ascontiguousarray(flow, dtype=np.float32)
    dx = cv2.filter2D(flow, -1, _CENTRAL_DIFF, borderType=cv2.BORDER_REPLICATE)
    dy = cv2.filter2D(flow, -1, _CENTRAL_DIFF.T, borderType=cv2.BORDER_REPLICATE)
    grad2 = cv2.magnitude(dx[..., 0], dx[..., 1]) ** 2 + cv2.magnitude(dy[..., 0], dy[..., 1]) ** 2
    return grad2 > 0.01 * (flow**2).sum(-1) + 0.002


def consistency_weights(flow: np.ndarray, flow_back: np.ndarray) -> np.ndarray:
    """Ruder et al.'s per-pixel weights on ``flow``'s grid (arguments as in :func:`occlusion_mask`).

    Returns:
        ``(H, W)`` float32: 1 reliable, 0 occluded or on a motion boundary.
    """
    unreliable = occlusion_mask(flow, flow_back) | motion_boundary_mask(flow)
    return (~unreliable).astype(np.float32)

"""Flow-guided denoising of the input frames before the networks: grain that changes from frame to frame is held.

Grain, sensor noise and coding artefacts change from one frame to the next, and a style network paints them — as
strokes that come and go. Each input frame ``F_t`` is pulled towards the previous *denoised* frame ``D_{t-1}``, warped
onto it along the input's optical flow, wherever the two differ by no more than noise::

    D_t = F_t + strength · m · (warp(D_{t-1}) - F_t),   m = exp(-(d / tolerance)²)

``d`` is the largest difference over the three channels between ``F_t`` and ``warp(D_{t-1})`` (in [0, 1]), blurred
by a Gaussian of one pixel: where the scene moved as the flow says, the difference is grain and ``m ≈ 1`` (a
recursive average over time, which keeps edges where they are); where the flow failed, something appeared or the
scene cut, the difference is large, ``m ≈ 0`` and the frame stays as it came. The warp is bicubic: a bilinear one
would blur what it holds a little more every frame. The flow is DIS (``"ultrafast"``) from ``F_t`` to ``F_{t-1}``
(the raw previous frame: grain does not mislead DIS), at most :data:`FLOW_MAX_SIDE` pixels a side.

The networks see ``D_t``; the frame's own fine detail (:mod:`vst.detail`) is still taken from ``F_t``
(:meth:`vst.pipeline.Stylizer.__call__`'s ``detail``), so the edges stay as sharp as the input's. On grainy footage
the networks flicker markedly less this way (``benchmarks/denoise.py``); a clean clip passes almost unchanged.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass

import cv2
import numpy as np

from .flow import PRESETS, compute_flow_at_most, to_gray_u8
from .video import FrameBatch

#: Longest side the flow is computed at (larger frames are downscaled for the flow, which is resized back).
FLOW_MAX_SIDE = 480


@dataclass(frozen=True)
class DenoiseOptions:
    """How strongly :class:`InputDenoiser` holds the previous denoised frame.

    Attributes:
        strength: share of the warped previous frame taken where the difference is noise, in [0, 1).
        tolerance: the difference (in [0, 1], the largest over the channels) counted as more than noise
            (``m = e⁻¹``).
        preset: DIS preset of the flow (:data:`vst.flow.PRESETS`).
    """

    strength: float = 0.7
    tolerance: float = 0.06
    preset: str = "ultrafast"

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength < 1.0:
            raise ValueError(f"strength must be in [0, 1), not {self.strength}")
        if self.tolerance <= 0:
            raise ValueError(f"tolerance must be positive, not {self.tolerance}")
        if self.preset not in PRESETS:
            raise ValueError(f"unknown optical flow preset {self.preset!r}; expected one of {', '.join(PRESETS)}")


class InputDenoiser:
    """Denoises one video's input frames, fed in order (module docstring); one instance per video.

    >>> denoiser = InputDenoiser()
    >>> network_inputs = [denoiser(frame) for frame in frames]  # doctest: +SKIP
    """

    def __init__(self, options: DenoiseOptions | None = None) -> None:
        self.options = options or DenoiseOptions()
        self._previous: np.ndarray | None = None  # (H, W, 3) uint8: the previous denoised frame
        self._previous_gray: np.ndarray | None = None  # (H, W) uint8: the previous raw frame's brightness
        # strength · exp(-(d / tolerance)²) for each difference d = 0 … 255 (in levels of 1/255)
        levels = np.arange(256, dtype=np.float32) / (255.0 * self.options.tolerance)
        self._held_table = (self.options.strength * np.exp(-np.square(levels))).astype(np.float32)

    def reset(self) -> None:
        """Forget the previous frame (the next frame passes through unchanged)."""
        self._previous = self._previous_gray = None

    def __call__(self, frame: np.ndarray) -> np.ndarray:
        """One step: ``(H, W, 3)`` uint8 RGB → ``(H, W, 3)`` uint8 RGB, the frame the networks see (a copy of
        ``frame`` on the first frame or after a size change)."""
        return self._step(frame).copy()

    def run(self, frames: np.ndarray) -> np.ndarray:
        """A batch in order: ``(N, H, W, 3)`` uint8 → ``(N, H, W, 3)`` uint8 denoised."""
        return np.stack([self._step(frame) for frame in frames]) if len(frames) else frames.copy()

    def _step(self, frame: np.ndarray) -> np.ndarray:
        """One step; the result is the state held for the next frame (callers copy it: ``np.stack`` does)."""
        if frame.ndim != 3 or frame.shape[2] != 3 or frame.dtype != np.uint8:
            raise ValueError(f"expected an (H, W, 3) uint8 frame, got {frame.shape} {frame.dtype}")
        gray = to_gray_u8(frame)
        previous, previous_gray = self._previous, self._previous_gray
        self._previous_gray = gray
        if previous is None or previous_gray is None or previous.shape != frame.shape:
            self._previous = frame.copy()
            return self._previous
        flow = compute_flow_at_most(gray, previous_gray, self.options.preset, FLOW_MAX_SIDE)
        warped = cv2.remap(previous, flow, None, cv2.INTER_CUBIC | cv2.WARP_RELATIVE_MAP,
                           borderMode=cv2.BORDER_REPLICATE)
        difference = cv2.absdiff(frame, warped)
        largest = cv2.max(cv2.max(difference[..., 0], difference[..., 1]), difference[..., 2])
        held = cv2.LUT(cv2.GaussianBlur(largest, (0, 0), 1.0), self._held_table)  # (H, W) float32: strength · m
        denoised = cv2.blendLinear(warped, frame, held, 1.0 - held)
        self._previous = denoised
        return denoised


class DenoisedBatches:
    """Decoded batches with their frames denoised for the networks (:attr:`vst.video.FrameBatch.denoised`), one
    :class:`InputDenoiser` over the whole video, in frame order: an iterator, which :func:`vst.pipeline.render_video`
    runs in its decoding thread. :attr:`seconds`: the time it took."""

    def __init__(self, batches: Iterator[FrameBatch], options: DenoiseOptions | None = None) -> None:
        self._batches = batches
        self._denoiser = InputDenoiser(options)
        self.seconds = 0.0

    def __iter__(self) -> Iterator[FrameBatch]:
        return self

    def __next__(self) -> FrameBatch:
        batch = next(self._batches)
        started = time.perf_counter()
        batch.denoised = self._denoiser.run(batch.images)
        self.seconds += time.perf_counter() - started
        return batch

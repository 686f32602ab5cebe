"""Flow-guided smoothing of a stylized video's broad colour: the previous output, warped onto this frame, lends its
low band where the motion is reliable.

The temporal networks are trained to be steady, but what is left of their flicker is partly broad: patches of colour
that swell and fade from frame to frame. At inference each stylized frame ``S_t`` is corrected towards the previous
*output* ``O_{t-1}`` warped along the input's optical flow, in the low band only::

    O_t = S_t + strength · m · G_band(warp(O_{t-1}) - S_t)

``G_band`` is a Gaussian blur of standard deviation ``band`` pixels: the fine strokes and edges of ``S_t`` pass
through untouched (its Laplacian energy stays within a few percent), so the frame does not soften; only colour that
changes over areas wider than a few pixels is held. ``m`` in [0, 1] is where the flow holds: ``exp(-(d / tolerance)²)``
with ``d`` the absolute difference between this input frame's brightness and the previous one's warped by the same
flow (in [0, 1]) — occlusions, scene cuts and failed flow get ``m ≈ 0`` and keep this frame's own rendering. The
recursion runs on outputs, so a colour held steady stays held (a first-order filter over time), with ``strength`` < 1
so that it fades.

The flow is DIS (:func:`vst.flow.compute_flow`, ``"ultrafast"``) from this input frame to the previous one, on their
brightness at the grid's size (half the frame's, at most :data:`FLOW_MAX_SIDE` pixels a side). It is the same kind of
flow the warping error is measured with (``"medium"`` there), so the benchmark also measures the error with
Farnebäck's flow (``benchmarks/smoothing.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from .flow import PRESETS, compute_flow_at_most, to_gray_u8, warp

#: Longest side the flow is computed at (larger grids are downscaled for the flow, which is then resized back).
FLOW_MAX_SIDE = 480
#: The correction is computed on a grid this many times smaller than the frame on each side (it is a low band).
GRID = 2


@dataclass(frozen=True)
class SmoothingOptions:
    """How strongly and in which band :class:`FlowSmoother` holds the previous output.

    Attributes:
        strength: share of the warped previous output's low band taken where the flow holds, in [0, 1).
        band: standard deviation, in pixels of the output, of the Gaussian that defines the low band.
        tolerance: input brightness difference (in [0, 1]) at which the flow counts as failed (``m = e⁻¹``).
        preset: DIS preset of the flow (:data:`vst.flow.PRESETS`).
        flow: ``False``: no optical flow, every pixel held to the previous output's at the same place where its input
            did not change — what the Live page does in the browser (``live_page/live.js``, ``smoothFrame``), where a
            camera mostly stands still.
    """

    strength: float = 0.7
    band: float = 3.0
    tolerance: float = 0.05
    preset: str = "ultrafast"
    flow: bool = True

    def __post_init__(self) -> None:
        if not 0.0 <= self.strength < 1.0:
            raise ValueError(f"strength must be in [0, 1), not {self.strength}")
        if self.band <= 0 or self.tolerance <= 0:
            raise ValueError(f"band and tolerance must be positive, not {self.band} and {self.tolerance}")
        if self.preset not in PRESETS:
            raise ValueError(f"unknown optical flow preset {self.preset!r}; expected one of {', '.join(PRESETS)}")


class FlowSmoother:
    """Smooths one video's stylized frames, fed in order (module docstring); one instance per video and output.

    The correction is a low band, so it is computed on a grid of half the frame's size (:data:`GRID`), where the
    previous output's low band is kept, and upsampled bilinearly: 3–4× less work than at full size (3–5 ms a
    640×360 frame on this project's 2-core machine, ``benchmarks/smoothing.py``).

    >>> smoother = FlowSmoother()
    >>> smoothed = [smoother(frame, stylized) for frame, stylized in zip(inputs, outputs)]  # doctest: +SKIP
    """

    def __init__(self, options: SmoothingOptions | None = None) -> None:
        self.options = options or SmoothingOptions()
        self._previous_gray: np.ndarray | None = None  # (h, w) uint8: the previous input's brightness on the grid
        self._previous_output: np.ndarray | None = None  # (h, w, 3) float32 in [0, 1]: the previous output on the grid
        self._size: tuple[int, int] | None = None  # the full frame's (H, W)
        # strength · exp(-(d / tolerance)²) for each brightness difference d = 0 … 255 (in levels of 1/255)
        levels = np.arange(256, dtype=np.float32) / (255.0 * self.options.tolerance)
        self._held_table = (self.options.strength * np.exp(-np.square(levels))).astype(np.float32)

    def reset(self) -> None:
        """Forget the previous frame (the next frame passes through unchanged)."""
        self._previous_gray = self._previous_output = self._size = None

    def __call__(self, frame: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """One step.

        Args:
            frame: ``(H, W, 3)`` uint8 RGB, the network's input frame.
            stylized: ``(H, W, 3)`` uint8 RGB, the network's output for it.

        Returns:
            ``(H, W, 3)`` uint8 RGB, the smoothed output (a copy of ``stylized`` on the first frame or after a size
            change).
        """
        if frame.shape != stylized.shape or frame.ndim != 3 or frame.shape[2] != 3:
            raise ValueError(f"expected (H, W, 3) input and output frames of one size, got {frame.shape} and "
                             f"{stylized.shape}")
        if frame.dtype != np.uint8 or stylized.dtype != np.uint8:
            raise ValueError(f"expected uint8 frames, got {frame.dtype} and {stylized.dtype}")
        h, w = frame.shape[:2]
        grid = (max(1, round(w / GRID)), max(1, round(h / GRID)))
        gray = to_gray_u8(cv2.resize(frame, grid, interpolation=cv2.INTER_AREA))
        small = cv2.resize(stylized, grid, interpolation=cv2.INTER_AREA).astype(np.float32) * (1.0 / 255.0)
        previous_gray, previous_output = self._previous_gray, self._previous_output
        first = previous_gray is None or previous_output is None or self._size != (h, w)
        self._previous_gray, self._size = gray, (h, w)
        if first:
            self._previous_output = small
            return stylized.copy()
        o = self.options
        if o.flow:
            flow = compute_flow_at_most(gray, previous_gray, o.preset, FLOW_MAX_SIDE)
            previous_gray, previous_output = warp(previous_gray, flow), warp(previous_output, flow)
        held = cv2.LUT(cv2.absdiff(gray, previous_gray), self._held_table)  # (h, w) float32: strength · m
        correction = cv2.GaussianBlur(previous_output - small, (0, 0), o.band / GRID)
        correction *= held[..., None]
        self._previous_output = np.clip(small + correction, 0.0, 1.0)
        full = cv2.resize(correction, (w, h), interpolation=cv2.INTER_LINEAR)
        return cv2.add(stylized, full * 255.0, dtype=cv2.CV_8U)

    def run(self, frames: np.ndarray, stylized: np.ndarray) -> np.ndarray:
        """A batch in order: ``(N, H, W, 3)`` uint8 inputs and outputs → ``(N, H, W, 3)`` uint8 smoothed outputs."""
        if len(frames) != len(stylized):
            raise ValueError(f"{len(frames)} input frames but {len(stylized)} stylized frames")
        return np.stack([self(f, s) for f, s in zip(frames, stylized, strict=True)]) if len(frames) else stylized.copy()

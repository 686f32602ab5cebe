"""Temporal consistency: the warping error of Lai et al. 2018 ("Learning blind video temporal consistency").

For consecutive OUTPUT frames ``O_t``, ``O_{t+1}`` (float in [0, 1]) with optical flow computed on the INPUT frames
``I_t``, ``I_{t+1}``:

    F = flow(I_t → I_{t+1})   (on t's grid),   B = flow(I_{t+1} → I_t)
    M = non-occluded pixels of t:  not occluded (forward-backward check) and not on a motion boundary of F
    E = Σ M · mean_c (O_t − warp(O_{t+1}, F))² / Σ M

``M`` is where :func:`vst.flow.consistency_weights` ``(F, B)`` is 1, as in Lai et al.'s evaluation code (whose
"occlusion" includes motion boundaries); ``motion_boundaries=False`` keeps only the test of
:func:`vst.flow.occlusion_mask`. Pixels whose flow leaves the frame count as occluded. A video's error is the mean over
its pairs (scene cuts excluded); lower is steadier.

Flow is computed on the inputs downscaled (area) so that their longer side is at most ``flow_max_side`` (``None``: full
size), together with the mask; both are then resized to the output size, the flow's vectors rescaled to the output's
pixels. Outputs may therefore be at any resolution, e.g. the input's.

Scene cuts: a pair where fewer than ``min_valid_fraction`` of the pixels are valid (``M``) has no meaningful
correspondence; its error is NaN and it is left out of every mean.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import cv2
import numpy as np

from .flow import compute_flow, consistency_weights, occlusion_mask, to_gray_u8, warp


def _to_float(frame: np.ndarray) -> np.ndarray:
    """uint8 / integer / float frame → float32 in [0, 1] (floats are assumed to be in [0, 1] already)."""
    if frame.dtype == np.uint8:
        return frame.astype(np.float32) * np.float32(1.0 / 255.0)
    if np.issubdtype(frame.dtype, np.integer):
        return frame.astype(np.float32) / np.float32(np.iinfo(frame.dtype).max)
    return np.array(frame, dtype=np.float32)  # a copy: callers may reuse their buffers


def _flow_gray(frame: np.ndarray, flow_max_side: int | None) -> np.ndarray:
    """``(H, W, 3)`` or ``(H, W)`` frame → ``(h, w)`` uint8 gray with ``max(h, w) <= flow_max_side``."""
    gray = to_gray_u8(frame)
    h, w = gray.shape
    if flow_max_side is not None and max(h, w) > flow_max_side:
        s = flow_max_side / max(h, w)
        size = (max(1, round(w * s)), max(1, round(h * s)))
        gray = cv2.resize(gray, size, interpolation=cv2.INTER_AREA)
    return gray


def _resize_flow(flow: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """``(h, w, 2)`` flow → ``(H, W, 2)`` with ``size = (H, W)``, vectors rescaled to the new pixels."""
    h, w = flow.shape[:2]
    hh, ww = size
    if (h, w) == (hh, ww):
        return flow
    out = cv2.resize(flow, (ww, hh), interpolation=cv2.INTER_LINEAR)
    out[..., 0] *= ww / w
    out[..., 1] *= hh / h
    return out


class _PairFlow:
    """The flow of one input pair and its validity mask, resized on demand to each output size."""

    def __init__(self, gray_a: np.ndarray, gray_b: np.ndarray, preset: str, motion_boundaries: bool) -> None:
        self.flow = compute_flow(gray_a, gray_b, preset)
        back = compute_flow(gray_b, gray_a, preset)
        if motion_boundaries:
            self.valid = consistency_weights(self.flow, back) > 0
        else:
            self.valid = ~occlusion_mask(self.flow, back)
        self.valid_fraction = float(self.valid.mean())
        self._cache: dict[tuple[int, int], tuple[np.ndarray, np.ndarray]] = {}

    def at(self, size: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """``(flow (H, W, 2) float32, valid mask (H, W) uint8 0/1)`` at ``size = (H, W)``."""
        if size not in self._cache:
            mask = self.valid.view(np.uint8)
            if size != mask.shape:
                mask = cv2.resize(mask, size[::-1], interpolation=cv2.INTER_NEAREST)
            self._cache[size] = (_resize_flow(self.flow, size), mask)
        return self._cache[size]

    def error(self, out_a: np.ndarray, out_b: np.ndarray) -> float:
        """Warping error of outputs ``out_a`` → ``out_b`` (float32 in [0, 1], same shape)."""
        if out_a.shape != out_b.shape:
            raise ValueError(f"output frames differ in shape: {out_a.shape} vs {out_b.shape}")
        flow, mask = self.at(out_a.shape[:2])
        if not mask.any():
            return float("nan")
        diff = cv2.subtract(out_a, warp(out_b, flow))
        sq = cv2.multiply(diff, diff)
        channels = 1 if sq.ndim == 2 else sq.shape[2]
        if channels <= 4:  # cv2.mean: per-channel mean over the mask, accumulated in double
            return float(np.mean(cv2.mean(sq, mask=mask)[:channels]))
        return float(sq[mask > 0].mean(dtype=np.float64))


def pair_warping_error(
    in_a: np.ndarray,
    in_b: np.ndarray,
    out_a: np.ndarray,
    out_b: np.ndarray,
    *,
    flow_max_side: int | None = 480,
    preset: str = "medium",
    min_valid_fraction: float = 0.3,
    motion_boundaries: bool = True,
) -> float:
    """Warping error of one output pair, with flow from the input pair.

    Args:
        in_a, in_b: input frames ``(H, W, 3)`` RGB (or ``(H, W)`` gray), uint8 or float in [0, 1].
        out_a, out_b: output frames ``(H', W', C)`` or ``(H', W')``, uint8 or float in [0, 1]; any size.
        flow_max_side: longest side the flow is computed at (``None``: the input's size).
        preset: DIS preset, see :func:`vst.flow.compute_flow`.
        min_valid_fraction: below this fraction of valid pixels the pair is a scene cut.
        motion_boundaries: also leave out motion boundaries of the flow (as Lai et al.'s code does).

    Returns:
        The mean squared difference over valid pixels (values in [0, 1]), NaN for a scene cut.
    """
    pair = _PairFlow(_flow_gray(in_a, flow_max_side), _flow_gray(in_b, flow_max_side), preset, motion_boundaries)
    if pair.valid_fraction < min_valid_fraction:
        return float("nan")
    return pair.error(_to_float(out_a), _to_float(out_b))


class WarpingErrorMeter:
    """Streaming warping error.

    Feed one input frame and any number of named output frames per step (the same names every step); the flow is
    computed once per input pair and shared by all outputs (e.g. ``'temporal'`` and ``'framewise'``). Only the previous
    input's downscaled gray version and the previous outputs are kept.

    Attributes:
        errors: per output name, the error of each pair so far (NaN for scene cuts).
    """

    def __init__(
        self,
        *,
        flow_max_side: int | None = 480,
        preset: str = "medium",
        min_valid_fraction: float = 0.3,
        motion_boundaries: bool = True,
    ) -> None:
        self.flow_max_side = flow_max_side
        self.preset = preset
        self.min_valid_fraction = min_valid_fraction
        self.motion_boundaries = motion_boundaries
        self.errors: dict[str, list[float]] = {}
        self._prev_gray: np.ndarray | None = None
        self._prev_outputs: dict[str, np.ndarray] = {}

    def update(self, input_frame: np.ndarray, outputs: Mapping[str, np.ndarray]) -> dict[str, float] | None:
        """Add one step. Returns each output's error for the pair (previous, this) frame, None on the first frame."""
        gray = _flow_gray(input_frame, self.flow_max_side)
        current = {name: _to_float(frame) for name, frame in outputs.items()}
        prev_gray, prev_outputs = self._prev_gray, self._prev_outputs
        if prev_gray is None:
            self._prev_gray, self._prev_outputs = gray, current
            for name in current:
                self.errors.setdefault(name, [])
            return None
        if set(current) != set(prev_outputs):
            raise ValueError(f"output names changed from {sorted(prev_outputs)} to {sorted(current)}")
        if gray.shape != prev_gray.shape:
            raise ValueError(f"input frame size changed: {prev_gray.shape} vs {gray.shape} (at flow resolution)")
        self._prev_gray, self._prev_outputs = gray, current
        pair = _PairFlow(prev_gray, gray, self.preset, self.motion_boundaries)
        cut = pair.valid_fraction < self.min_valid_fraction
        result = {
            name: float("nan") if cut else pair.error(prev_outputs[name], frame) for name, frame in current.items()
        }
        for name, err in result.items():
            self.errors.setdefault(name, []).append(err)
        return result

    def mean(self) -> dict[str, float]:
        """Mean error per output over the pairs so far, scene cuts excluded (NaN when no pair counts)."""
        out = {}
        for name, errs in self.errors.items():
            values = np.asarray(errs, dtype=np.float64)
            values = values[~np.isnan(values)]
            out[name] = float(values.mean()) if values.size else float("nan")
        return out


def warping_errors(inputs: Iterable[np.ndarray], outputs: Iterable[np.ndarray], **kw: object) -> np.ndarray:
    """Per-pair warping errors of one video: ``(N - 1,)`` float64, NaN for scene cuts.

    ``inputs`` and ``outputs`` are equally long sequences of frames; ``kw`` are :class:`WarpingErrorMeter`'s options.
    Average with ``np.nanmean``.
    """
    meter = WarpingErrorMeter(**kw)  # type: ignore[arg-type]
    for frame_in, frame_out in zip(inputs, outputs, strict=True):
        meter.update(frame_in, {"output": frame_out})
    return np.asarray(meter.errors.get("output", []), dtype=np.float64)

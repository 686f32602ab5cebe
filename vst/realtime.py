"""Keeping up with a clip: the largest internal scale at which a network renders its frames as fast as they play,
measured on this machine (not assumed).

:func:`choose_scale` times the network (through :class:`vst.pipeline.Stylizer`, guided upsampling included) on
frames of the clip's size, as many at once as a render hands it, at each candidate scale, largest first, and stops at
the first whose time per frame fits the clip's frame interval less a margin for decoding and encoding (which run
beside the network, see :mod:`vst.stages`). The choice says what it measured, so a caller can say which resolution
it chose and why.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .guided import internal_size
from .model import StyleNet
from .pipeline import Stylizer

#: Candidate internal scales, largest first (1: full resolution). Only whole halvings: in the blind look test a 3/4
#: scale at 640×360 lost 9 of 48 trials to full resolution (striping and grid patterns from the fractional resampling,
#: and softer), while at 1280×720 half scale won 22 of 48 and a quarter 24 of 48 (all six styles, two judges; a quarter
#: lost all 8 for The Great Wave and won all 8 for Composition VII; benchmarks/results/look-tests, docs/performance.md).
SCALES: tuple[float, ...] = (1.0, 0.5, 0.25)
#: The network runs below full resolution only on frames whose long side is at least this: the size the look tests
#: held the smaller scales up at. Half of 640×360 was never tried and would halve the strokes' detail again.
MIN_SCALED_FRAME = 1280
#: The share of the frame interval the network may take; the rest is left to decoding, encoding and the flicker
#: meter, which share the cores (end to end ran at 0.86–0.95× the network-alone rate, benchmarks/performance.py).
NETWORK_SHARE = 0.8
#: Timed passes per scale, after one warm-up pass; the fastest counts.
PASSES = 2


@dataclass(frozen=True)
class ScaleChoice:
    """What :func:`choose_scale` chose: ``scale`` (the network at ``internal`` = (width, height)), the measured
    seconds per frame at that scale, the ``budget`` it had to fit (seconds per frame), and whether it fit."""

    scale: float
    internal: tuple[int, int]
    seconds_per_frame: float
    budget: float

    @property
    def keeps_up(self) -> bool:
        return self.seconds_per_frame <= self.budget

    def describe(self, width: int, height: int) -> str:
        """One line for the visitor, e.g. "the network ran at 640×360 (half of 1280×720) to keep up"."""
        w, h = self.internal
        if self.scale >= 1.0:
            slower = "" if self.keeps_up else ", slower than the clip (no smaller size is tried at this size)"
            return f"the network ran at full resolution ({width}×{height}){slower}"
        fraction = {0.75: "three quarters", 0.5: "half", 0.25: "a quarter"}.get(self.scale, f"{self.scale:g}×")
        reason = " to keep up" if self.keeps_up else ", its smallest size, and was still slower than the clip"
        return f"the network ran at {w}×{h} ({fraction} of {width}×{height}){reason}"


def seconds_per_frame(stylizer: Stylizer, width: int, height: int, passes: int = PASSES,
                      clock: Callable[[], float] = time.perf_counter) -> float:
    """Seconds per frame of ``stylizer`` on random ``height``×``width`` frames, handed over as a render hands them
    (:meth:`Stylizer.frames_per_call` at once, so frames that run side by side are timed side by side): the fastest
    of ``passes`` timed calls, after one warm-up call (the first call at a new size allocates and plans)."""
    count = stylizer.frames_per_call(width, height)
    frames = np.random.default_rng(0).integers(0, 256, (count, height, width, 3), dtype=np.uint8)
    stylizer(frames)
    best = float("inf")
    for _ in range(passes):
        started = clock()
        stylizer(frames)
        best = min(best, clock() - started)
    return best / count


def choose_scale(network: StyleNet, width: int, height: int, fps: float, *, device: str = "cpu",
                 scales: Sequence[float] = SCALES, share: float = NETWORK_SHARE,
                 min_scaled_frame: int = MIN_SCALED_FRAME) -> ScaleChoice:
    """The largest of ``scales`` at which ``network`` renders a ``width``×``height`` frame within ``share`` of the
    clip's frame interval (``1 / fps`` seconds), measured; a frame whose long side is under ``min_scaled_frame`` is
    tried at full resolution only. The smallest scale tried when none keeps up (its :attr:`ScaleChoice.keeps_up` is
    then False)."""
    if fps <= 0:
        raise ValueError(f"the clip's frame rate must be positive, not {fps}")
    budget = share / fps
    choice: ScaleChoice | None = None
    allowed = [s for s in scales if s >= 1.0 or max(width, height) >= min_scaled_frame]
    for scale in sorted(allowed, reverse=True):
        stylizer = Stylizer(network, device, scale=scale)
        measured = seconds_per_frame(stylizer, width, height)
        choice = ScaleChoice(scale, internal_size(width, height, scale, network.size_multiple) if scale < 1.0
                             else (width, height), measured, budget)
        if choice.keeps_up:
            break
    if choice is None:
        raise ValueError("no scales to choose from")
    return choice

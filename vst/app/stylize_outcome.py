"""What a stylize job hands back: :class:`StylizeOutcome` (the delivered video, then its comparison with the baseline,
and the texts, slider and flicker plot the page shows of it), the speed line (:func:`speed_text`) and the digests of
the fair pairs a result and the blind vote judge (:data:`FAIR_PAIRS`, :func:`pair_digest`, :func:`current_digests`)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import Variant
from ..fingerprint import checkpoint_digest
from ..pipeline import RenderResult
from .ab_pair import ABPair
from .comparison import FRAMEWISE_LABEL, VARIANT_LABELS, flicker_frame, flicker_reading, slider_html
from .gallery import NO_FAST, GalleryStyle
from .media import media_url


def speed_text(frames: int, seconds: float, clip_fps: float) -> str:
    """The measured speed against the clip's own frame rate, e.g. ``rendered at 24.3 fps, faster than the clip's 20
    fps: real time`` or ``rendered at 6.1 fps, slower than the clip's 25 fps``: "real time" is said only when the
    render kept up with the clip."""
    if not (seconds > 0 and math.isfinite(seconds)):
        return "rendered (speed not measurable)"
    fps = frames / seconds
    shown = f"{fps:.2f}" if fps < 1 else f"{fps:.1f}"
    if 0 < clip_fps and fps < clip_fps <= float(shown):  # rounded up to the clip's rate: rounded down, it reads short
        shown = f"{math.floor(fps * 10 + 1e-9) / 10:.1f}"
    if not clip_fps > 0:
        return f"rendered at {shown} fps"
    clip = f"the clip's {round(clip_fps):d} fps" if abs(clip_fps - round(clip_fps)) < 0.005 else \
        f"the clip's {clip_fps:.2f} fps"
    if fps < clip_fps:
        return f"rendered at {shown} fps, slower than {clip}"
    if float(shown) > clip_fps:
        return f"rendered at {shown} fps, faster than {clip}: real time"
    return f"rendered at {shown} fps, as fast as {clip}: real time"


#: (network, baseline) pairs the blind vote can show: the same architecture trained with and without the temporal
#: loss.
FAIR_PAIRS: tuple[tuple[Variant, Variant], ...] = ((Variant.TEMPORAL, Variant.FRAMEWISE),
                                                  (Variant.FAST, Variant.FAST_FRAMEWISE))


@dataclass(frozen=True)
class StylizeOutcome:
    """A stylize job as the visitor sees it: the delivered video, then (later) the comparison with its baseline.

    ``video`` is the main output, rendered by ``variant`` (``temporal`` or ``fast``); ``realtime``: the visitor asked
    for the fast network (so a fallback to the temporal model can be told). ``baseline`` is the comparison video,
    rendered by ``baseline_variant`` (:func:`~vst.app.stylize_jobs.baseline_for`). ``result``: what the render
    measured (in real-time mode, frames, size and flicker of the comparison pass once it is done). ``video_seconds``:
    how long the main video took to be ready; ``clip_fps``: the clip's frame rate; ``has_sound``: the upload has an
    audio track (kept in the output). ``pending``: the comparison is still being rendered; ``comparison_error``: the
    comparison failed (one line) while the delivered video stays.
    """

    job_id: str
    folder: Path
    style: str
    variant: str
    realtime: bool
    video: Path
    baseline: Path | None
    baseline_variant: str | None
    result: RenderResult
    video_seconds: float
    clip_fps: float = 0.0
    has_sound: bool = False
    pending: bool = False
    comparison_error: str | None = None
    digest: str = ""
    #: In real-time mode: the internal resolution chosen to keep up (:meth:`vst.realtime.ScaleChoice.describe`)
    scale_note: str = ""
    no_fast: str = NO_FAST
    about: str = ""
    #: Both videos were steadied by flow-guided smoothing (:mod:`vst.smoothing`, ``VST_SMOOTHING``)
    smoothed: bool = False
    #: The networks saw the clip denoised along the optical flow (:mod:`vst.denoise`, ``VST_DENOISE``)
    denoised: bool = False

    @property
    def label(self) -> str:
        """The main network's name in the UI, e.g. ``fast``."""
        return VARIANT_LABELS[self.variant]

    @property
    def fell_back(self) -> bool:
        """Real-time was asked for, but the style has no fast network, so the temporal model rendered it."""
        return self.realtime and self.variant != Variant.FAST

    @property
    def twin_missing(self) -> bool:
        """The fast network had to be compared with the full-size framewise model: the style has no fast twin."""
        return self.variant == Variant.FAST and self.baseline_variant == Variant.FRAMEWISE

    @property
    def compared(self) -> bool:
        """The comparison video exists (not pending, not failed, a baseline installed)."""
        return self.baseline is not None and not self.pending and self.comparison_error is None

    def comparison_html(self) -> str | None:
        if not self.compared or self.baseline_variant is None:
            return None
        assert self.baseline is not None
        return slider_html(self.video, self.baseline, width=self.result.width, height=self.result.height,
                           label=self.label, baseline_label=VARIANT_LABELS[self.baseline_variant], url=media_url)

    def flicker(self) -> pd.DataFrame:
        return flicker_frame(self.result) if self.compared else flicker_frame(RenderResult({}, 0, 0.0, 0, 0))

    def reading(self) -> str:
        """The flicker plot's one-line reading, e.g. ``58% less flicker than framewise``; empty without a plot."""
        if not self.compared or self.baseline_variant is None:
            return ""
        return flicker_reading(self.result, self.variant, self.baseline_variant)

    def pair_range(self) -> list[float]:
        """The flicker plot's x-axis: from the first frame pair to the last (1 … frames − 1)."""
        return [1, max(2, self.result.frames - 1)]

    def plot_caption(self) -> str:
        """The flicker plot's caption (Markdown): how to read it and, where a line has gaps, what they are."""
        errors = self.result.warping_errors.get(self.variant, [])
        gaps = int(np.isnan(np.asarray(errors, dtype=float)).sum()) if errors else 0
        caption = "**Flicker per frame pair**: the lower a line, the steadier that network's video."
        if self.smoothed:
            caption += (" Both videos are steadied alike by flow smoothing (each frame's broad colour held to the "
                        "last frame's where the motion is clear), so the lines differ by the networks alone.")
        if self.denoised:
            caption += (" Both networks see the clip with its grain held steady along the motion (the frames' own "
                        "detail kept).")
        if gaps:
            pairs = "1 frame pair" if gaps == 1 else f"{gaps} frame pairs"
            caption += (f" The gaps are {pairs} whose motion could not be followed (a cut or very fast motion): "
                        f"they are left out of the figures above.")
        return caption

    def network_line(self) -> str:
        """Which network rendered the video (and why, after a fallback) and one plain speed figure."""
        fallback = f" · The fast network was asked for, but {self.no_fast}." if self.fell_back else ""
        frames = self.result.frames
        sound = " · its sound kept" if self.has_sound else ""
        together = (" (together with the framewise baseline)" if self.variant != Variant.FAST and self.baseline
                    else "")
        about = f" · {self.about}" if self.about else ""
        scale = f" · {self.scale_note[0].upper()}{self.scale_note[1:]}" if self.scale_note else ""
        return (f"Network: **{self.label}** · {speed_text(frames, self.video_seconds, self.clip_fps)}{together}"
                f"{scale}{sound}{fallback}{about}")

    def summary(self) -> str:
        """The result text (Markdown): :meth:`network_line`, then the comparison's state or reading."""
        size = f"{self.result.frames} frames · {self.result.width}×{self.result.height}"
        baseline = VARIANT_LABELS.get(self.baseline_variant or Variant.FRAMEWISE, FRAMEWISE_LABEL)
        if self.baseline is None:
            stats = f"{size} · this style's framewise baseline is not installed, so there is nothing to compare with"
        elif self.comparison_error is not None:
            stats = f"Your video is ready; the flicker comparison was not made: {self.comparison_error}"
        elif self.pending:  # the status line above says what is being rendered now
            stats = f"{size} · the flicker comparison with the {baseline} baseline follows"
        else:
            stats = f"**{self.reading()}** · {size}"
            if self.twin_missing:
                stats += (" · compared with the full-size framewise model: this style has no fast framewise twin "
                          "yet")
        return f"{self.network_line()}\n\n{stats}"

    def pair(self) -> ABPair | None:
        """This result as an A/B pair for its visitor only, once its comparison is rendered and fair (see
        :data:`FAIR_PAIRS`): the temporal model against the framewise baseline, or the fast network against its
        framewise twin; ``None`` otherwise (e.g. the fast network against the full-size framewise model)."""
        if not self.compared or (self.variant, self.baseline_variant) not in FAIR_PAIRS or not self.digest:
            return None
        assert self.baseline is not None
        return ABPair(self.style, f"upload-{self.job_id}", self.video, self.baseline, own=True,
                    checkpoints=self.checkpoints, network="fast" if self.variant == Variant.FAST else "full-size")

    @property
    def checkpoints(self) -> str:
        """:func:`pair_digest` of the two models compared (what a vote on this result's pair judges)."""
        return self.digest


def pair_digest(style: GalleryStyle, main: str, baseline: str | None) -> str:
    """:func:`checkpoint_digest` of the two checkpoints a result compares, when they make a fair blind pair (the
    temporal model and the framewise baseline, or the fast network and its framewise twin); ``""`` otherwise."""
    if (main, baseline) in FAIR_PAIRS and all(v in style.variants for v in (main, baseline)):
        return checkpoint_digest(style.variants, (main, baseline))  # type: ignore[arg-type]
    return ""


def current_digests(styles: Sequence[GalleryStyle]) -> dict[str, list[str]]:
    """Per style, the :func:`pair_digest` of each fair pair it has installed now (what the vote results count)."""
    digests = {}
    for style in styles:
        found = [digest for main, baseline in FAIR_PAIRS if (digest := pair_digest(style, main, baseline))]
        if found:
            digests[style.slug] = found
    return digests


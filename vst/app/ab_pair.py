"""The A/B pair: one style on one clip, rendered by a network trained with the temporal loss and by the same network
trained frame by frame. The one type of a pre-rendered showcase pair (:mod:`vst.app.showcase`), of a visitor's own
result offered to them (:meth:`vst.app.stylize_outcome.StylizeOutcome.pair`) and of what the blind vote shows
(:mod:`vst.app.blind_vote`)."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from ..style_folder import VARIANTS, Variant
from .comparison import VARIANT_LABELS


@dataclass(frozen=True)
class ABPair:
    """One style on one clip, rendered by one network trained with the temporal loss (``temporal``) and the same
    network trained frame by frame (``framewise``), with the same frames at the same size. ``network``: which ones
    (:data:`vst.app.votes.NETWORKS`), the full-size models or the fast network and its framewise twin. ``own``: the
    visitor's own upload (shown only to them).

    A showcase render also records its ``frames`` and each video's mean warping error (lower is steadier; NaN when
    unmeasurable, e.g. a single frame); these measurements take no part in comparing pairs."""

    style: str
    clip: str
    temporal: Path
    framewise: Path
    own: bool = False
    checkpoints: str = ""  # :func:`vst.fingerprint.checkpoint_digest` of the two models (recorded with each vote)
    network: str = "full-size"
    frames: int = field(default=0, compare=False)
    temporal_warping_error: float = field(default=math.nan, compare=False)
    framewise_warping_error: float = field(default=math.nan, compare=False)

    def path(self, variant: str) -> Path:
        """The video of ``variant`` (``temporal`` or ``framewise``)."""
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {', '.join(VARIANTS)}, not {variant!r}")
        return self.temporal if variant == Variant.TEMPORAL else self.framewise

    def warping_error(self, variant: str) -> float:
        self.path(variant)  # validates
        return self.temporal_warping_error if variant == Variant.TEMPORAL else self.framewise_warping_error

    def label(self, variant: str) -> str:
        """The name of the network that rendered ``variant`` (``temporal`` or ``framewise``), e.g. ``fast``."""
        if self.network == "fast":
            return VARIANT_LABELS[Variant.FAST if variant == Variant.TEMPORAL else Variant.FAST_FRAMEWISE]
        return VARIANT_LABELS[variant]

    def available(self) -> bool:
        """Both videos are still on disk."""
        return self.temporal.is_file() and self.framewise.is_file()

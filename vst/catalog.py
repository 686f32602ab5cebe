"""The style catalog: which paintings we ship, where their checkpoints live on the Hub, and their two variants."""

from __future__ import annotations

import os
from dataclasses import dataclass

from .errors import StyleNotFoundError

#: ``temporal``: trained with the temporal loss (the steady one). ``framewise``: the same network and settings without it.
#: These two are the A/B pair of the vote.
VARIANTS: tuple[str, ...] = ("temporal", "framewise")
#: The real-time network distilled from the temporal one (``FastStyleNet``); optional per style.
FAST_VARIANT = "fast"
#: The fast network's framewise twin: same size and recipe, trained without the temporal term (``python -m training
#: distill --framewise``); optional per style. The app compares the fast network with it, like with like.
FAST_FRAMEWISE_VARIANT = "fast-framewise"
ALL_VARIANTS: tuple[str, ...] = (*VARIANTS, FAST_VARIANT, FAST_FRAMEWISE_VARIANT)
DEFAULT_VARIANT = "temporal"
#: Hub namespace (user or organisation) that holds one model repo per style; override with ``VST_HUB_NAMESPACE``.
DEFAULT_HUB_NAMESPACE = "vst-video"


@dataclass(frozen=True)
class Style:
    """One painting style. ``repo_id`` is its Hub model repo; each variant is a subfolder of it."""

    slug: str
    title: str
    artist: str
    year: str
    commons_url: str

    @property
    def repo_id(self) -> str:
        namespace = os.environ.get("VST_HUB_NAMESPACE", DEFAULT_HUB_NAMESPACE)
        return f"{namespace}/vst-{self.slug}"

    @property
    def caption(self) -> str:
        """E.g. ``The Starry Night — Vincent van Gogh, 1889``."""
        return f"{self.title} — {self.artist}, {self.year}"


STYLES: dict[str, Style] = {
    s.slug: s
    for s in (
        Style("starry-night", "The Starry Night", "Vincent van Gogh", "1889",
              "https://commons.wikimedia.org/wiki/Category:The_Starry_Night"),
        Style("great-wave", "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831",
              "https://commons.wikimedia.org/wiki/Category:The_Great_Wave_off_Kanagawa"),
        Style("the-scream", "The Scream", "Edvard Munch", "1893",
              "https://commons.wikimedia.org/wiki/Category:The_Scream"),
        Style("composition-vii", "Composition VII", "Wassily Kandinsky", "1913",
              "https://commons.wikimedia.org/wiki/Category:Composition_VII_(Kandinsky)"),
        Style("udnie", "Udnie (Young American Girl, The Dance)", "Francis Picabia", "1913",
              "https://commons.wikimedia.org/wiki/Category:Udnie_(Picabia)"),
        Style("shipwreck-of-the-minotaur", "The Shipwreck of the Minotaur", "J. M. W. Turner", "c. 1810",
              "https://commons.wikimedia.org/wiki/Category:The_Shipwreck_of_the_Minotaur"),
    )
}


def get_style(slug: str) -> Style:
    """The catalog entry for ``slug``; ``StyleNotFoundError`` listing the known slugs otherwise."""
    try:
        return STYLES[slug]
    except KeyError:
        raise StyleNotFoundError(f"unknown style '{slug}'; known styles: {', '.join(STYLES)}") from None


def check_variant(variant: str) -> str:
    if variant not in ALL_VARIANTS:
        raise StyleNotFoundError(f"unknown variant '{variant}'; choose one of: {', '.join(ALL_VARIANTS)}")
    return variant

"""The style gallery: the installed styles the app offers (:func:`gallery_styles`), each with its card (the painting
beside what the style makes of a sample photo: :func:`gallery_card`, its preview rendered once and cached when the
style folder ships none), and the hint under the *Fast network* checkbox (:func:`realtime_note`)."""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..catalog import Catalog, Variant
from ..checkpoint_check import check_checkpoint, load_network
from ..errors import CheckpointError
from ..files import atomic_output
from ..fingerprint import checkpoint_digest
from ..hub import InstalledStyle, installed_styles
from ..pipeline import Stylizer
from ..preview import render_preview
from .config import AppConfig

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger(__name__)

PREVIEW_NAME = "preview.jpg"
PAINTING_NAME = "painting.jpg"

#: ``networks(variants, source, device)``: a style's networks for one job on the video ``source``, by variant.
NetworkBuilder = Callable[[Sequence[str], Path, "torch.device"], dict[str, Stylizer]]
#: Why the temporal model rendered a style that has no fast network, when the fast one was asked for.
NO_FAST = "this style has none, so the temporal model was used"


@dataclass(frozen=True)
class GalleryStyle:
    """An installed style as the gallery shows it. ``has_framewise``: the baseline exists, so both can be compared;
    ``has_fast``: the real-time network exists.

    ``networks``: builds the style's networks for each job (a visitor's own painting, :mod:`vst.app.your_painting`);
    ``None``: the checkpoints of ``variants``, loaded once and shared by all jobs. ``no_fast`` and ``about``: what
    the result text says after a fall-back to the temporal model, and one more sentence about the style."""

    slug: str
    caption: str
    preview: Path  # the gallery image: the painting beside the style's rendering of a photo (see gallery_card)
    variants: dict[str, Path]  # variant -> checkpoint folder
    networks: NetworkBuilder | None = None
    no_fast: str = NO_FAST
    about: str = ""

    @property
    def has_framewise(self) -> bool:
        return Variant.FRAMEWISE in self.variants

    @property
    def has_fast(self) -> bool:
        return Variant.FAST in self.variants


def realtime_note(style: GalleryStyle | None, fast: bool = True) -> str:
    """The hint under the *Fast network* checkbox: what renders the selected style with the box as it is now
    (``fast``: ticked), and what the other setting does. It promises no speed: the result says what was measured."""
    if style is None:
        return "Uses a style's fast network where it has one."
    if not style.has_fast:
        return "This style has no fast network, so its full-size temporal model renders it either way."
    if fast:
        return ("The fast network: a much smaller model, compared with its own framewise twin. Untick for the "
                "full-size temporal model (finer, slower).")
    return ("The full-size temporal model, compared with the framewise baseline (finer, slower). Tick for the fast "
            "network.")


def cached_preview(slug: str, checkpoint: Path, out_dir: Path) -> Path:
    """``<out_dir>/<slug>-<key>.jpg``: the checkpoint's :func:`~vst.preview.render_preview`, rendered once and
    cached (for a style folder without its ``preview.jpg``)."""
    out = Path(out_dir) / f"{slug}-{checkpoint_digest({Variant.TEMPORAL: checkpoint})}.jpg"
    if out.is_file():
        return out
    image = render_preview(load_network(checkpoint))
    with atomic_output(out, overwrite=True) as tmp:
        image.save(tmp, format="JPEG", quality=90)
    log.info("rendered the preview of %s into %s", slug, out)
    return out


def style_preview(style: InstalledStyle, previews_dir: Path) -> Path:
    """The style folder's ``preview.jpg`` (what the style's own model made of a sample photo), else a rendered one."""
    for folder in style.variants.values():
        shipped = folder.parent / PREVIEW_NAME
        if shipped.is_file():
            return shipped
    return cached_preview(style.slug, style.variants[Variant.TEMPORAL], previews_dir)


def style_painting(style: InstalledStyle) -> Path | None:
    """The painting's thumbnail (the catalog entry's ``thumbnail_path``, from its ``style.json``; else the style
    folder's ``painting.jpg``), if the style ships one."""
    if style.style is not None and style.style.thumbnail_path is not None:
        return style.style.thumbnail_path
    for folder in style.variants.values():
        if (folder.parent / PAINTING_NAME).is_file():
            return folder.parent / PAINTING_NAME
    return None


#: Width / height of every gallery card, so the cards fill their frames alike (no blank bands above or below).
CARD_RATIO = 2.6
#: Bumped when the cards are drawn differently, so that cached ones are drawn again.
CARD_VERSION = 2


def _cover(image: Any, width: int, height: int) -> Any:
    """``image`` scaled to cover ``width`` × ``height`` and cropped to it around its centre (a PIL image)."""
    from PIL import Image

    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    scaled = image.resize(size, Image.LANCZOS)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def card_image(painting: Image.Image | None, photo: Image.Image, height: int = 240) -> Image.Image:
    """A gallery card (RGB, :data:`CARD_RATIO` wide): ``painting`` (left, whole, ``height`` px high; at most 60% of
    the card) beside ``photo``, what the style makes of a photo (right, cropped around its centre to fill the rest),
    with a thin gap; ``photo`` alone without a painting."""
    from PIL import Image

    width, gap = round(height * CARD_RATIO), 6
    card = Image.new("RGB", (width, height), (255, 255, 255))
    photo = photo.convert("RGB")
    if painting is None:
        card.paste(_cover(photo, width, height), (0, 0))
    else:
        art = painting.convert("RGB")
        art_width = min(round(art.width * height / art.height), round(width * 0.6))
        card.paste(_cover(art, art_width, height), (0, 0))
        card.paste(_cover(photo, width - art_width - gap, height), (art_width + gap, 0))
    return card


def gallery_card(slug: str, painting: Path | None, preview: Path, out_dir: Path, height: int = 240) -> Path:
    """``<out_dir>/<slug>-card-<key>.jpg``: :func:`card_image` of the painting's file (if the style ships one) and
    the preview's. Made once and cached."""
    from PIL import Image

    sources = [p for p in (painting, preview) if p is not None]
    stamp = "|".join([f"v{CARD_VERSION}"] + [f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sources])
    out = Path(out_dir) / f"{slug}-card-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}.jpg"
    if out.is_file():
        return out
    with contextlib.ExitStack() as stack:
        photo = stack.enter_context(Image.open(preview))
        art = stack.enter_context(Image.open(painting)) if painting is not None else None
        card = card_image(art, photo, height)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with atomic_output(out, overwrite=True) as tmp:
        card.save(tmp, format="JPEG", quality=88)
    return out


def _usable_variants(style: InstalledStyle) -> InstalledStyle:
    """``style`` without the variants whose checkpoint fails :func:`vst.checkpoint_check.check_checkpoint` (headers
    only, nothing loaded); each one left out is logged as an error with the reason."""
    variants = {}
    for variant, folder in style.variants.items():
        try:
            check_checkpoint(folder)
        except CheckpointError as err:
            log.error("the app leaves out '%s' (%s): %s", style.slug, variant, err)
            continue
        variants[variant] = folder
    return InstalledStyle(style.slug, style.caption, variants, style.style)


def gallery_styles(config: AppConfig, catalog: Catalog | None = None) -> list[GalleryStyle]:
    """The installed styles of ``catalog`` (default: :func:`vst.catalog.load_catalog` now) that have the temporal
    model (what the app renders), in catalog order, each with its gallery image (:func:`gallery_card`: the painting
    beside the style's rendering of a photo). The styles listed from the Hub (``VST_HUB_STYLES``) are downloaded
    first when the Hub is reachable."""
    found = []
    for style in installed_styles(download=True, catalog=catalog):
        style = _usable_variants(style)
        if Variant.TEMPORAL not in style.variants:
            log.warning("the app skips '%s': only its %s variant is installed", style.slug, ", ".join(style.variants))
            continue
        preview = style_preview(style, config.previews_dir)
        card = gallery_card(style.slug, style_painting(style), preview, config.previews_dir)
        found.append(GalleryStyle(style.slug, style.caption, card, dict(style.variants)))
    return found


NO_STYLE_MESSAGE = (
    "**No style is installed yet.** This app only shows trained styles, never an untrained network. Train one with "
    "`python -m training train --style-image painting.jpg --name my-style` (and `--framewise` for the baseline), "
    "export it with `python -m training export --slug starry-night ...` into `vst/checkpoints/<slug>/` (or point "
    "`VST_CHECKPOINT_DIR` at the folder), then restart the app. See the README's *Training* section."
)

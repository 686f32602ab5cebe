"""A style's metadata for an export: the ``--title --artist --year --source-url --painting-license`` flags over what
the style folder (or the catalog) already says, and the painting thumbnail written beside it."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

from PIL import Image, ImageOps

from vst.catalog import STYLE_FILE, Style, check_slug, load_catalog, read_style_file
from vst.errors import StyleNotFoundError, VSTError

#: Long side of the painting thumbnail (``painting.jpg``) in pixels.
THUMBNAIL_SIZE = 512
#: Flag -> :class:`~vst.catalog.Style` field.
METADATA_FLAGS = {"title": "title", "artist": "artist", "year": "year", "source_url": "source_url",
                  "painting_license": "painting_license"}


def slug_argument(value: str) -> str:
    """argparse ``type=`` for ``--slug``: any valid slug (lowercase words joined by hyphens)."""
    try:
        return check_slug(value)
    except StyleNotFoundError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def add_metadata_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group(
        "style metadata", "written to style.json and the model card; default: the style folder's style.json, else the "
                          "catalog's entry for --slug (a new slug needs at least --title)")
    group.add_argument("--title", help='the painting\'s title, e.g. "Woman with a Hat"')
    group.add_argument("--artist", help='e.g. "Henri Matisse"')
    group.add_argument("--year", help='e.g. 1905 or "c. 1831"')
    group.add_argument("--source-url", help="where the painting comes from (e.g. its Wikimedia Commons page)")
    group.add_argument("--painting-license", help='the painting\'s license, e.g. "public domain"')


def resolve_metadata(slug: str, args: argparse.Namespace, *, folder: Path | None = None) -> Style:
    """The style's metadata: ``folder/style.json`` if it exists, else the catalog's entry for ``slug``, with the flags
    given in ``args`` on top. ``VSTError`` (before any training) when a new slug has no ``--title``."""
    check_slug(slug)
    given = {field: getattr(args, flag) for flag, field in METADATA_FLAGS.items() if getattr(args, flag, None)}
    base: Style | None = None
    if folder is not None and (folder / STYLE_FILE).is_file():
        base = read_style_file(folder / STYLE_FILE)
        if base.slug != slug:
            raise VSTError(f"{folder / STYLE_FILE} belongs to style '{base.slug}', not '{slug}'")
    elif slug in (catalog := load_catalog()):
        base = catalog[slug]
    if base is None:
        if "title" not in given:
            raise VSTError(f"'{slug}' is a new style: give its metadata with --title (and --artist, --year, "
                           f"--source-url, --painting-license)")
        return Style(slug, **given)
    return replace(base, folder=None, **given)


def write_thumbnail(painting: Path, out: Path, size: int = THUMBNAIL_SIZE) -> Path:
    """``out``: the painting as an RGB JPEG whose long side is at most ``size`` pixels (EXIF rotation applied)."""
    with Image.open(painting) as image:
        thumb = ImageOps.exif_transpose(image).convert("RGB")
    thumb.thumbnail((size, size), Image.LANCZOS)
    thumb.save(out, format="JPEG", quality=90)
    return out

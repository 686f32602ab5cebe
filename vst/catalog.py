"""The style catalog, read from data: every style folder's ``style.json``, bundled or on the Hugging Face Hub.

A style folder's layout and its metadata (:class:`Style`) are :mod:`vst.style_folder`'s; this module lists the styles.
The catalog is the bundled folder's styles (``VST_CHECKPOINT_DIR``, default ``vst/checkpoints``; ordered by their
``order`` then slug) followed by the Hub repos listed in ``VST_HUB_STYLES`` (comma-separated repo ids) and in the file
``VST_HUB_STYLES_FILE`` (default ``hub_styles.txt`` in the working directory, one repo id per line), whose metadata the
Hub client (:mod:`vst.hub_client`) reads. Adding a style is adding data: no code names a painting. :data:`STYLES` is a
live, read-only view of it.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from .errors import StyleNotFoundError
from .hub_client import hub_style
from .style_folder import (  # noqa: F401  (the style metadata's names, re-exported: long imported from here)
    ALL_VARIANTS,
    CONFIG_FILE,
    DEFAULT_HUB_NAMESPACE,
    DEFAULT_VARIANT,
    FAST_FRAMEWISE_VARIANT,
    FAST_VARIANT,
    LIVE_VARIANT,
    SLUG_PATTERN,
    STYLE_FILE,
    VARIANTS,
    Style,
    check_slug,
    check_variant,
    default_repo_id,
    read_style_file,
    style_from_dict,
    write_style_file,
)

log = logging.getLogger(__name__)

#: The folder of the any-painting network (:mod:`vst.any_painting`) beside the style folders: not a style, never listed.
ANY_PAINTING = "any-painting"
#: Where the bundled styles live; ``VST_CHECKPOINT_DIR`` points elsewhere (tests, custom deployments).
PACKAGE_CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_HUB_STYLES_FILE = "hub_styles.txt"
#: A Hub repo id: ``owner/name``.
REPO_ID_PATTERN = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def bundled_dir() -> Path:
    return Path(os.environ.get("VST_CHECKPOINT_DIR", PACKAGE_CHECKPOINT_DIR))


def is_bundled(style: Style) -> bool:
    """Whether ``style`` was read from the bundled folder (rather than from a Hub repo)."""
    return style.folder is not None and style.folder.parent == bundled_dir()


def has_checkpoints(folder: Path) -> bool:
    return any((folder / variant / CONFIG_FILE).is_file() for variant in ALL_VARIANTS)


def _folder_signature(root: Path) -> tuple[tuple[str, int], ...]:
    """What the bundled catalog depends on: each style folder's ``style.json`` modification time (or -1)."""
    if not root.is_dir():
        return ()
    signature = []
    for folder in sorted(p for p in root.iterdir()
                         if p.is_dir() and not p.name.startswith(".") and p.name != ANY_PAINTING):
        meta = folder / STYLE_FILE
        signature.append((folder.name, meta.stat().st_mtime_ns if meta.is_file() else -1))
    return tuple(signature)


_bundled_cache: dict[tuple[str, tuple[tuple[str, int], ...]], tuple[list[Style], list[str]]] = {}


def bundled_styles(root: Path | None = None) -> tuple[list[Style], list[str]]:
    """The styles of the bundled folder (each subfolder with a ``style.json``, but :data:`ANY_PAINTING`) and the
    problems found reading it.

    A subfolder with checkpoints but no ``style.json`` (an export older than the metadata files) is listed under its
    slug as its title, and the problem says so; one whose ``style.json`` is invalid or names another slug is left out.
    """
    root = Path(root or bundled_dir())
    key = (str(root), _folder_signature(root))
    if key in _bundled_cache:
        return _bundled_cache[key]
    styles: list[Style] = []
    problems: list[str] = []
    for name, mtime in key[1]:
        folder = root / name
        if mtime < 0:
            if has_checkpoints(folder) and SLUG_PATTERN.fullmatch(name):
                styles.append(Style(name, name, folder=folder))
                problems.append(f"{folder} has no {STYLE_FILE}: listed as '{name}' without title, artist or year")
            continue
        try:
            style = read_style_file(folder / STYLE_FILE)
        except StyleNotFoundError as err:
            problems.append(str(err))
            continue
        if style.slug != name:
            problems.append(f"{folder / STYLE_FILE} names slug '{style.slug}' but its folder is '{name}'; left out")
            continue
        styles.append(style)
    styles.sort(key=lambda s: (s.order is None, s.order or 0, s.slug))
    _bundled_cache.clear()  # one folder at a time is enough: tests switch folders, the app never does
    _bundled_cache[key] = (styles, problems)
    return styles, problems


def parse_repo_ids(text: str) -> list[str]:
    """Repo ids from ``text``: separated by commas, whitespace or new lines; ``#`` starts a comment."""
    ids = []
    for line in text.splitlines():
        ids.extend(part for part in re.split(r"[,\s]+", line.split("#", 1)[0]) if part)
    return ids


def hub_style_repos() -> list[str]:
    """The Hub repo ids configured as styles: ``VST_HUB_STYLES``, then the lines of ``VST_HUB_STYLES_FILE`` (default
    ``hub_styles.txt`` in the working directory, if it exists; set to an empty value, no file)."""
    ids = parse_repo_ids(os.environ.get("VST_HUB_STYLES", ""))
    name = os.environ.get("VST_HUB_STYLES_FILE", DEFAULT_HUB_STYLES_FILE)  # set but empty: no file
    listing = Path(name)
    if name and listing.is_file():
        ids.extend(parse_repo_ids(listing.read_text(encoding="utf-8")))
    elif name and "VST_HUB_STYLES_FILE" in os.environ:
        log.warning("VST_HUB_STYLES_FILE=%s does not exist; no Hub styles are read from it", listing)
    return list(dict.fromkeys(ids))


_logged_problems: set[str] = set()


@dataclass(frozen=True)
class Catalog:
    """Every style by slug, in display order, and one line per style source that could not be read."""

    styles: dict[str, Style]
    problems: tuple[str, ...] = ()


def load_catalog() -> Catalog:
    """Bundled styles, then the configured Hub styles (metadata downloaded once per process, or read from the Hub cache
    when offline: see :func:`vst.hub_client.hub_style`). A slug already listed keeps its first source."""
    styles, problems = bundled_styles()
    found = {s.slug: s for s in styles}
    problems = list(problems)
    for repo_id in hub_style_repos():
        if not REPO_ID_PATTERN.fullmatch(repo_id):
            problems.append(f"'{repo_id}' in the Hub style list is not a repo id (owner/name)")
            continue
        try:
            style = hub_style(repo_id)
        except StyleNotFoundError as err:
            problems.append(str(err))
            continue
        if style.slug in found:
            problems.append(f"{repo_id} holds style '{style.slug}', which {found[style.slug].repo_id} already "
                            f"provides; the first one is used")
            continue
        found[style.slug] = style
    for problem in problems:
        if problem not in _logged_problems:  # once per process: the catalog is re-read on every use
            _logged_problems.add(problem)
            log.warning("style catalog: %s", problem)
    return Catalog(found, tuple(problems))


class _LiveStyles(Mapping[str, Style]):
    """Read-only ``{slug: Style}`` view of :func:`load_catalog`, re-read on each use (cheap: cached per folder and repo)."""

    def __getitem__(self, slug: str) -> Style:
        return load_catalog().styles[slug]

    def __iter__(self) -> Iterator[str]:
        return iter(load_catalog().styles)

    def __len__(self) -> int:
        return len(load_catalog().styles)

    def __contains__(self, slug: object) -> bool:
        return slug in load_catalog().styles

    def __repr__(self) -> str:
        return f"STYLES({', '.join(self)})"


#: Every style of the catalog by slug, in display order (a live view: see :func:`load_catalog`).
STYLES: Mapping[str, Style] = _LiveStyles()


def get_style(slug: str) -> Style:
    """The catalog entry for ``slug``; ``StyleNotFoundError`` listing the known slugs (and unreadable sources)."""
    catalog = load_catalog()
    try:
        return catalog.styles[slug]
    except KeyError:
        known = ", ".join(catalog.styles) or "none"
        unread = f"; not readable: {' | '.join(catalog.problems)}" if catalog.problems else ""
        raise StyleNotFoundError(f"unknown style '{slug}'; known styles: {known}{unread}") from None

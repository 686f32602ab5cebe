"""The style catalog, read from data: every style folder's ``style.json``, bundled or on the Hugging Face Hub.

A style folder's layout and its metadata (:class:`Style`) are :mod:`vst.style_folder`'s; this module lists the styles.
The catalog is the bundled folder's styles (:func:`bundled_dir`; ordered by their ``order`` then slug) followed by the
Hub repos listed in ``VST_HUB_STYLES`` and in the file ``VST_HUB_STYLES_FILE`` (:mod:`vst.settings`), whose metadata
the Hub client (:mod:`vst.hub_client`) reads. Adding a style is adding data: no code names a painting.

:func:`load_catalog` reads it into an immutable :class:`Catalog`. A process loads it once where it starts (the app's
start-up, a command, a benchmark) and passes it on; the functions that take an optional ``catalog`` load one for the
call when given none.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from . import settings
from .errors import StyleNotFoundError
from .hub_client import hub_style
from .style_folder import (  # noqa: F401  (the style metadata's names, re-exported: long imported from here)
    ALL_VARIANTS,
    CONFIG_FILE,
    DEFAULT_VARIANT,
    SLUG_PATTERN,
    STYLE_FILE,
    VARIANTS,
    Style,
    Variant,
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
#: Where the bundled styles live, unless ``VST_CHECKPOINT_DIR`` points elsewhere (tests, custom deployments).
PACKAGE_CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
#: A Hub repo id: ``owner/name``.
REPO_ID_PATTERN = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def bundled_dir() -> Path:
    """The bundled style folders: ``VST_CHECKPOINT_DIR`` (:func:`vst.settings.checkpoint_dir`), else
    :data:`PACKAGE_CHECKPOINT_DIR`."""
    folder = settings.checkpoint_dir()
    return PACKAGE_CHECKPOINT_DIR if folder is None else folder


def is_bundled(style: Style) -> bool:
    """Whether ``style`` was read from the bundled folder (rather than from a Hub repo)."""
    return style.folder is not None and style.folder.parent == bundled_dir()


def has_checkpoints(folder: Path) -> bool:
    return any((folder / variant / CONFIG_FILE).is_file() for variant in ALL_VARIANTS)


def bundled_styles(root: Path | None = None) -> tuple[list[Style], list[str]]:
    """The styles of the bundled folder (each subfolder with a ``style.json``, but :data:`ANY_PAINTING`) and the
    problems found reading it.

    A subfolder with checkpoints but no ``style.json`` (an export older than the metadata files) is listed under its
    slug as its title, and the problem says so; one whose ``style.json`` is invalid or names another slug is left out.
    """
    root = Path(root or bundled_dir())
    styles: list[Style] = []
    problems: list[str] = []
    if not root.is_dir():
        return styles, problems
    for folder in sorted(p for p in root.iterdir()
                         if p.is_dir() and not p.name.startswith(".") and p.name != ANY_PAINTING):
        name = folder.name
        if not (folder / STYLE_FILE).is_file():
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
    return styles, problems


def parse_repo_ids(text: str) -> list[str]:
    """Repo ids from ``text``: separated by commas, whitespace or new lines; ``#`` starts a comment."""
    ids = []
    for line in text.splitlines():
        ids.extend(part for part in re.split(r"[,\s]+", line.split("#", 1)[0]) if part)
    return ids


def hub_style_repos() -> list[str]:
    """The Hub repo ids configured as styles: ``VST_HUB_STYLES``, then the lines of ``VST_HUB_STYLES_FILE``
    (:mod:`vst.settings`; by default ``hub_styles.txt`` in the working directory, if it exists)."""
    ids = parse_repo_ids(settings.hub_styles())
    listing = settings.hub_styles_file()
    if listing.path is not None and listing.path.is_file():
        ids.extend(parse_repo_ids(listing.path.read_text(encoding="utf-8")))
    elif listing.path is not None and listing.named:
        log.warning("VST_HUB_STYLES_FILE=%s does not exist; no Hub styles are read from it", listing.path)
    return list(dict.fromkeys(ids))


_logged_problems: set[str] = set()


@dataclass(frozen=True)
class Catalog(Mapping[str, Style]):
    """Every style by slug, in display order, and one line per style source that could not be read.

    Read-only, and a mapping itself: ``slug in catalog``, ``catalog[slug]`` (``KeyError`` when unknown; see
    :func:`get_style` for the user-facing error), iteration over the slugs in display order."""

    styles: Mapping[str, Style]
    problems: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "styles", MappingProxyType(dict(self.styles)))
        object.__setattr__(self, "problems", tuple(self.problems))

    def __getitem__(self, slug: str) -> Style:
        return self.styles[slug]

    def __contains__(self, slug: object) -> bool:
        return slug in self.styles

    def __iter__(self) -> Iterator[str]:
        return iter(self.styles)

    def __len__(self) -> int:
        return len(self.styles)


def load_catalog() -> Catalog:
    """Read the catalog now: the bundled styles, then the configured Hub styles (their metadata downloaded once per
    process, or read from the Hub cache when offline: see :func:`vst.hub_client.hub_style`). A slug already listed
    keeps its first source. Each problem is logged once per process."""
    styles, problems = bundled_styles()
    found = {s.slug: s for s in styles}
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
        if problem not in _logged_problems:  # a library call given no catalog loads one of its own
            _logged_problems.add(problem)
            log.warning("style catalog: %s", problem)
    return Catalog(found, tuple(problems))


def get_style(slug: str, catalog: Catalog | None = None) -> Style:
    """The entry for ``slug`` in ``catalog`` (default: :func:`load_catalog` now); ``StyleNotFoundError`` listing the
    known slugs (and unreadable sources)."""
    catalog = load_catalog() if catalog is None else catalog
    try:
        return catalog[slug]
    except KeyError:
        known = ", ".join(catalog) or "none"
        unread = f"; not readable: {' | '.join(catalog.problems)}" if catalog.problems else ""
        raise StyleNotFoundError(f"unknown style '{slug}'; known styles: {known}{unread}") from None

"""The style catalog, read from data: every style folder's ``style.json``, bundled or on the Hugging Face Hub.

A style folder (``vst/checkpoints/<slug>/``, an export of ``python -m training export``, a Hub model repo) holds::

    style.json       the painting's metadata (:class:`Style`): slug, title, artist, year, source link, license, files
    painting.jpg     a small thumbnail of the painting (``Style.thumbnail``)
    preview.jpg      the temporal model's output on a sample photo (``Style.preview``)
    README.md        the model card (its YAML front matter carries the same metadata under ``vst_style``)
    temporal/ framewise/ fast/   one checkpoint folder per variant

The catalog is the bundled folder's styles (``VST_CHECKPOINT_DIR``, default ``vst/checkpoints``; ordered by their
``order`` then slug) followed by the Hub repos listed in ``VST_HUB_STYLES`` (comma-separated repo ids) and in the file
``VST_HUB_STYLES_FILE`` (default ``hub_styles.txt`` in the working directory, one repo id per line). Adding a style is
adding data: no code names a painting. :data:`STYLES` is a live, read-only view of it.
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .errors import StyleNotFoundError

log = logging.getLogger(__name__)

#: ``temporal``: trained with the temporal loss (the steady one). ``framewise``: the same network and settings without it.
#: These two are the A/B pair of the vote.
VARIANTS: tuple[str, ...] = ("temporal", "framewise")
#: The real-time network distilled from the temporal one (``FastStyleNet``); optional per style.
FAST_VARIANT = "fast"
#: The fast network's framewise twin: same size and recipe, trained without the temporal term (``python -m training
#: distill --framewise``); optional per style. The app compares the fast network with it, like with like.
FAST_FRAMEWISE_VARIANT = "fast-framewise"
#: The Live tab's in-browser network: the fast network distilled into a third of its arithmetic (``python -m training
#: distill --live``), with its ``model.onnx``; optional per style (the Live tab runs the fast network without it).
LIVE_VARIANT = "live"
ALL_VARIANTS: tuple[str, ...] = (*VARIANTS, FAST_VARIANT, FAST_FRAMEWISE_VARIANT, LIVE_VARIANT)
DEFAULT_VARIANT = "temporal"
#: Hub namespace (user or organisation) of a bundled style's repo ``<namespace>/vst-<slug>``; ``VST_HUB_NAMESPACE``.
DEFAULT_HUB_NAMESPACE = "vst-video"
#: The folder of the any-painting network (:mod:`vst.any_painting`) beside the style folders: not a style, never listed.
ANY_PAINTING = "any-painting"
#: The metadata file of a style folder.
STYLE_FILE = "style.json"
#: Where the bundled styles live; ``VST_CHECKPOINT_DIR`` points elsewhere (tests, custom deployments).
PACKAGE_CHECKPOINT_DIR = Path(__file__).resolve().parent / "checkpoints"
DEFAULT_HUB_STYLES_FILE = "hub_styles.txt"
#: A slug: lowercase letters and digits in words joined by single hyphens (``woman-with-a-hat``), at most 64 characters.
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
#: A Hub repo id: ``owner/name``.
REPO_ID_PATTERN = re.compile(r"[A-Za-z0-9][\w.-]*/[\w.-]+")


def bundled_dir() -> Path:
    return Path(os.environ.get("VST_CHECKPOINT_DIR", PACKAGE_CHECKPOINT_DIR))


def default_repo_id(slug: str) -> str:
    """``<VST_HUB_NAMESPACE or vst-video>/vst-<slug>``: the Hub repo of a bundled style."""
    return f"{os.environ.get('VST_HUB_NAMESPACE', DEFAULT_HUB_NAMESPACE)}/vst-{slug}"


def check_slug(slug: str) -> str:
    """``slug`` if it is a valid style slug, else ``StyleNotFoundError`` saying what a slug looks like."""
    if not (isinstance(slug, str) and len(slug) <= 64 and SLUG_PATTERN.fullmatch(slug)):
        raise StyleNotFoundError(f"invalid style slug {slug!r}: use lowercase letters, digits and single hyphens, "
                                 f"e.g. woman-with-a-hat")
    return slug


@dataclass(frozen=True)
class Style:
    """One painting style as its ``style.json`` describes it.

    ``thumbnail`` and ``preview`` are file names in the style folder. ``repo_id`` is the Hub model repo holding its
    variants (one subfolder each); ``folder`` is where its files were read from (bundled folder or Hub snapshot);
    ``order`` sorts the bundled styles (lower first). The last three are not written to ``style.json``.
    """

    slug: str
    title: str
    artist: str = ""
    year: str = ""
    source_url: str = ""
    painting_license: str = ""
    thumbnail: str = "painting.jpg"
    preview: str = "preview.jpg"
    order: int | None = None
    repo_id: str = field(default="", compare=False)
    folder: Path | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        check_slug(self.slug)
        if not self.title.strip():
            raise StyleNotFoundError(f"style '{self.slug}' has no title")
        for name in (self.thumbnail, self.preview):
            if Path(name).name != name or name.startswith("."):
                raise StyleNotFoundError(f"style '{self.slug}': {name!r} must be a plain file name in the style folder")
        if not self.repo_id:
            object.__setattr__(self, "repo_id", default_repo_id(self.slug))

    @property
    def commons_url(self) -> str:  # the name callers used before the catalog became data
        return self.source_url

    @property
    def caption(self) -> str:
        """E.g. ``The Starry Night — Vincent van Gogh, 1889`` (missing parts left out)."""
        by = ", ".join(part for part in (self.artist, self.year) if part)
        return f"{self.title} — {by}" if by else self.title

    @property
    def thumbnail_path(self) -> Path | None:
        """The painting thumbnail on disk, or None when the folder has none."""
        return self._file(self.thumbnail)

    @property
    def preview_path(self) -> Path | None:
        return self._file(self.preview)

    def _file(self, name: str) -> Path | None:
        path = self.folder / name if self.folder is not None else None
        return path if path is not None and path.is_file() else None

    def metadata(self) -> dict[str, object]:
        """What ``style.json`` holds (and the model card's ``vst_style``)."""
        data = {f.name: v for f, v in zip(fields(self), asdict(self).values(), strict=True)
                if f.name not in ("repo_id", "folder")}
        if data["order"] is None:
            del data["order"]
        return data


def style_from_dict(data: object, *, where: str) -> Style:
    """A :class:`Style` from parsed ``style.json`` content; ``StyleNotFoundError`` naming ``where`` when invalid."""
    if not isinstance(data, dict):
        raise StyleNotFoundError(f"{where}: expected a JSON object")
    known = {f.name for f in fields(Style)} - {"repo_id", "folder"}
    values = {k: v for k, v in data.items() if k in known}
    for key, value in values.items():
        expected = int if key == "order" else str
        if not isinstance(value, expected) or isinstance(value, bool):
            raise StyleNotFoundError(f"{where}: '{key}' must be a {expected.__name__}")
    missing = {"slug", "title"} - set(values)
    if missing:
        raise StyleNotFoundError(f"{where}: missing {', '.join(sorted(missing))}")
    try:
        return Style(**values)
    except StyleNotFoundError as err:
        raise StyleNotFoundError(f"{where}: {err}") from None


def read_style_file(path: Path, *, repo_id: str = "") -> Style:
    """The :class:`Style` of ``path`` (a ``style.json``), with ``folder`` set to its folder."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StyleNotFoundError(f"{path}: cannot read style metadata ({type(err).__name__}: {err})") from None
    style = style_from_dict(data, where=str(path))
    return replace(style, folder=Path(path).parent, repo_id=repo_id or style.repo_id)


def write_style_file(style: Style, folder: Path) -> Path:
    """Write ``folder/style.json`` (UTF-8, indented; the folder is created if needed) and return its path."""
    path = Path(folder) / STYLE_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(style.metadata(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return path


def is_bundled(style: Style) -> bool:
    """Whether ``style`` was read from the bundled folder (rather than from a Hub repo)."""
    return style.folder is not None and style.folder.parent == bundled_dir()


def has_checkpoints(folder: Path) -> bool:
    return any((folder / variant / "config.json").is_file() for variant in ALL_VARIANTS)


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
    when offline: see :func:`vst.hub.hub_style`). A slug already listed keeps its first source."""
    from .hub import hub_style  # here: vst.hub loads checkpoints and imports this module

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


def check_variant(variant: str) -> str:
    if variant not in ALL_VARIANTS:
        raise StyleNotFoundError(f"unknown variant '{variant}'; choose one of: {', '.join(ALL_VARIANTS)}")
    return variant

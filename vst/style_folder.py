"""A style folder's layout and metadata: what ``style.json`` says (:class:`Style`), the variant subfolders, and the
two files of each variant's checkpoint folder.

A style folder (``vst/checkpoints/<slug>/``, an export of ``python -m training export``, a Hub model repo) holds::

    style.json       the painting's metadata (:class:`Style`): slug, title, artist, year, source link, license, files
    painting.jpg     a small thumbnail of the painting (``Style.thumbnail``)
    preview.jpg      the temporal model's output on a sample photo (``Style.preview``)
    README.md        the model card (its YAML front matter carries the same metadata under ``vst_style``)
    temporal/ framewise/ fast/ ...   one checkpoint folder per variant (:class:`Variant`): config.json and
                     model.safetensors (:data:`CONFIG_FILE`, :data:`WEIGHTS_FILE`)

This module reads and writes that metadata and knows those names; it finds nothing (:mod:`vst.catalog` lists the styles,
:mod:`vst.hub` finds a variant's checkpoint) and imports only :mod:`vst.errors` and :mod:`vst.settings`.
"""

from __future__ import annotations

import enum
import json
import re
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path

from .errors import StyleNotFoundError
from .settings import hub_namespace


class Variant(enum.StrEnum):
    """A network of a style, named as its checkpoint subfolder: a member equals, hashes, prints and reprs as that name
    (``'fast'``), so that whatever it reaches (paths, JSON, SQLite, messages) reads as the plain string did; only
    orjson (Gradio's JSON) refuses one as a dict key.

    - ``TEMPORAL``: trained with the temporal loss (the steady one); the default.
    - ``FRAMEWISE``: the same network and settings trained without it. These two are the A/B pair of the vote and
      every style has them (:data:`VARIANTS`); the rest are optional.
    - ``FAST``: the real-time network, a lighter one (the teacher recipe: the teacher's network with two of its
      residual blocks, distilled from the teacher with the temporal term; older styles: from the temporal network);
      its folder also holds ``model.onnx``, the same network for the browser.
    - ``FAST_FRAMEWISE``: the fast network's framewise twin, same size and recipe without the temporal term
      (``python -m training distill --framewise``); the app compares the fast network with it, like with like.
    - ``LIVE``: the Live tab's in-browser network, lighter still, distilled from the fast one (the teacher recipe: one
      residual block), with its ``model.onnx`` (without it the Live tab runs ``FAST``).
    """

    TEMPORAL = "temporal"
    FRAMEWISE = "framewise"
    FAST = "fast"
    FAST_FRAMEWISE = "fast-framewise"
    LIVE = "live"

    def __repr__(self) -> str:
        return repr(self.value)


#: The two variants every style has: the A/B pair of the vote.
VARIANTS: tuple[Variant, ...] = (Variant.TEMPORAL, Variant.FRAMEWISE)
#: Every variant a style folder may hold, in this order.
ALL_VARIANTS: tuple[Variant, ...] = tuple(Variant)
DEFAULT_VARIANT = Variant.TEMPORAL
#: The metadata file of a style folder.
STYLE_FILE = "style.json"
#: The tensors of a checkpoint folder (what ``save_pretrained`` writes: safetensors, never a pickle).
WEIGHTS_FILE = "model.safetensors"
#: The network description of a checkpoint folder (its sizes and architecture; see :mod:`vst.checkpoint_check`).
CONFIG_FILE = "config.json"
#: A slug: lowercase letters and digits in words joined by single hyphens (``woman-with-a-hat``), at most 64 characters.
SLUG_PATTERN = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


def default_repo_id(slug: str) -> str:
    """``<namespace>/vst-<slug>``: the Hub repo of a bundled style (namespace: :func:`vst.settings.hub_namespace`)."""
    return f"{hub_namespace()}/vst-{slug}"


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


def check_variant(variant: str) -> str:
    if variant not in ALL_VARIANTS:
        raise StyleNotFoundError(f"unknown variant '{variant}'; choose one of: {', '.join(ALL_VARIANTS)}")
    return variant

def is_checkpoint_folder(path: Path) -> bool:
    """Whether ``path`` holds both files of a checkpoint (:data:`WEIGHTS_FILE` and :data:`CONFIG_FILE`); not checked."""
    return (path / WEIGHTS_FILE).is_file() and (path / CONFIG_FILE).is_file()

"""Finding and loading style checkpoints: the bundled folder first, then the Hugging Face Hub.

A style's variants live in the bundled folder, ``vst/checkpoints/<slug>/<variant>/`` (``VST_CHECKPOINT_DIR``), or in
its Hub repo, ``<repo>/<variant>/``; both are the layout of :mod:`vst.style_folder`, so the app works fully offline
with the bundled ones. :func:`resolve_checkpoint` finds a variant's folder (asking the Hub client, :mod:`vst.hub_client`,
when it is not bundled), :func:`load_model` loads it through :func:`vst.checkpoint_check.load_network` (checked,
strictly), and :func:`installed_styles` lists what is there without network.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import torch

from .catalog import Catalog, bundled_dir, get_style, is_bundled, load_catalog
from .checkpoint_check import load_network
from .errors import StyleNotFoundError, first_line
from .hub_client import HUB_ERRORS, cached_variant, download_variants, hub_reachable, hub_variant
from .model import StyleNet
from .style_folder import ALL_VARIANTS, CONFIG_FILE, WEIGHTS_FILE, Style, Variant, check_variant, is_checkpoint_folder

log = logging.getLogger(__name__)


def resolve_checkpoint(style: str, variant: str = Variant.TEMPORAL, *, catalog: Catalog | None = None) -> Path:
    """The folder holding ``style``'s ``variant`` checkpoint.

    ``style`` is a slug of ``catalog`` (default: :func:`vst.catalog.load_catalog` now), or a path to a checkpoint
    folder (then ``variant`` is ignored). Looks in the bundled folder, then the style's Hub repo (or the Hub cache when
    offline). ``StyleNotFoundError`` names every place that was tried.
    """
    as_path = Path(style)
    if as_path.is_dir():
        if is_checkpoint_folder(as_path):
            return as_path
        raise StyleNotFoundError(f"{as_path} is a folder but not a checkpoint (needs {WEIGHTS_FILE} and {CONFIG_FILE})")
    entry = get_style(style, catalog)
    check_variant(variant)
    local = bundled_dir() / entry.slug / variant
    if is_checkpoint_folder(local):
        return local
    online = hub_reachable()
    try:
        return hub_variant(entry.repo_id, variant)
    except HUB_ERRORS as err:
        if online:
            where = f"on the Hub at {entry.repo_id}/{variant} ({first_line(err)})"
        else:
            where = f"in the local Hub cache for {entry.repo_id}/{variant} (the Hub is offline)"
        raise StyleNotFoundError(
            f"style '{entry.slug}' ({variant}) is not installed: not in {local} nor {where}"
        ) from None


def load_model(style: str, variant: str = Variant.TEMPORAL, *, device: str | torch.device = "cpu",
               catalog: Catalog | None = None) -> StyleNet:
    """Load a style checkpoint (see :func:`resolve_checkpoint`) as an eval-mode :class:`StyleNet` on ``device``."""
    folder = resolve_checkpoint(style, variant, catalog=catalog)
    model = load_network(folder)
    log.info("loaded %s (%s) from %s", style, variant, folder)
    return model.eval().to(device)


@dataclass(frozen=True)
class InstalledStyle:
    slug: str
    caption: str
    variants: dict[str, Path]  # variant -> checkpoint folder, only those available without network
    style: Style | None = None  # the catalog entry: title, artist, thumbnail ...


def installed_styles(*, download: bool = False, catalog: Catalog | None = None) -> list[InstalledStyle]:
    """The styles of ``catalog`` (default: :func:`vst.catalog.load_catalog` now) with at least one variant bundled (or
    in the Hub cache), in catalog order.

    Without ``download`` nothing is downloaded (but, when no catalog is given, the catalog's metadata); with it (the
    app, at start-up), the styles listed from the Hub get their variants first
    (:func:`vst.hub_client.download_variants`).
    """
    catalog = load_catalog() if catalog is None else catalog
    found = []
    for slug, entry in catalog.items():
        if download and not is_bundled(entry):
            download_variants(entry)
        variants: dict[str, Path] = {}
        for variant in ALL_VARIANTS:
            local = bundled_dir() / slug / variant
            folder = local if is_checkpoint_folder(local) else cached_variant(entry.repo_id, variant)
            if folder is not None:
                variants[variant] = folder
        if variants:
            found.append(InstalledStyle(slug, entry.caption, variants, entry))
    return found

"""Finding and loading style checkpoints: the bundled folder first, then the Hugging Face Hub.

A style's Hub repo (``Style.repo_id``) holds one subfolder per variant (``temporal/``, ``framewise/``), each a
``StyleNet.save_pretrained`` folder (``model.safetensors`` + ``config.json``), next to its ``style.json`` (see
:mod:`vst.catalog`). The bundled copies use the same layout under ``vst/checkpoints/<slug>/<variant>/``, so the app
works fully offline.

Offline behaviour: with ``HF_HUB_OFFLINE=1`` only the local Hub cache is consulted (no network at all). Without it, a
one-second TCP probe of the Hub endpoint decides whether to ask the Hub or only the cache, so an unreachable Hub never
costs huggingface_hub's ~23-second retry loop.
"""

from __future__ import annotations

import functools
import logging
import socket
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from huggingface_hub import constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

from .catalog import (
    ALL_VARIANTS,
    PACKAGE_CHECKPOINT_DIR,  # noqa: F401  (re-exported: where the bundled checkpoints live)
    STYLE_FILE,
    Style,
    bundled_dir,
    check_variant,
    get_style,
    is_bundled,
    load_catalog,
    read_style_file,
)
from .errors import StyleNotFoundError
from .model import StyleNet, load_network

log = logging.getLogger(__name__)

WEIGHTS_FILE = "model.safetensors"


def is_checkpoint_folder(path: Path) -> bool:
    return (path / WEIGHTS_FILE).is_file() and (path / "config.json").is_file()


@functools.lru_cache(maxsize=1)
def hub_reachable(timeout: float = 1.0) -> bool:
    """False when ``HF_HUB_OFFLINE`` is set or the Hub endpoint does not accept a TCP connection within ``timeout``."""
    if constants.HF_HUB_OFFLINE:
        return False
    url = urlparse(constants.ENDPOINT)
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        with socket.create_connection((url.hostname or "", port), timeout=timeout):
            return True
    except OSError as err:
        log.info("Hugging Face Hub at %s is unreachable (%s); using bundled and cached checkpoints only", url.netloc, err)
        return False


def _first_line(err: Exception) -> str:
    return str(err).splitlines()[0] if str(err) else type(err).__name__


@functools.lru_cache(maxsize=64)
def _hub_style(repo_id: str, endpoint: str, cache: str) -> Style:
    online = hub_reachable()
    try:
        meta = Path(hf_hub_download(repo_id, STYLE_FILE, local_files_only=not online))
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError) as err:
        where = f"on the Hub ({_first_line(err)})" if online else "in the local Hub cache (the Hub is offline)"
        raise StyleNotFoundError(f"{repo_id}: no {STYLE_FILE} {where}") from None
    style = read_style_file(meta, repo_id=repo_id)
    for name in (style.thumbnail, style.preview):  # the gallery's pictures, into the same snapshot folder
        try:
            hf_hub_download(repo_id, name, revision=meta.parent.name, local_files_only=not online)
        except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError) as err:
            log.warning("%s: %s is not available (%s); the style is listed without it", repo_id, name, _first_line(err))
    return style


def hub_style(repo_id: str) -> Style:
    """The :class:`Style` of a Hub model repo, read from its ``style.json`` (downloaded with its thumbnail and preview
    into the Hub cache, or read from the cache when the Hub is offline or unreachable). Once per process and repo.
    ``StyleNotFoundError`` (one line) when the metadata is nowhere to be read."""
    return _hub_style(repo_id, constants.ENDPOINT, str(constants.HF_HUB_CACHE))


#: What :func:`hub_variant` raises when a repo's variant is not to be had (offline, missing, HTTP error).
HUB_ERRORS = (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError)


def hub_variant(repo_id: str, variant: str) -> Path:
    """Download (or find in the Hub cache) ``repo_id/variant``; raises one of :data:`HUB_ERRORS` on failure."""
    online = hub_reachable()
    snapshot = snapshot_download(repo_id, allow_patterns=[f"{variant}/*"], local_files_only=not online)
    folder = Path(snapshot) / variant
    if not is_checkpoint_folder(folder):
        raise LocalEntryNotFoundError(f"{repo_id} has no {variant}/{WEIGHTS_FILE}")
    return folder


def resolve_checkpoint(style: str, variant: str = "temporal") -> Path:
    """The folder holding ``style``'s ``variant`` checkpoint.

    ``style`` is a catalog slug (:mod:`vst.catalog`), or a path to a checkpoint folder (then ``variant`` is ignored).
    Looks in the bundled folder, then the style's Hub repo (or the Hub cache when offline). ``StyleNotFoundError``
    names every place that was tried.
    """
    as_path = Path(style)
    if as_path.is_dir():
        if is_checkpoint_folder(as_path):
            return as_path
        raise StyleNotFoundError(f"{as_path} is a folder but not a checkpoint (needs {WEIGHTS_FILE} and config.json)")
    entry = get_style(style)
    check_variant(variant)
    local = bundled_dir() / entry.slug / variant
    if is_checkpoint_folder(local):
        return local
    online = hub_reachable()
    try:
        return hub_variant(entry.repo_id, variant)
    except HUB_ERRORS as err:
        if online:
            where = f"on the Hub at {entry.repo_id}/{variant} ({_first_line(err)})"
        else:
            where = f"in the local Hub cache for {entry.repo_id}/{variant} (the Hub is offline)"
        raise StyleNotFoundError(
            f"style '{entry.slug}' ({variant}) is not installed: not in {local} nor {where}"
        ) from None


def load_model(style: str, variant: str = "temporal", *, device: str | torch.device = "cpu") -> StyleNet:
    """Load a style checkpoint (see :func:`resolve_checkpoint`) as an eval-mode :class:`StyleNet` on ``device``."""
    folder = resolve_checkpoint(style, variant)
    model = load_network(folder)
    log.info("loaded %s (%s) from %s", style, variant, folder)
    return model.eval().to(device)


@dataclass(frozen=True)
class InstalledStyle:
    slug: str
    caption: str
    variants: dict[str, Path]  # variant -> checkpoint folder, only those available without network
    style: Style | None = None  # the catalog entry: title, artist, thumbnail ...


def download_variants(style: Style) -> None:
    """Fetch every variant of a style listed from the Hub into the Hub cache (when the Hub is reachable); a failure is
    logged, and the style then shows only the variants already cached."""
    if not hub_reachable():
        return
    try:
        snapshot_download(style.repo_id, allow_patterns=[f"{variant}/*" for variant in ALL_VARIANTS])
    except (LocalEntryNotFoundError, HfHubHTTPError) as err:
        log.warning("could not download the checkpoints of %s from %s: %s", style.slug, style.repo_id, _first_line(err))


def installed_styles(*, download: bool = False) -> list[InstalledStyle]:
    """Catalog styles with at least one variant bundled (or in the Hub cache), in catalog order.

    Without ``download`` nothing is downloaded but the catalog's metadata (see :func:`vst.catalog.load_catalog`);
    with it (the app, at start-up), the styles listed from the Hub get their variants first (:func:`download_variants`).
    """
    found = []
    for slug, entry in load_catalog().styles.items():
        if download and not is_bundled(entry):
            download_variants(entry)
        variants: dict[str, Path] = {}
        for variant in ALL_VARIANTS:
            local = bundled_dir() / slug / variant
            if is_checkpoint_folder(local):
                variants[variant] = local
                continue
            try:
                variants[variant] = Path(
                    snapshot_download(entry.repo_id, allow_patterns=[f"{variant}/*"], local_files_only=True)
                ) / variant
            except LocalEntryNotFoundError:  # IncompleteSnapshotError too: another variant was downloaded, not this one
                continue
            if not is_checkpoint_folder(variants[variant]):
                del variants[variant]
        if variants:
            found.append(InstalledStyle(slug, entry.caption, variants, entry))
    return found

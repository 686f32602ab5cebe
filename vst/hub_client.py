"""The Hugging Face Hub client: a style repo's metadata and its variants' checkpoint folders, downloaded into the Hub
cache, or read from that cache when the Hub is offline.

A style's Hub repo (``Style.repo_id``) holds one subfolder per variant (``temporal/``, ``framewise/`` ...), each a
``StyleNet.save_pretrained`` folder (``model.safetensors`` + ``config.json``), next to its ``style.json`` (the layout of
:mod:`vst.style_folder`). This module knows repos, not the catalog: :mod:`vst.catalog` lists the configured repos and
:mod:`vst.hub` decides between the bundled folder and the Hub.

Offline behaviour: with ``HF_HUB_OFFLINE=1`` only the local Hub cache is consulted (no network at all). Without it, a
one-second TCP probe of the Hub endpoint decides whether to ask the Hub or only the cache, so an unreachable Hub never
costs huggingface_hub's ~23-second retry loop.
"""

from __future__ import annotations

import functools
import logging
import socket
from pathlib import Path
from urllib.parse import urlparse

from huggingface_hub import constants, hf_hub_download, snapshot_download
from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError, OfflineModeIsEnabled

from .errors import StyleNotFoundError, first_line
from .style_folder import ALL_VARIANTS, STYLE_FILE, WEIGHTS_FILE, Style, is_checkpoint_folder, read_style_file

log = logging.getLogger(__name__)

#: What :func:`hub_variant` raises when a repo's variant is not to be had (offline, missing, HTTP error).
HUB_ERRORS = (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError)


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


@functools.lru_cache(maxsize=64)
def _hub_style(repo_id: str, endpoint: str, cache: str) -> Style:
    online = hub_reachable()
    try:
        meta = Path(hf_hub_download(repo_id, STYLE_FILE, local_files_only=not online))
    except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError) as err:
        where = f"on the Hub ({first_line(err)})" if online else "in the local Hub cache (the Hub is offline)"
        raise StyleNotFoundError(f"{repo_id}: no {STYLE_FILE} {where}") from None
    style = read_style_file(meta, repo_id=repo_id)
    for name in (style.thumbnail, style.preview):  # the gallery's pictures, into the same snapshot folder
        try:
            hf_hub_download(repo_id, name, revision=meta.parent.name, local_files_only=not online)
        except (LocalEntryNotFoundError, OfflineModeIsEnabled, HfHubHTTPError) as err:
            log.warning("%s: %s is not available (%s); the style is listed without it", repo_id, name, first_line(err))
    return style


def hub_style(repo_id: str) -> Style:
    """The :class:`Style` of a Hub model repo, read from its ``style.json`` (downloaded with its thumbnail and preview
    into the Hub cache, or read from the cache when the Hub is offline or unreachable). Once per process and repo.
    ``StyleNotFoundError`` (one line) when the metadata is nowhere to be read."""
    return _hub_style(repo_id, constants.ENDPOINT, str(constants.HF_HUB_CACHE))


def hub_variant(repo_id: str, variant: str) -> Path:
    """Download (or find in the Hub cache) ``repo_id/variant``; raises one of :data:`HUB_ERRORS` on failure."""
    online = hub_reachable()
    snapshot = snapshot_download(repo_id, allow_patterns=[f"{variant}/*"], local_files_only=not online)
    folder = Path(snapshot) / variant
    if not is_checkpoint_folder(folder):
        raise LocalEntryNotFoundError(f"{repo_id} has no {variant}/{WEIGHTS_FILE}")
    return folder


def cached_variant(repo_id: str, variant: str) -> Path | None:
    """``repo_id/variant``'s checkpoint folder in the Hub cache, or None when the cache has no complete one (no
    network)."""
    try:
        folder = Path(snapshot_download(repo_id, allow_patterns=[f"{variant}/*"], local_files_only=True)) / variant
    except LocalEntryNotFoundError:  # IncompleteSnapshotError too: another variant was downloaded, not this one
        return None
    return folder if is_checkpoint_folder(folder) else None


def download_variants(style: Style) -> None:
    """Fetch every variant of a style listed from the Hub into the Hub cache (when the Hub is reachable); a failure is
    logged, and the style then shows only the variants already cached."""
    if not hub_reachable():
        return
    try:
        snapshot_download(style.repo_id, allow_patterns=[f"{variant}/*" for variant in ALL_VARIANTS])
    except (LocalEntryNotFoundError, HfHubHTTPError) as err:
        log.warning("could not download the checkpoints of %s from %s: %s", style.slug, style.repo_id, first_line(err))

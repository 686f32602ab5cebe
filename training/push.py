"""Upload an exported style folder, or the any-painting network's folder, to the Hugging Face Hub."""

from __future__ import annotations

from pathlib import Path

from huggingface_hub import HfApi, get_token
from huggingface_hub.errors import HTTPError, OfflineModeIsEnabled

from vst.catalog import ANY_PAINTING, STYLE_FILE, read_style_file
from vst.conditional import read_conditional_config
from vst.errors import VSTError
from vst.style_folder import WEIGHTS_FILE, Variant


def files_to_push(folder: Path) -> list[Path]:
    """Every file under ``folder`` (relative paths, sorted); hidden files and ``.tmp`` leftovers excluded."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*")
                  if p.is_file() and not any(part.startswith(".") for part in p.relative_to(folder).parts))


def check_pushable(folder: Path) -> None:
    """A style export (``style.json`` and ``temporal/``), or the any-painting network's folder (``temporal/`` and
    ``framewise/`` in :mod:`vst.conditional`'s format, each checked); :class:`VSTError` naming what is missing."""
    if not (folder / Variant.TEMPORAL / WEIGHTS_FILE).is_file():
        raise VSTError(f"{folder} is not an exported style folder (no {Variant.TEMPORAL}/{WEIGHTS_FILE}); run export "
                       f"first")
    if folder.name == ANY_PAINTING:  # one network for any picture: no style.json, both variants checked
        for variant in (Variant.TEMPORAL, Variant.FRAMEWISE):
            read_conditional_config(folder / variant)
        return
    if not (folder / STYLE_FILE).is_file():
        raise VSTError(f"{folder} has no {STYLE_FILE} (the style's title, artist ...): re-export it with "
                       f"`python -m training export`")
    read_style_file(folder / STYLE_FILE)  # a broken one fails here, not in the app that lists the repo


def push(folder: Path, repo_id: str, *, dry_run: bool = False, private: bool = False, api: HfApi | None = None,
         message: str = "Upload vst style checkpoints") -> str:
    """Create ``repo_id`` if needed and upload ``folder``; returns the commit URL (or the file list on a dry run).

    The folder is an export (``style.json``, thumbnail, preview, model card, one subfolder per variant): the Hub repo
    gets the same layout, so adding ``repo_id`` to ``VST_HUB_STYLES`` lists the style in the app and the CLI.

    The token comes from ``HF_TOKEN`` or the ``huggingface-cli login`` cache; without one, a clear ``VSTError``.
    ``api`` lets tests inject an ``HfApi`` pointed at a local endpoint.
    """
    check_pushable(folder)
    files = files_to_push(folder)
    if dry_run:
        return "\n".join(f"would upload {repo_id}/{f}" for f in files)
    api = api or HfApi()
    if api.token is None and get_token() is None:
        raise VSTError("no Hugging Face token: set HF_TOKEN or run `hf auth login` first (or use --dry-run)")
    try:
        api.create_repo(repo_id, repo_type="model", private=private, exist_ok=True)
        info = api.upload_folder(repo_id=repo_id, folder_path=folder, repo_type="model", commit_message=message,
                                 allow_patterns=[str(f) for f in files])
    except OfflineModeIsEnabled:
        raise VSTError(f"cannot push to {repo_id}: HF_HUB_OFFLINE is set (unset it to upload)") from None
    except (HTTPError, ValueError) as err:  # HTTP status, network, or the Hub refusing the card's metadata
        reason = " ".join(str(err).split()) or type(err).__name__
        raise VSTError(f"push to {repo_id} at {api.endpoint} failed: {reason}") from None
    return str(info.commit_url)

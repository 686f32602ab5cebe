"""Finding checkpoints: bundled folder, Hub cache (offline), clear errors naming what was tried."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.model_fixtures import add_style_metadata
from vst.catalog import Style, default_repo_id, get_style, load_catalog, write_style_file
from vst.errors import StyleNotFoundError
from vst.hub import installed_styles, load_model, resolve_checkpoint
from vst.model import StyleNet

REPO = Path(__file__).resolve().parents[2]


def test_unknown_style_lists_known_ones() -> None:
    with pytest.raises(StyleNotFoundError, match="unknown style 'nope'.*starry-night"):
        get_style("nope")


def test_unknown_variant(tiny_checkpoints: Path) -> None:
    with pytest.raises(StyleNotFoundError, match="unknown variant"):
        resolve_checkpoint("starry-night", "sharpest")


def test_catalog_has_six_styles_with_hub_repos() -> None:
    """The bundled folder's style.json files (no code names a painting)."""
    catalog = load_catalog()
    assert len(catalog) == 6
    assert list(catalog)[:2] == ["starry-night", "great-wave"]  # their `order`
    for slug, style in catalog.items():
        assert style.repo_id.endswith(f"/vst-{slug}")
        assert style.title and style.artist and style.year and style.painting_license == "public domain"
        assert style.source_url.startswith("https://commons.wikimedia.org/")
        assert style.thumbnail_path is not None and style.preview_path is not None


def test_bundled_checkpoint_is_found_first(tiny_checkpoints: Path) -> None:
    folder = resolve_checkpoint("starry-night", "framewise")
    assert folder == tiny_checkpoints / "starry-night" / "framewise"
    assert isinstance(load_model("starry-night", "temporal"), StyleNet)
    slugs = [s.slug for s in installed_styles()]
    assert slugs == ["starry-night"]


def test_checkpoint_folder_path_is_accepted(tiny_checkpoints: Path) -> None:
    folder = tiny_checkpoints / "starry-night" / "temporal"
    assert resolve_checkpoint(str(folder)) == folder


def test_folder_without_weights_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(StyleNotFoundError, match="not a checkpoint"):
        resolve_checkpoint(str(tmp_path))


def test_missing_style_names_every_place_tried(empty_checkpoint_dir: Path) -> None:
    """A catalog style (its style.json is there) whose weights are neither bundled nor in the Hub cache."""
    add_style_metadata(empty_checkpoint_dir / "the-scream", "the-scream")
    start = time.perf_counter()
    with pytest.raises(StyleNotFoundError) as err:
        resolve_checkpoint("the-scream", "temporal")
    message = str(err.value)
    assert str(empty_checkpoint_dir / "the-scream" / "temporal") in message
    assert get_style("the-scream").repo_id == default_repo_id("the-scream") and default_repo_id("the-scream") in message
    assert "\n" not in message
    assert time.perf_counter() - start < 3.0  # no huggingface_hub retry stall


def test_a_slug_outside_the_catalog_is_unknown(empty_checkpoint_dir: Path) -> None:
    add_style_metadata(empty_checkpoint_dir / "udnie", "udnie")
    with pytest.raises(StyleNotFoundError, match="^unknown style 'the-scream'; known styles: udnie$"):
        resolve_checkpoint("the-scream", "temporal")


def test_hub_cache_is_used_offline(empty_checkpoint_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint that the Hub client cached earlier loads with no network, through huggingface_hub's own lookup."""
    repo = default_repo_id("udnie")
    cache = tmp_path / "hub"
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = cache / f"models--{repo.replace('/', '--')}"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    StyleNet(channels=(4, 8, 8), num_residual_blocks=1).save_pretrained(repo_dir / "snapshots" / commit / "temporal")
    write_style_file(Style("udnie", "Udnie", "Francis Picabia", "1913"), repo_dir / "snapshots" / commit)
    code = (
        "from vst.hub import resolve_checkpoint, installed_styles;"
        "print(resolve_checkpoint('udnie', 'temporal'));"
        "print([ (s.slug, sorted(s.variants)) for s in installed_styles()])"
    )
    env = {"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "VST_CHECKPOINT_DIR": str(empty_checkpoint_dir),
           "VST_HUB_STYLES": repo, "VST_HUB_STYLES_FILE": "", "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, check=True)
    lines = out.stdout.strip().splitlines()
    assert lines[0].endswith(f"snapshots/{commit}/temporal")
    assert lines[1] == "[('udnie', ['temporal'])]"


def test_unreachable_hub_fails_fast_without_offline_flag(empty_checkpoint_dir: Path) -> None:
    """Without HF_HUB_OFFLINE, an unreachable endpoint is detected by a quick probe instead of a 23 s retry loop: for
    the listed Hub style's metadata, and for a bundled style's (style.json, no weights) checkpoint."""
    add_style_metadata(empty_checkpoint_dir / "the-scream", "the-scream")
    code = ("import time\nfrom vst.hub import resolve_checkpoint\nfrom vst.catalog import load_catalog\n"
            "start = time.perf_counter()\nprint(load_catalog().problems)\n"
            "try:\n    resolve_checkpoint('the-scream', 'temporal')\n"
            "finally:\n    print('seconds', time.perf_counter() - start)\n")
    env = {"HF_ENDPOINT": "http://127.0.0.1:9", "VST_CHECKPOINT_DIR": str(empty_checkpoint_dir),
           "VST_HUB_STYLES": "vst-video/vst-udnie", "VST_HUB_STYLES_FILE": "",
           "HF_HUB_CACHE": str(empty_checkpoint_dir / "cache"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "vst-video/vst-udnie: no style.json in the local Hub cache (the Hub is offline)" in out.stdout
    assert "StyleNotFoundError" in out.stderr and "vst-the-scream/temporal" in out.stderr
    seconds = float(out.stdout.split("seconds ")[1])  # after the imports, which a busy machine slows down
    assert seconds < 5.0  # the probe's 1 s, twice at most; not the client's retry loop

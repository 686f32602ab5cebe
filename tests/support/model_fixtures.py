"""Fixtures with tiny randomly initialised checkpoints (never presented as styles outside tests)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import torch

from vst.catalog import PACKAGE_CHECKPOINT_DIR, STYLE_FILE, Style, write_style_file
from vst.model import FastStyleNet, StyleNet

TINY = {"channels": (4, 8, 8), "num_residual_blocks": 1, "outer_kernel": 3}
#: A tiny real-time network (``architecture: fast`` in its config.json), for a style's ``fast/`` variant.
TINY_FAST = {"channels": (4, 8), "num_residual_blocks": 1}


def make_tiny_checkpoint(folder: Path, seed: int = 0) -> Path:
    torch.manual_seed(seed)
    StyleNet(**TINY).save_pretrained(folder)
    return folder


def make_tiny_fast_checkpoint(folder: Path, seed: int = 0, *, frame_detail: float = 0.0) -> Path:
    """A tiny :class:`FastStyleNet` checkpoint: what ``<slug>/fast/`` holds (``frame_detail``: :mod:`vst.detail`)."""
    torch.manual_seed(seed)
    FastStyleNet(**TINY_FAST, frame_detail=frame_detail).save_pretrained(folder)
    return folder


def add_style_metadata(folder: Path, slug: str) -> Path:
    """``folder/style.json`` and ``painting.jpg``: copies of the bundled style's own for a bundled slug, else a made-up
    ``style.json`` (title: the slug in title case, no thumbnail)."""
    folder.mkdir(parents=True, exist_ok=True)
    bundled = PACKAGE_CHECKPOINT_DIR / slug
    if (bundled / STYLE_FILE).is_file():
        for name in (STYLE_FILE, "painting.jpg"):
            if (bundled / name).is_file():
                shutil.copyfile(bundled / name, folder / name)
    else:
        write_style_file(Style(slug, slug.replace("-", " ").title(), "Test Painter", "2000"), folder)
    return folder


@pytest.fixture(scope="session")
def tiny_checkpoint_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A bundled-checkpoint folder with both variants of 'starry-night' (tiny random networks)."""
    root = tmp_path_factory.mktemp("checkpoints")
    make_tiny_checkpoint(root / "starry-night" / "temporal", seed=1)
    make_tiny_checkpoint(root / "starry-night" / "framewise", seed=2)
    add_style_metadata(root / "starry-night", "starry-night")
    return root


@pytest.fixture
def tiny_checkpoints(tiny_checkpoint_root: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """Points ``VST_CHECKPOINT_DIR`` at :func:`tiny_checkpoint_root` for this test."""
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(tiny_checkpoint_root))
    yield tiny_checkpoint_root


@pytest.fixture
def empty_checkpoint_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No bundled styles at all (and an empty Hub cache)."""
    root = tmp_path / "no-checkpoints"
    root.mkdir()
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(root))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub-cache"))
    return root

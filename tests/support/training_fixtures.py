"""Training fixtures: a tiny real data set (two clips through the real ``prepare``) and a stand-in painting."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.support.clips import make_clip
from training.data import Clip, prepare


@pytest.fixture(scope="session")
def tiny_data(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("data")
    clip = make_clip(root / "moving.mp4", width=96, height=64, num_frames=8)
    (root / "raw").mkdir()
    heldout = make_clip(root / "raw" / "carphone.mp4", width=96, height=64, num_frames=6, seed=3)
    prepare(root, short_side=48, stride=1, synthetic_pairs=6, shard_size=4,
            clips=[Clip("moving", clip), Clip("carphone", heldout, "heldout")])
    return root


@pytest.fixture(scope="session")
def painting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A stand-in painting: bold diagonal colour stripes (not one of the real paintings)."""
    y, x = np.mgrid[0:96, 0:96]
    stripes = ((x + y) // 8) % 3
    image = np.stack([stripes == 0, stripes == 1, stripes == 2], axis=-1).astype(np.uint8) * 200 + 30
    path = tmp_path_factory.mktemp("style") / "stripes.png"
    Image.fromarray(image).save(path)
    return path

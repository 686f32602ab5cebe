"""Shared fixtures: small real clips (written once per session with :mod:`tests.support.clips`)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np
import pytest

# Tests never touch the network: the Hub client works from its cache only (set before huggingface_hub is imported).
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
# The style catalog is the test's own: no Hub styles from the developer's environment or ./hub_styles.txt.
os.environ.setdefault("VST_HUB_STYLES", "")
os.environ.setdefault("VST_HUB_STYLES_FILE", "")

from tests.support.clips import CONTAINER_CLIPS, make_audio_only, make_clip, make_clip_of  # noqa: E402  (after the variables above)
from vst.video import VideoReader  # noqa: E402

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

pytest_plugins = ["tests.support.model_fixtures", "tests.support.training_fixtures"]


@pytest.fixture(scope="session")
def clips_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def clip_mp4(clips_dir: Path) -> Path:
    """64×48, 24 frames at 24 fps (1 s), moving pattern, H.264 + AAC 440 Hz, moov at the end (not faststart)."""
    return make_clip(clips_dir / "clip.mp4", width=64, height=48, num_frames=24, fps=24, audio=True)


@pytest.fixture(scope="session")
def clip_grainy(clips_dir: Path) -> Path:
    """192×82, 24 frames at 24 fps of real camera motion (the bikes example from frame 30, downscaled) with
    Gaussian grain of 5 levels, new in every frame (H.264), no audio."""
    with VideoReader(EXAMPLES / "bikes.mp4") as reader:
        frames = [cv2.resize(image, (192, 82), interpolation=cv2.INTER_AREA) for image, _, _ in reader.frames()]
    grain = np.random.default_rng(0).normal(0.0, 5.0, (24, 82, 192, 3))
    return make_clip_of(clips_dir / "grainy.mp4", np.clip(np.stack(frames[30:54]) + grain, 0, 255).round()
                        .astype(np.uint8))


@pytest.fixture(scope="session")
def clip_odd(clips_dir: Path) -> Path:
    """321×179 (odd both ways; H.264 4:4:4 since 4:2:0 cannot be odd), 10 frames at 24 fps, no audio."""
    return make_clip(clips_dir / "odd.mp4", width=321, height=179, num_frames=10, fps=24)


@pytest.fixture(scope="session")
def clip_rotated(clips_dir: Path) -> Path:
    """Displays as 64×48 after a 90° clockwise rotation (stored 48×64 with a display matrix), 24 frames, audio."""
    return make_clip(clips_dir / "rotated.mp4", width=64, height=48, num_frames=24, fps=24, rotation=90, audio=True)


@pytest.fixture(scope="session")
def clip_vfr(clips_dir: Path) -> Path:
    """64×48, 24 frames with irregular timestamps (gaps of 0.4-2.5 frames at 24 fps; see clips.frame_times)."""
    return make_clip(clips_dir / "vfr.mp4", width=64, height=48, num_frames=24, fps=24, vfr=True)


@pytest.fixture(scope="session")
def clip_static(clips_dir: Path) -> Path:
    """64×48, 24 frames of the same image (for temporal-consistency metrics: no motion at all)."""
    return make_clip(clips_dir / "static.mp4", width=64, height=48, num_frames=24, fps=24, pattern="static")


@pytest.fixture(scope="session")
def clip_bframes(clips_dir: Path) -> Path:
    """64×48, 30 frames of H.264 with B-frames (decode order ≠ presentation order)."""
    return make_clip(clips_dir / "bframes.mp4", width=64, height=48, num_frames=30, fps=24, bframes=2)


@pytest.fixture(scope="session")
def container_clips(clips_dir: Path) -> dict[str, Path]:
    """One 64×48, 24-frame clip per entry of :data:`CONTAINER_CLIPS` (moving pattern)."""
    folder = clips_dir / "containers"
    folder.mkdir()
    return {name: make_clip(folder / file, **kwargs) for name, (file, kwargs) in CONTAINER_CLIPS.items()}  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def audio_only_clip(clips_dir: Path) -> Path:
    """An MP4 with an AAC track and no video stream."""
    return make_audio_only(clips_dir / "audio_only.mp4")

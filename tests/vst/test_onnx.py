"""ONNX exports (``python -m vst export-onnx``): onnxruntime runs them like our PyTorch path, at any frame size."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import av
import numpy as np
import onnx
import onnxruntime as ort
import pytest

from tests.support.model_fixtures import make_tiny_fast_checkpoint
from vst.catalog import PACKAGE_CHECKPOINT_DIR
from vst.checkpoint_check import load_network
from vst.onnx_export import INPUT_NAME, ONNX_FILE, OPSET, OUTPUT_NAME, export_checkpoint, is_current
from vst.pipeline import Stylizer

REPO = Path(__file__).resolve().parents[2]
#: The bundled networks the Live tab runs in the browser: each style's fast and live networks.
BUNDLED_REALTIME = sorted([*PACKAGE_CHECKPOINT_DIR.glob("*/fast"), *PACKAGE_CHECKPOINT_DIR.glob("*/live")])


def onnx_stylize(session: ort.InferenceSession, frames: np.ndarray) -> np.ndarray:
    """``(N, H, W, 3)`` uint8 (H, W multiples of 4) → same, through the ONNX graph's documented contract."""
    x = np.ascontiguousarray(frames.transpose(0, 3, 1, 2), dtype=np.float32) / 255.0
    (y,) = session.run([OUTPUT_NAME], {INPUT_NAME: x})
    return (y * 255.0 + 0.5).astype(np.uint8).transpose(0, 2, 3, 1)


def example_frames(picks: tuple[int, ...] = (0, 30), size: tuple[int, int] = (320, 180)) -> np.ndarray:
    """Frames ``picks`` of the bikes and carphone example clips, resized to ``size`` (W, H): real footage, ``(N, H, W, 3)`` uint8."""
    frames = []
    for clip in (REPO / "examples" / "bikes.mp4", REPO / "examples" / "carphone.mp4"):
        with av.open(str(clip)) as container:
            for i, frame in enumerate(container.decode(video=0)):
                if i in picks:
                    frames.append(frame.reformat(width=size[0], height=size[1], format="rgb24").to_ndarray())
                if i >= max(picks):
                    break
    return np.stack(frames)


def test_tiny_export_has_dynamic_size_and_matches_pytorch(tmp_path: Path) -> None:
    folder = make_tiny_fast_checkpoint(tmp_path / "fast")
    path = export_checkpoint(folder)
    assert path == folder / ONNX_FILE and is_current(folder)
    proto = onnx.load(str(path))
    assert proto.opset_import[0].version == OPSET
    dims = [d.dim_param or d.dim_value for d in proto.graph.input[0].type.tensor_type.shape.dim]
    assert [proto.graph.input[0].name, dims] == [INPUT_NAME, ["batch", 3, "height", "width"]]
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    stylizer = Stylizer(load_network(folder))
    rng = np.random.default_rng(0)
    for h, w in ((48, 64), (180, 320), (36, 20)):  # sizes other than the export's example (144×256)
        frames = rng.integers(0, 256, (2, h, w, 3), dtype=np.uint8)
        assert np.abs(onnx_stylize(session, frames).astype(int) - stylizer(frames)).max() <= 1

    # A changed checkpoint makes the export stale, and --check says so.
    make_tiny_fast_checkpoint(folder, seed=5)
    assert not is_current(folder)
    check = subprocess.run([sys.executable, "-m", "vst", "export-onnx", "--check", str(folder)], cwd=REPO,
                           capture_output=True, text=True)
    assert check.returncode == 1 and "missing or stale" in check.stdout


@pytest.mark.skipif(not BUNDLED_REALTIME, reason="no bundled real-time network")
@pytest.mark.parametrize("folder", BUNDLED_REALTIME, ids=lambda p: f"{p.parent.name}-{p.name}")
def test_bundled_onnx_within_one_step_of_pytorch_on_real_frames(folder: Path) -> None:
    assert is_current(folder), f"{folder / ONNX_FILE} is missing or stale: run `python -m vst export-onnx`"
    frames = example_frames()
    assert frames.shape == (4, 180, 320, 3)
    session = ort.InferenceSession(str(folder / ONNX_FILE), providers=["CPUExecutionProvider"])
    ours, theirs = Stylizer(load_network(folder))(frames).astype(int), onnx_stylize(session, frames).astype(int)
    diff = np.abs(ours - theirs)
    assert diff.max() <= 1, f"max difference {diff.max()} uint8 steps"
    assert diff.mean() < 0.01  # rounding ties only, not a systematic offset

"""``python -m vst`` as a user runs it: real processes, exit codes, one-line errors, no partial output."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.model_fixtures import add_style_metadata
from vst.catalog import Style, write_style_file
from vst.video import is_browser_playable

REPO = Path(__file__).resolve().parent.parent


def run_vst(*args: str, checkpoints: Path | None = None, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    if checkpoints is not None:
        env["VST_CHECKPOINT_DIR"] = str(checkpoints)
    return subprocess.run([sys.executable, "-m", "vst", *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=300)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    assert "Traceback" not in proc.stderr
    for needle in needles:
        assert needle in lines[0]


def test_styles_lists_the_bundled_folder(tmp_path: Path) -> None:
    """The list is the folder's data: a new painting with its style.json and no checkpoint yet is listed, not
    installed; an empty folder lists nothing."""
    proc = run_vst("styles", checkpoints=tmp_path)
    assert proc.returncode == 0 and "No style is installed yet" in proc.stdout
    write_style_file(Style("woman-with-a-hat", "Woman with a Hat", "Henri Matisse", "1905"), tmp_path / "woman-with-a-hat")
    proc = run_vst("styles", checkpoints=tmp_path)
    assert proc.stdout.splitlines()[0].split() == [
        "woman-with-a-hat", "Woman", "with", "a", "Hat", "—", "Henri", "Matisse,", "1905", "[not", "installed]",
        "(bundled)"]
    assert "No style is installed yet" in proc.stdout


def test_styles_shows_installed_variants(tiny_checkpoint_root: Path) -> None:
    proc = run_vst("styles", checkpoints=tiny_checkpoint_root)
    assert proc.stdout.startswith("starry-night  The Starry Night — Vincent van Gogh, 1889  [temporal, framewise]")


def test_stylize_with_bundled_style(clip_mp4: Path, tiny_checkpoint_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "styled.mp4"
    proc = run_vst("stylize", str(clip_mp4), "--style", "starry-night", "--variant", "framewise", "-o", str(out),
                   "--flicker", checkpoints=tiny_checkpoint_root)
    assert proc.returncode == 0, proc.stderr
    assert is_browser_playable(out)
    assert "warping error" in proc.stdout
    assert "frame" in proc.stderr  # the tqdm progress bar


def test_missing_style_says_not_installed(clip_mp4: Path, tmp_path: Path) -> None:
    """In the catalog (its style.json is there), but no checkpoint is bundled or cached."""
    out = tmp_path / "x.mp4"
    add_style_metadata(tmp_path / "none" / "starry-night", "starry-night")
    proc = run_vst("stylize", str(clip_mp4), "--style", "starry-night", "-o", str(out), checkpoints=tmp_path / "none")
    assert_one_line_error(proc, "not installed")
    assert not out.exists()


@pytest.mark.parametrize("kind", ["missing", "not-a-video", "audio-only", "directory"])
def test_bad_inputs_exit_2_with_one_line(kind: str, tmp_path: Path, tiny_checkpoint_root: Path,
                                         audio_only_clip: Path) -> None:
    source = {"missing": tmp_path / "nope.mp4", "not-a-video": tmp_path / "notes.mp4",
              "audio-only": audio_only_clip, "directory": tmp_path}[kind]
    if kind == "not-a-video":
        source.write_bytes(os.urandom(4096))
    out = tmp_path / "out.mp4"
    proc = run_vst("stylize", str(source), "-o", str(out), checkpoints=tiny_checkpoint_root)
    assert_one_line_error(proc)
    assert not out.exists()


def test_refuses_to_overwrite(clip_mp4: Path, tiny_checkpoint_root: Path, tmp_path: Path) -> None:
    out = tmp_path / "exists.mp4"
    out.write_bytes(b"keep me")
    proc = run_vst("stylize", str(clip_mp4), "-o", str(out), checkpoints=tiny_checkpoint_root)
    assert_one_line_error(proc, "--overwrite")
    assert out.read_bytes() == b"keep me"


def test_unknown_style_exit_2(clip_mp4: Path, tmp_path: Path) -> None:
    proc = run_vst("stylize", str(clip_mp4), "--style", "mona-lisa", "-o", str(tmp_path / "o.mp4"))
    assert_one_line_error(proc, "unknown style 'mona-lisa'")

"""``python -m vst`` as a user runs it: real processes, exit codes, one-line errors, no partial output."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.support.clips import make_painting
from tests.support.model_fixtures import add_style_metadata
from vst.catalog import Style, write_style_file
from vst.mp4_checks import is_browser_playable

REPO = Path(__file__).resolve().parents[2]


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


def test_prerender_moved_to_the_app() -> None:
    """The library's command line never imports the app: ``prerender`` says, in one line, which command does it."""
    assert_one_line_error(run_vst("prerender", "--styles", "udnie"), "moved", "python -m vst.app.showcase")


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


def test_stylize_at_half_scale(clip_mp4: Path, tiny_checkpoint_root: Path, tmp_path: Path) -> None:
    """--scale 0.5: the network at half each side, the output at the clip's size."""
    out = tmp_path / "half.mp4"
    proc = run_vst("stylize", str(clip_mp4), "--style", "starry-night", "-o", str(out), "--scale", "0.5", "-q",
                   checkpoints=tiny_checkpoint_root)
    assert proc.returncode == 0, proc.stderr
    assert is_browser_playable(out) and "64×48" in proc.stdout


def test_stylize_with_the_scale_that_keeps_up(clip_mp4: Path, tiny_checkpoint_root: Path, tmp_path: Path) -> None:
    """--scale auto measures the network on this machine and says what it chose."""
    out = tmp_path / "auto.mp4"
    proc = run_vst("stylize", str(clip_mp4), "--style", "starry-night", "-o", str(out), "--scale", "auto", "-q",
                   checkpoints=tiny_checkpoint_root)
    assert proc.returncode == 0, proc.stderr
    assert is_browser_playable(out)
    assert "note: the network ran at " in proc.stderr and "the clip plays at 24 fps" in proc.stderr


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


# -- any picture as the style (--style-image) ------------------------------------------------------------------------


def test_stylize_with_a_style_image(clip_mp4: Path, tmp_path: Path) -> None:
    """A generated picture through the bundled any-painting network's framewise variant (real forward passes): the
    output plays and records the picture's sha256 and style vector, and the strength."""
    from vst.any_painting import read_picture_record

    painting = make_painting(tmp_path / "painting.jpg")
    out = tmp_path / "styled.mp4"
    proc = run_vst("stylize", str(clip_mp4), "--style-image", str(painting), "--strength", "0.8", "--variant",
                   "framewise", "--max-side", "32", "-o", str(out), "-q")
    assert proc.returncode == 0, proc.stderr
    assert is_browser_playable(out) and f"wrote {out} (24 frames, 32×24" in proc.stdout
    record = read_picture_record(out)
    assert record is not None and record["sha256"] == hashlib.sha256(painting.read_bytes()).hexdigest()
    assert record["variant"] == "framewise" and record["strength"] == 0.8
    assert len(record["style_vector"]) == len(record["content_vector"]) == 100


def test_a_missing_any_painting_variant_is_one_line(clip_mp4: Path, tmp_path: Path) -> None:
    """The temporal variant (the default) where only the framewise one is installed: named, no fallback, no output."""
    from vst.catalog import ANY_PAINTING, PACKAGE_CHECKPOINT_DIR

    root = tmp_path / "checkpoints"
    shutil.copytree(PACKAGE_CHECKPOINT_DIR / ANY_PAINTING / "framewise", root / ANY_PAINTING / "framewise")
    painting = tmp_path / "painting.png"
    Image.new("RGB", (64, 64), (200, 30, 30)).save(painting)
    out = tmp_path / "out.mp4"
    proc = run_vst("stylize", str(clip_mp4), "--style-image", str(painting), "-o", str(out), checkpoints=root)
    assert_one_line_error(proc, str(root / ANY_PAINTING / "temporal"), "--variant framewise")
    assert not out.exists()


@pytest.mark.parametrize("args, needle", [
    (["--style-image", "p.png", "--strength", "1.5"], "--strength: must be between 0 and 1, not 1.5"),
    (["--style-image", "p.png", "--strength", "-0.1"], "--strength: must be between 0 and 1"),
    (["--style-image", "p.png", "--strength", "lots"], "--strength: must be a number between 0 and 1"),
    (["--strength", "0.5"], "--strength: goes with --style-image"),
    (["--style", "udnie", "--style-image", "p.png"], "not allowed with argument"),
    (["--scale", "0"], "--scale: must be above 0 and at most 1, not 0"),
    (["--scale", "half"], "--scale: must be auto or a number above 0 and at most 1"),
])
def test_style_image_arguments_are_checked_in_one_line(args: list[str], needle: str,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from vst.__main__ import main

    with pytest.raises(SystemExit) as info:
        main(["stylize", "clip.mp4", *args])
    assert info.value.code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], lines


def test_a_bad_style_image_is_one_line_before_any_work(clip_mp4: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    from vst.__main__ import main

    notes = tmp_path / "notes.jpg"
    notes.write_text("not a picture at all\n" * 20)
    out = tmp_path / "out.mp4"
    assert main(["stylize", str(clip_mp4), "--style-image", str(notes), "-o", str(out)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert lines == ["error: notes.jpg is not a picture; a style picture must be a JPEG, PNG or WebP file"]
    assert not out.exists()

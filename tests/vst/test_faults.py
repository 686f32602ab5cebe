"""Bad inputs and faults end in one clear line with nothing left behind: ``python -m vst`` as real processes (exit
codes, stderr), the Python API on the same files, damaged checkpoints, tiny frames, unwritable outputs, SIGTERM."""

from __future__ import annotations

import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from safetensors.torch import save_file

import vst
from tests.support.clips import make_clip
from tests.support.model_fixtures import TINY, add_style_metadata, make_tiny_checkpoint
from tests.vst.test_cli import REPO, assert_one_line_error, run_vst
from vst.__main__ import main as cli_main
from vst.checkpoint_check import MAX_PARAMETERS, check_checkpoint
from vst.errors import CheckpointError, FrameSizeError, OutputError
from vst.files import STALE_PARTIAL_SECONDS, atomic_output
from vst.model import StyleNet
from vst.pipeline import MIN_FRAME_SIDE, stylize_video


def partials(folder: Path) -> list[Path]:
    return sorted(folder.glob(".*.partial*"))


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``python -m vst ARGS`` run in this process (its ``main``, as ``-m`` runs it): exit code, stdout, stderr.
    Cheaper than a process each (importing torch takes seconds); tests below start real processes where the process
    itself matters (signals, file systems) and for one case of each kind."""
    capsys.readouterr()
    try:
        code = cli_main(list(args))
    except SystemExit as exit_:
        code = int(exit_.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line(code: int, stderr: str, *needles: str) -> None:
    assert_one_line_error(subprocess.CompletedProcess([], code, "", stderr), *needles)


# ------------------------------------------------------------------------------------------------ checkpoints


def _write_config(folder: Path, config: object) -> None:
    (folder / "config.json").write_text(json.dumps(config))


def _set(key: str, value: object) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        config = json.loads((folder / "config.json").read_text())
        config[key] = value
        _write_config(folder, config)
    return damage


def _pickle_weights(folder: Path) -> None:
    torch.save(StyleNet(**TINY).state_dict(), folder / "model.safetensors")  # a pickle under the safetensors name


def _partial_weights(fraction: float) -> Callable[[Path], None]:
    def damage(folder: Path) -> None:
        tensors = StyleNet(**TINY).state_dict()
        kept = dict(sorted(tensors.items())[: int(len(tensors) * fraction)])
        save_file({k: v.contiguous() for k, v in kept.items()} or {"unrelated": torch.zeros(1)},
                  folder / "model.safetensors")
    return damage


#: name → (how to damage a tiny checkpoint folder, words the one-line message must contain)
DAMAGED: dict[str, tuple[Callable[[Path], None], tuple[str, ...]]] = {
    "pickle-as-safetensors": (_pickle_weights, ("model.safetensors", "not a valid safetensors file")),
    "empty-weights": (lambda f: (f / "model.safetensors").write_bytes(b""), ("model.safetensors", "is empty")),
    "truncated-weights": (lambda f: (f / "model.safetensors").write_bytes((f / "model.safetensors").read_bytes()[:-64]),
                          ("model.safetensors", "not a valid safetensors file")),
    "malformed-json": (lambda f: (f / "config.json").write_text('{"channels": [4, 8,'),
                       ("config.json", "not valid JSON")),
    "config-is-a-list": (lambda f: _write_config(f, [4, 8, 8]), ("config.json", "JSON object, not a list")),
    "unknown-architecture": (_set("architecture", "transformer"), ("config.json", "unknown architecture")),
    "shapes-do-not-fit": (_set("channels", [4, 8, 16]), ("model.safetensors", "shape", "config.json needs")),
    "huge-channels": (_set("channels", [4, 8, 12_000_000]), ("config.json", "channels[2]", "outside")),
    "huge-block-count": (_set("num_residual_blocks", 100_000_000), ("config.json", "num_residual_blocks")),
    "negative-block-count": (_set("num_residual_blocks", -1), ("config.json", "num_residual_blocks")),
    "antialias-not-a-bool": (_set("antialias", "yes"), ("config.json", "antialias", "true or false")),
    "too-many-parameters": (lambda f: _write_config(f, {"channels": [1024, 1024, 1024], "num_residual_blocks": 64}),
                            ("config.json", "parameters", f"{MAX_PARAMETERS:,}")),
    "no-tensors": (_partial_weights(0.0), ("model.safetensors", "missing 30 tensor(s)", "unexpected 1 tensor(s)")),
    "half-the-tensors": (_partial_weights(0.5), ("model.safetensors", "missing 15 tensor(s)", "encoder.1.1.weight")),
    "missing-config": (lambda f: (f / "config.json").unlink(), ("not a checkpoint",)),
}


@pytest.fixture
def damaged(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Path, tuple[str, ...]]:
    folder = make_tiny_checkpoint(tmp_path / "ckpt")
    damage, words = DAMAGED[request.param]
    damage(folder)
    return folder, words


@pytest.mark.parametrize("damaged", list(DAMAGED), indirect=True)
def test_damaged_checkpoint_is_refused_in_one_line(damaged: tuple[Path, tuple[str, ...]]) -> None:
    """The Python API (what the app loads through too): one line naming the file and the problem, quickly (sizes
    are refused before anything is allocated)."""
    folder, words = damaged
    started = time.monotonic()
    with pytest.raises(vst.VSTError) as err:
        vst.load_model(str(folder))
    assert time.monotonic() - started < 5
    message = str(err.value)
    assert "\n" not in message and all(word in message for word in words), message


@pytest.mark.parametrize("damaged", ["huge-block-count", "too-many-parameters", "half-the-tensors"], indirect=True)
def test_damaged_checkpoint_on_the_command_line(damaged: tuple[Path, tuple[str, ...]], clip_mp4: Path,
                                                tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The command line prints the API's line and exits with 2, leaving nothing."""
    folder, words = damaged
    out = tmp_path / "out.mp4"
    code, _, stderr = cli(capsys, "stylize", str(clip_mp4), "--style", str(folder), "-o", str(out), "-q")
    assert_one_line(code, stderr, *words)
    assert not out.exists() and not partials(tmp_path)
    with pytest.raises(vst.VSTError) as err:
        vst.load_model(str(folder))
    assert stderr.strip() == f"error: {err.value}"


@pytest.mark.parametrize("damaged", ["pickle-as-safetensors"], indirect=True)
def test_damaged_checkpoint_real_process(damaged: tuple[Path, tuple[str, ...]], clip_mp4: Path,
                                         tmp_path: Path) -> None:
    folder, words = damaged
    proc = run_vst("stylize", str(clip_mp4), "--style", str(folder), "-o", str(tmp_path / "out.mp4"), "-q")
    assert_one_line_error(proc, *words)
    assert not list(tmp_path.glob("*.mp4")) and not partials(tmp_path)


def test_checkpoint_check_reads_headers_only(tmp_path: Path) -> None:
    """A huge config is refused by the bounds, and the check of a good folder loads no tensor (its config returns)."""
    folder = make_tiny_checkpoint(tmp_path / "ok")
    assert check_checkpoint(folder)["channels"] == list(TINY["channels"])
    _set("channels", [4, 8, 1024])(folder)  # within bounds, but the stored tensors do not fit
    with pytest.raises(CheckpointError, match=r"decoder|encoder|residuals"):
        check_checkpoint(folder)


def test_complete_checkpoint_loads_exactly(tmp_path: Path) -> None:
    """Strict loading keeps every stored tensor: the loaded network's state equals the saved one."""
    torch.manual_seed(3)
    net = StyleNet(**TINY)
    net.save_pretrained(tmp_path / "ok")
    loaded = vst.load_model(str(tmp_path / "ok"))
    saved = net.state_dict()
    assert all(torch.equal(saved[k], v) for k, v in loaded.state_dict().items())


# ------------------------------------------------------------------------------------------------ tiny frames


def test_frames_too_small_real_process(tmp_path: Path, tiny_checkpoint_root: Path) -> None:
    clip = make_clip(tmp_path / "tiny.mp4", width=4, height=4, num_frames=3)
    out = tmp_path / "out.mp4"
    proc = run_vst("stylize", str(clip), "-o", str(out), "-q", checkpoints=tiny_checkpoint_root)
    assert_one_line_error(proc, "4×4 pixels", f"at least {MIN_FRAME_SIDE}×{MIN_FRAME_SIDE}")
    assert not out.exists() and not partials(tmp_path)


@pytest.mark.parametrize(("size", "max_side", "says"), [((4, 4), None, "4×4 pixels"), ((1, 1), None, "1×1 pixels"),
                                                         ((640, 2), None, "640×2 pixels"),
                                                         ((640, 24), 160, "160×6 pixels (downscaled from 640×24")])
def test_frames_too_small_are_refused(size: tuple[int, int], max_side: int | None, says: str, tmp_path: Path,
                                      tiny_checkpoints: Path, capsys: pytest.CaptureFixture[str]) -> None:
    width, height = size
    clip = make_clip(tmp_path / f"tiny{width}x{height}.mp4", width=width, height=height, num_frames=3)
    out = tmp_path / "out.mp4"
    code, _, stderr = cli(capsys, "stylize", str(clip), "-o", str(out), "-q", *(["--max-side", str(max_side)]
                                                                                 if max_side else []))
    assert_one_line(code, stderr, says)
    assert not out.exists() and not partials(tmp_path)
    with pytest.raises(FrameSizeError, match=says.replace("(", r"\(")):  # the API: the same check, the same line
        stylize_video(clip, out, style=str(tiny_checkpoints / "starry-night" / "temporal"), max_side=max_side)


def test_smallest_accepted_frames_work(tmp_path: Path, tiny_checkpoints: Path) -> None:
    clip = make_clip(tmp_path / "eight.mp4", width=MIN_FRAME_SIDE, height=MIN_FRAME_SIDE, num_frames=3)
    result = stylize_video(clip, tmp_path / "out.mp4", style="starry-night")
    assert (result.width, result.height, result.frames) == (MIN_FRAME_SIDE, MIN_FRAME_SIDE, 3)


# ------------------------------------------------------------------------------------------------ arguments


def test_bad_device_real_process(clip_mp4: Path, tmp_path: Path, tiny_checkpoint_root: Path) -> None:
    proc = run_vst("stylize", str(clip_mp4), "-o", str(tmp_path / "o.mp4"), "--device", "bogus",
                   checkpoints=tiny_checkpoint_root)
    assert_one_line_error(proc, "unknown device 'bogus'")
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize(("args", "words"), [
    (["--device", "mps"], ("device 'mps' is not supported",)),
    (["--batch-size", "0"], ("--batch-size", "at least 1")),
    (["--batch-size", "-2"], ("--batch-size", "at least 1")),
    (["--max-side", "8"], ("--max-side", "at least 16")),
])
def test_bad_arguments_one_line(args: list[str], words: tuple[str, ...], clip_mp4: Path, tmp_path: Path,
                                tiny_checkpoints: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, stderr = cli(capsys, "stylize", str(clip_mp4), "-o", str(tmp_path / "o.mp4"), *args)
    assert_one_line(code, stderr, *words)
    assert not list(tmp_path.iterdir())


def test_default_max_side_downscales_with_a_note(tmp_path: Path, tiny_checkpoints: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    clip = make_clip(tmp_path / "wide.mp4", width=1600, height=64, num_frames=2)
    out = tmp_path / "out.mp4"
    code, stdout, stderr = cli(capsys, "stylize", str(clip), "-o", str(out), "-q")
    assert code == 0, stderr
    assert stderr.strip() == ("note: downscaling 1600×64 to 1280×51 (--max-side 1280; --max-side 0 keeps the full "
                              "size, at about 190 MB of memory per megapixel)")
    assert "1280×51" in stdout
    code, stdout, stderr = cli(capsys, "stylize", str(clip), "-o", str(out), "-q", "--overwrite", "--max-side", "0")
    assert code == 0 and "1600×64" in stdout and stderr == ""


# ------------------------------------------------------------------------------------------------ outputs


def test_output_is_a_directory(clip_mp4: Path, tmp_path: Path, tiny_checkpoints: Path,
                               capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "out.mp4"
    target.mkdir()
    code, _, stderr = cli(capsys, "stylize", str(clip_mp4), "-o", str(target), "-q", "--overwrite")
    assert_one_line(code, stderr, "is a folder")
    assert target.is_dir() and not list(target.iterdir()) and not partials(tmp_path)


def _in_small_filesystem(folder: Path, script: str, *, size: str = "64k", read_only: bool = False) -> \
        subprocess.CompletedProcess[str]:
    """Run ``script`` (sh) with a fresh tmpfs of ``size`` mounted on ``folder``, in a private user and mount
    namespace (no root needed); skips when this kernel does not allow unprivileged namespaces."""
    if shutil.which("unshare") is None:
        pytest.skip("needs util-linux's unshare")
    probe = subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unprivileged mount namespaces are not available: {probe.stderr.decode().strip()}")
    remount = "mount -o remount,ro \"$DIR\" && " if read_only else ""
    wrapper = f'mount -t tmpfs -o size={size} tmpfs "$DIR" && {remount}{script}'
    env = dict(os.environ, DIR=str(folder), HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO))
    return subprocess.run(["unshare", "--user", "--map-root-user", "--mount", "sh", "-c", wrapper], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)


def _stylize_into(folder: Path, clip: Path, checkpoints: Path) -> str:
    return (f'VST_CHECKPOINT_DIR="{checkpoints}" "{sys.executable}" -m vst stylize "{clip}" -o "$DIR/out.mp4" -q; '
            f'rc=$?; ls -A "$DIR"; exit $rc')


def test_read_only_file_system(clip_mp4: Path, tmp_path: Path, tiny_checkpoint_root: Path) -> None:
    folder = tmp_path / "mnt"
    folder.mkdir()
    proc = _in_small_filesystem(folder, _stylize_into(folder, clip_mp4, tiny_checkpoint_root), read_only=True)
    assert_one_line_error(proc, "out.mp4", "read-only file system")
    assert proc.stdout == ""  # nothing in the folder


def test_disk_full_midway_removes_the_partial(tmp_path: Path, tiny_checkpoint_root: Path) -> None:
    clip = make_clip(tmp_path / "noise.mp4", width=128, height=96, num_frames=40, pattern="noise")
    folder = tmp_path / "mnt"
    folder.mkdir()
    proc = _in_small_filesystem(folder, _stylize_into(folder, clip, tiny_checkpoint_root), size="48k")
    assert_one_line_error(proc, "out.mp4", "No space left on device")
    assert proc.stdout == ""  # no output, no partial file


@pytest.mark.parametrize(("umask", "mode"), [(0o022, 0o644), (0o002, 0o664), (0o077, 0o600)])
def test_output_gets_the_mode_of_a_normal_write(umask: int, mode: int, tmp_path: Path) -> None:
    previous = os.umask(umask)
    try:
        with atomic_output(tmp_path / "out.mp4") as tmp:
            tmp.write_bytes(b"video")
        (tmp_path / "plain.mp4").write_bytes(b"video")
    finally:
        os.umask(previous)
    assert stat.S_IMODE((tmp_path / "out.mp4").stat().st_mode) == mode
    assert stat.S_IMODE((tmp_path / "plain.mp4").stat().st_mode) == mode


# ------------------------------------------------------------------------------------------------ signals


@pytest.fixture(scope="module")
def long_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """64×48, 2000 frames: long enough for a tiny network to be busy when a signal comes."""
    return make_clip(tmp_path_factory.mktemp("long") / "long.mp4", width=64, height=48, num_frames=2000, fps=50)


@pytest.mark.parametrize(("sig", "code", "words"), [(signal.SIGTERM, 143, "terminated (SIGTERM)")])
def test_signal_ends_in_one_line_and_leaves_nothing(sig: int, code: int, words: str, tmp_path: Path, long_clip: Path,
                                                    tiny_checkpoint_root: Path) -> None:
    clip = long_clip
    out = tmp_path / "out" / "styled.mp4"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO), VST_CHECKPOINT_DIR=str(tiny_checkpoint_root))
    proc = subprocess.Popen([sys.executable, "-m", "vst", "stylize", str(clip), "-o", str(out), "-q"], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not partials(out.parent) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    assert partials(out.parent), "the job never started writing"
    time.sleep(0.3)  # well into the work
    proc.send_signal(sig)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    assert stderr.strip().splitlines() == [f"{words}; no output was written"]
    assert not out.exists() and not partials(out.parent)


def test_stale_partials_are_swept_by_the_next_write(tmp_path: Path) -> None:
    """What SIGKILL leaves (it cannot be caught) is deleted by the next output into the folder, once it is older
    than any live job's file could be; a fresh one (a job running now) is kept."""
    stale, fresh = tmp_path / ".old.1a2b3c4d.partial.mp4", tmp_path / ".live.5e6f7a8b.partial.mp4"
    for path in (stale, fresh):
        path.write_bytes(b"partial")
    past = time.time() - STALE_PARTIAL_SECONDS - 10
    os.utime(stale, (past, past))
    with atomic_output(tmp_path / "new.mp4") as tmp:
        tmp.write_bytes(b"done")
    assert not stale.exists() and fresh.exists() and (tmp_path / "new.mp4").read_bytes() == b"done"


def test_sigkill_then_next_run_sweeps(tmp_path: Path, tiny_checkpoint_root: Path, clip_mp4: Path, long_clip: Path,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    clip = long_clip
    out = tmp_path / "out" / "styled.mp4"
    env = dict(os.environ, HF_HUB_OFFLINE="1", PYTHONPATH=str(REPO), VST_CHECKPOINT_DIR=str(tiny_checkpoint_root))
    proc = subprocess.Popen([sys.executable, "-m", "vst", "stylize", str(clip), "-o", str(out), "-q"], cwd=REPO,
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not partials(out.parent) and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.05)
    proc.kill()
    proc.wait(timeout=30)
    left = partials(out.parent)
    assert len(left) == 1  # SIGKILL cannot be handled: the partial stays ...
    past = time.time() - STALE_PARTIAL_SECONDS - 1
    os.utime(left[0], (past, past))  # ... until it is older than any live job's file could be
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(tiny_checkpoint_root))
    stylize_video(clip_mp4, out.parent / "other.mp4", style="starry-night")
    assert not partials(out.parent) and (out.parent / "other.mp4").is_file()


def test_output_error_is_raised_by_the_python_api(clip_mp4: Path, tmp_path: Path, tiny_checkpoint_root: Path) -> None:
    target = tmp_path / "x.mp4"
    target.mkdir()
    with pytest.raises(OutputError, match="is a folder"):
        stylize_video(clip_mp4, target, style=str(tiny_checkpoint_root / "starry-night" / "temporal"), overwrite=True)


def test_damaged_hub_download_is_refused_like_a_folder(empty_checkpoint_dir: Path, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint from the Hub (here its local cache, offline) goes through the same check: an incomplete one is
    refused by name instead of rendering with random weights."""
    from huggingface_hub import constants

    add_style_metadata(empty_checkpoint_dir / "udnie", "udnie")  # in the catalog, no variant bundled
    repo = vst.get_style("udnie").repo_id
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo_dir = tmp_path / "hub" / f"models--{repo.replace('/', '--')}"
    (repo_dir / "refs").mkdir(parents=True)
    (repo_dir / "refs" / "main").write_text(commit)
    folder = make_tiny_checkpoint(repo_dir / "snapshots" / commit / "temporal")
    _partial_weights(0.5)(folder)
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(CheckpointError, match=r"snapshots/0123456789abcdef0123456789abcdef01234567/temporal/"
                                              r"model\.safetensors does not match config\.json: missing 15 tensor"):
        vst.load_model("udnie")

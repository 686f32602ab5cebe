"""Curated A/B pairs: real renders of a trimmed real clip with tiny checkpoints, cached until a checkpoint changes."""

from __future__ import annotations

from pathlib import Path

import av
import pytest

import vst.app.showcase
from tests.support.model_fixtures import make_tiny_checkpoint, tiny_checkpoint_root, tiny_checkpoints  # noqa: F401
from vst.errors import StyleNotFoundError, VideoError
from vst.app.ab_pair import ABPair
from vst.app.blind_vote import PairPool
from vst.app.showcase import (
    CURATED_CLIPS,
    EXAMPLES_DIR,
    MIN_LONG_SIDE,
    PAIR_FILE,
    default_cache_dir,
    load_pairs,
    main,
    prerender_pairs,
)
from vst.mp4_checks import is_browser_playable
from vst.video import probe

CLIPS = {"carphone": EXAMPLES_DIR / "carphone.mp4"}  # 176×144, 29.97 fps: a quick real clip (not a curated one)
FAST = {"styles": ["starry-night"], "clips": CLIPS, "max_side": 64, "max_seconds": 1.0}


def decoded(path: Path) -> tuple[int, int, int]:
    """(frames, width, height) actually decoded from the file."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = sum(1 for _ in container.decode(stream))
        return frames, stream.codec_context.width, stream.codec_context.height


def mtimes(pair: ABPair) -> tuple[int, int]:
    return pair.temporal.stat().st_mtime_ns, pair.framewise.stat().st_mtime_ns


@pytest.fixture
def own_checkpoints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Checkpoints this test may change (the shared tiny ones must not be touched)."""
    root = tmp_path / "checkpoints"
    make_tiny_checkpoint(root / "starry-night" / "temporal", seed=1)
    make_tiny_checkpoint(root / "starry-night" / "framewise", seed=2)
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(root))
    return root


def test_curated_clips_are_bundled_large_enough_and_rendered_at_their_size(tmp_path: Path) -> None:
    """A vote is a fair view of both networks: every curated clip has at least 640 px on its long side (no small
    clip stretched up), and the app renders its pairs at that size."""
    assert set(CURATED_CLIPS) == {"cockatoo", "bikes"}
    for path in CURATED_CLIPS.values():
        info = probe(path)
        assert max(info.width, info.height) >= MIN_LONG_SIDE == 640, (path, info.width, info.height)
    assert PairPool(tmp_path).max_side == MIN_LONG_SIDE


def test_pairs_are_rendered_once_and_playable(tiny_checkpoints: Path, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    cache = tmp_path / "cache"
    assert load_pairs(cache, **FAST) == []
    seen: list[tuple[float, str]] = []
    pairs = prerender_pairs(cache, **FAST, progress=lambda fraction, desc: seen.append((fraction, desc)))

    assert len(pairs) == 1
    pair = pairs[0]
    assert (pair.style, pair.clip) == ("starry-night", "carphone")
    assert pair.temporal.parent == pair.framewise.parent and pair.temporal.parent.parent == cache / "starry-night"
    assert is_browser_playable(pair.temporal) and is_browser_playable(pair.framewise)
    # trimmed to the frames of the first second (30 at 29.97 fps), downscaled to a 64-pixel long side
    assert decoded(pair.temporal) == decoded(pair.framewise) == (30, 64, 52)
    assert pair.frames == 30
    assert pair.path("temporal") == pair.temporal and pair.path("framewise") == pair.framewise
    assert pair.temporal_warping_error >= 0 and pair.framewise_warping_error >= 0
    assert pair.warping_error("framewise") == pair.framewise_warping_error
    assert sorted(p.name for p in pair.temporal.parent.iterdir()) == ["framewise.mp4", PAIR_FILE, "temporal.mp4"]

    fractions = [f for f, _ in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(desc == "starry-night on carphone" for _, desc in seen)

    assert load_pairs(cache, **FAST) == pairs
    before = mtimes(pair)

    def must_not_render(*args: object, **kwargs: object) -> None:
        raise AssertionError("a cached pair was rendered again")

    monkeypatch.setattr(vst.app.showcase, "render_video", must_not_render)
    assert prerender_pairs(cache, **FAST) == pairs
    assert mtimes(pair) == before


def test_a_changed_checkpoint_renders_again(own_checkpoints: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    [old] = prerender_pairs(cache, **FAST)
    old_bytes = old.temporal.read_bytes()

    make_tiny_checkpoint(own_checkpoints / "starry-night" / "temporal", seed=3)  # "retrained"
    assert load_pairs(cache, **FAST) == []  # the old render no longer counts
    [new] = prerender_pairs(cache, **FAST)
    assert new.temporal.parent != old.temporal.parent
    assert not old.temporal.parent.exists()  # the outdated render is removed
    assert new.temporal.read_bytes() != old_bytes
    assert decoded(new.temporal) == decoded(new.framewise) == (30, 64, 52)

    # other settings are another cache entry, too
    assert load_pairs(cache, **{**FAST, "max_side": 48}) == []


def test_unfinished_render_is_not_a_pair(own_checkpoints: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    [pair] = prerender_pairs(cache, **FAST)
    (pair.temporal.parent / PAIR_FILE).unlink()
    assert load_pairs(cache, **FAST) == []
    [again] = prerender_pairs(cache, **FAST)
    assert again.temporal == pair.temporal and again.temporal.is_file()


def test_styles_need_both_variants(own_checkpoints: Path, tmp_path: Path) -> None:
    make_tiny_checkpoint(own_checkpoints / "the-scream" / "temporal")
    with pytest.raises(StyleNotFoundError, match="the-scream.*framewise variant is not installed"):
        prerender_pairs(tmp_path / "cache", **{**FAST, "styles": ["the-scream"]})
    with pytest.raises(StyleNotFoundError, match="great-wave"):
        load_pairs(tmp_path / "cache", **{**FAST, "styles": ["great-wave"]})


def test_bad_inputs(own_checkpoints: Path, tmp_path: Path) -> None:
    with pytest.raises(VideoError, match="missing.mp4"):
        prerender_pairs(tmp_path / "cache", **{**FAST, "clips": {"gone": tmp_path / "missing.mp4"}})
    with pytest.raises(ValueError, match="clip name"):
        load_pairs(tmp_path / "cache", **{**FAST, "clips": {"../up": CLIPS["carphone"]}})


def test_default_cache_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("VST_CACHE_DIR", str(tmp_path))
    assert default_cache_dir() == tmp_path / "showcase"
    monkeypatch.delenv("VST_CACHE_DIR")
    assert default_cache_dir() == Path.home() / ".cache" / "vst" / "showcase"


def test_one_cache_root_for_the_app_training_and_the_live_runtime(monkeypatch: pytest.MonkeyPatch,
                                                                  tmp_path: Path) -> None:
    """The app's jobs and showcase, the VGG weights and the Live tab's runtime share one root (vst.settings.cache_root);
    a blank VST_CACHE_DIR counts as unset everywhere."""
    from training.vgg import default_cache_dir as vgg_cache_dir
    from vst.app.config import AppConfig
    from vst.settings import cache_root
    from vst.web_runtime import runtime_dir

    monkeypatch.setenv("VST_CACHE_DIR", str(tmp_path))
    assert cache_root() == vgg_cache_dir() == AppConfig.from_env().cache_dir == tmp_path
    assert default_cache_dir().parent == runtime_dir().parent == tmp_path
    monkeypatch.setenv("VST_CACHE_DIR", "  ")
    home = Path.home() / ".cache" / "vst"
    assert cache_root() == vgg_cache_dir() == AppConfig.from_env().cache_dir == default_cache_dir().parent == home


def test_command_line(own_checkpoints: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(vst.app.showcase, "CURATED_CLIPS", CLIPS)
    args = ["--cache-dir", str(tmp_path / "cache"), "--max-side", "48", "--max-seconds", "0.5", "-q"]
    assert main(args) == 0
    assert "1 A/B pair(s) ready" in (out := capsys.readouterr().out) and "(1 rendered now)" in out
    assert main(args) == 0
    assert "(0 rendered now)" in capsys.readouterr().out
    assert main([*args, "--styles", "udnie"]) == 2
    assert "error: style 'udnie'" in capsys.readouterr().err


def test_the_background_render_waits_while_a_stylize_job_runs(tiny_checkpoints: Path, tmp_path: Path) -> None:
    import threading
    import time

    from vst.app.blind_vote import PairPool
    from vst.app.job_activity import JobActivity

    activity = JobActivity()
    showcase = PairPool(tmp_path / "cache", CLIPS, max_side=64, max_seconds=1.0)
    job = threading.Event()

    def stylize_job() -> None:  # holds the server busy, as StylizeService does around each render
        with activity.running():
            job.wait(timeout=60)

    visitor = threading.Thread(target=stylize_job)
    visitor.start()
    while not activity.busy:
        time.sleep(0.01)
    thread = showcase.start_prerender("cpu", activity=activity)
    time.sleep(1.5)
    assert showcase.rendering and showcase.load() == []  # paused: nothing finished while the job runs
    job.set()
    visitor.join()
    thread.join(timeout=60)
    assert not showcase.rendering and len(showcase.load()) == 1

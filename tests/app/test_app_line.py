"""The line of stylize jobs (:mod:`vst.app.line`) and the status line a visitor reads (:mod:`vst.app.progress`):
places, honest waits (unknown until this server has measured something), a full line refused, and the texts."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from vst.app.line import JobLine, Place, QueueFullError, SpeedLog, Stage
from vst.app.progress import JobStatus, duration_text, ordinal, status_html


def test_the_line_admits_in_order_estimates_waits_and_refuses_when_full() -> None:
    line = JobLine(slots=1, size=2)
    job = [Stage(("fast",), frames=100, pixels=640 * 360), Stage(("fast-framewise",), frames=100, pixels=640 * 360)]
    first, second, third = line.join(job), line.join(job), line.join(job)
    assert line.running(first) and not line.running(second) and line.counts == (1, 2)
    with pytest.raises(QueueFullError, match=r"^This server is busy: 2 videos are waiting already\."):
        line.join(job)
    # Nothing measured yet: the wait is unknown, not guessed.
    assert line.place(second) == Place(position=1, running=1, waiting=0, seconds=None)
    # The running job reports its time left; the next one waits that long. The one after it also waits for the job
    # ahead, which is unknown until a job like it has been measured.
    line.report(first, 12.0)
    assert line.place(second) == Place(1, 1, 0, 12.0)
    assert line.place(third) == Place(2, 1, 1, None)
    for stage in job:
        line.speed.record(stage, 23.04)  # 100 frames of 0.2304 megapixels: 1 s per megapixel-frame
    assert line.speed.estimate(job) == pytest.approx(46.08)
    assert line.place(third).seconds == pytest.approx(12.0 + 46.08)
    assert line.place(first) is None  # running: no place in line

    admitted = threading.Event()
    waiter = threading.Thread(target=lambda: line.wait(second, 5) and admitted.set())
    waiter.start()
    assert not line.wait(second, 0.05)
    line.leave(first)
    waiter.join(5)
    assert admitted.is_set() and line.running(second) and line.place(third) == Place(1, 1, 0, pytest.approx(46.08,
                                                                                                              abs=0.5))
    line.leave(third)  # gave up while waiting
    line.leave(second)
    assert line.counts == (0, 0)


def test_speeds_follow_the_newest_measurements() -> None:
    speed = SpeedLog()
    stage = Stage(("temporal", "framewise"), frames=10, pixels=1_000_000)
    assert speed.estimate([stage]) is None
    speed.record(stage, 10.0)
    speed.record(Stage(("framewise", "temporal"), frames=10, pixels=1_000_000), 30.0)  # the same kind of stage
    assert speed.estimate([stage]) == pytest.approx(20.0)
    speed.record(Stage(("fast",), frames=0, pixels=100), 5.0)  # nothing rendered: ignored
    assert speed.rate(("fast",)) is None


def test_status_texts() -> None:
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 101)] == \
        ["1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "101st"]
    assert [duration_text(s) for s in (0.2, 8.1, 59.5, 65, 600, 3601)] == \
        ["1 s", "9 s", "1 min 00 s", "1 min 05 s", "10 min", "61 min"]
    waiting = JobStatus("a" * 32, "waiting", place=Place(3, 1, 2, 95.0))
    assert waiting.text() == ("You are 3rd in line (1 video being stylized and 2 videos waiting ahead of yours): "
                              "about 1 min 35 s to wait.")
    unknown = JobStatus("a" * 32, "waiting", place=Place(1, 2, 0, None))
    assert unknown.text() == ("You are next in line (2 videos being stylized): the wait is estimated once this "
                              "server has timed a video like these.")
    video = JobStatus("a" * 32, "video", 30, 100, 2.64, 26.6)
    assert video.text() == "Stylizing your video: frame 30 of 100 · 2.6 fps · about 27 s left"
    assert 'aria-valuenow="30.0"' in status_html(video) and 'data-job="' + "a" * 32 in status_html(video)
    comparison = JobStatus("a" * 32, "comparison", 0, 100, baseline="fast, framewise")
    assert comparison.text() == ("Your video is ready (below). Rendering the fast, framewise baseline for the flicker "
                                 "comparison: frame 0 of 100")
    failed = status_html(JobStatus("a" * 32, "failed", message="Stopped after 301 s: <too long>"))
    assert 'role="alert"' in failed and "&lt;too long&gt;" in failed and "vst-bar" not in failed
    assert status_html(None) == ""


def test_a_job_whose_visitor_left_stops_and_frees_its_place(tmp_path: Path, clips_dir: Path) -> None:
    """:meth:`StylizeService.watch` closed early (Gradio closes it when the visitor's page goes): the render stops at
    its next frames, its folder is deleted and the next job in line runs."""
    from tests.support.app_harness import make_tiny_styles, patched_env
    from tests.support.clips import make_clip
    from vst.app.config import AppConfig
    from vst.app.gallery import gallery_styles
    from vst.app.stylize_jobs import StylizeService

    root = make_tiny_styles(tmp_path / "styles")
    clip = make_clip(clips_dir / "leaving.mp4", width=160, height=120, num_frames=240, fps=24)
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / "cache"), "VST_QUEUE_SIZE": "1"})
    with patched_env({"VST_CHECKPOINT_DIR": str(root), "HF_HUB_OFFLINE": "1"}):
        service = StylizeService(config, gallery_styles(config))
    first = service.watch(clip, "starry-night", interval=0.2)
    second = service.watch(clip, "starry-night", interval=0.2)
    assert next(first).stage == "starting"
    waiting = next(second)
    assert waiting.stage == "waiting" and waiting.place.position == 1
    rendering = next(status for status in first if status.stage == "video" and status.done > 0)
    assert rendering.total == 240 and rendering.done < 240
    first.close()  # the visitor left
    began = time.monotonic()
    turn = next(status for status in second if status.stage != "waiting")
    assert turn.stage == "starting" and time.monotonic() - began < 20  # its turn came: the first job stopped
    second.close()
    deadline = time.monotonic() + 30
    while service.line.counts != (0, 0) or any(config.jobs_dir.iterdir()):
        assert time.monotonic() < deadline, (service.line.counts, list(config.jobs_dir.iterdir()))
        time.sleep(0.1)


def test_real_time_runs_the_network_at_its_smallest_size_when_nothing_keeps_up(tmp_path: Path) -> None:
    """A 1280×720 clip at 1000 fps (VST_MAX_SIDE=1280): no network keeps up at full or half size, so real-time mode
    runs the fast network (and its twin, for a fair comparison) at a quarter of each side, upsampled back, and the
    result says so; the video keeps the clip's size."""
    from tests.support.app_harness import make_tiny_styles, patched_env
    from tests.support.clips import make_clip
    from vst.app.config import AppConfig
    from vst.app.gallery import gallery_styles
    from vst.app.stylize_jobs import StylizeService
    from vst.video import probe

    root = make_tiny_styles(tmp_path / "styles", fast=("starry-night",), fast_framewise=("starry-night",))
    clip = make_clip(tmp_path / "hd.mp4", width=1280, height=720, num_frames=4, fps=1000)
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / "cache"), "VST_MAX_SIDE": "1280"})
    with patched_env({"VST_CHECKPOINT_DIR": str(root), "HF_HUB_OFFLINE": "1"}):
        service = StylizeService(config, gallery_styles(config))
    outcome = service.run(clip, "starry-night", realtime=True)
    line = outcome.network_line()
    assert " · The network ran at 320×180 (a quarter of 1280×720), its smallest size" in line, line
    assert "real time" not in line, line
    assert outcome.baseline_variant == "fast-framewise" and outcome.baseline is not None
    for video in (outcome.video, outcome.baseline):
        assert (probe(video).width, probe(video).height) == (1280, 720)

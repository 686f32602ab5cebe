"""The Gradio app end to end: launched for real (tiny styles, a temporary votes database) and driven with
``gradio_client``, plus the app's configuration and comparison helpers."""

from __future__ import annotations

import math
import os
import re
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import httpx
import numpy as np
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError

from tests.support.app_harness import (
    IGNORE_GRADIO_PANDAS_WARNINGS,
    OFFLINE_ENV,
    make_tiny_styles,
    patched_env,
    running_app,
)
from tests.support.clips import make_clip
from vst.app.config import AppConfig
from vst.app.gallery import gallery_styles
from vst.app.blind_vote import PairPool
from vst.app.job_space import JobSpace
from vst.app.stylize_jobs import FramesTooLargeError, StylizeService
from vst.app.stylize_outcome import speed_text
from vst.app.showcase import checkpoint_digest
from vst.app.comparison import (
    FAST_FRAMEWISE_LABEL,
    FAST_LABEL,
    FRAMEWISE_LABEL,
    TEMPORAL_LABEL,
    flicker_frame,
    flicker_reading,
    summary_line,
)
from vst.mp4_checks import is_browser_playable
from vst.pipeline import RenderResult
from vst.video import probe
from vst.app.votes import VoteStore, wilson_interval
from vst.settings import ConfigError

pytestmark = pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS)

#: The result text's second paragraph once the comparison is rendered: the flicker reading, frames and size.
SUMMARY = re.compile(r"^\*\*(?:\d+% (?:less|more) flicker than|as much flicker as) (?P<baseline>[^*]+)\*\* · "
                     r"(?P<frames>\d+) frames · (?P<width>\d+)×(?P<height>\d+)(?P<twin>.*)$")
#: The result text's first paragraph: which network rendered the video (and why, after a fallback) and one speed.
NETWORK = re.compile(r"^Network: \*\*(?P<label>[^*]+)\*\* · rendered at (?P<fps>\d+\.\d\d?) fps, "
                     r"(?P<pace>faster than|as fast as|slower than) the clip's (?P<clip>\d+) fps(?P<rt>: real time)?"
                     r"(?P<together> \(together with the framewise baseline\))?(?P<sound> · its sound kept)?"
                     r"(?P<note>.*)$")
FALLBACK = " · The fast network was asked for, but this style has none, so the temporal model was used."
TWIN_MISSING = " · compared with the full-size framewise model: this style has no fast framewise twin yet"


def result_text(summary: str) -> tuple[re.Match[str], re.Match[str]]:
    """The result text's two paragraphs, parsed: :data:`NETWORK` and :data:`SUMMARY`."""
    network_line, stats_line = summary.split("\n\n")
    network, stats = NETWORK.match(network_line), SUMMARY.match(stats_line)
    assert network and stats, summary
    assert "fps for" not in summary  # one speed figure only
    # "real time" is said only when the render kept up with the clip, as measured; the figure is given either way.
    assert (network["rt"] is not None) == (network["pace"] != "slower than") == \
        (float(network["fps"]) >= float(network["clip"])), summary
    assert summary.count("real time") == (network["rt"] is not None)
    return network, stats


def plot_variants(plot: dict) -> set[str]:
    return {row[plot["columns"].index("variant")] for row in plot["data"]}


def first_frame(video: str | Path) -> np.ndarray:
    with av.open(str(video)) as container:
        return next(container.decode(video=0)).to_ndarray(format="rgb24").astype(np.int16)


@dataclass
class RunningApp:
    url: str
    config: AppConfig
    store: VoteStore
    checkpoints: Path | None = None

    def client(self) -> Client:
        """A new client: a new Gradio session (its own A/B state)."""
        return Client(self.url, verbose=False)


@pytest.fixture(scope="module")
def app_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    root = make_tiny_styles(tmp_path_factory.mktemp("styles"))
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root),
                      "VST_VOTES_DB": str(tmp_path_factory.mktemp("env-votes") / "votes.sqlite3")}):
        yield root


@pytest.fixture(scope="module")
def main_app(app_env: Path, tmp_path_factory: pytest.TempPathFactory, clips_dir: Path) -> Iterator[RunningApp]:
    """The app with default limits, one pre-rendered showcase pair (a tiny clip) and an empty votes database."""
    cache = tmp_path_factory.mktemp("cache")
    config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0"})
    showcase = PairPool(config.showcase_dir, {"tiny": make_clip(clips_dir / "showcase.mp4", num_frames=12)},
                        max_side=64, max_seconds=1.0)
    assert len(showcase.prerender()) == 1
    store = VoteStore(cache / "votes.sqlite3")
    with running_app(config, store, showcase) as url:
        yield RunningApp(url, config, store)
    store.close()


#: Votes of the strict app's database: (left_variant, choice), each from its own session.
KNOWN_VOTES = [("temporal", "left")] * 5 + [("framewise", "right")] * 2 + [("framewise", "left")] * 2 + \
    [("temporal", "right")] * 1 + [("temporal", "tie")] * 2


@pytest.fixture(scope="module")
def strict_app(app_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """Limits set small through the environment variables (2 s per video, a 1 ms job time limit, 1 MB uploads) and
    a votes database holding :data:`KNOWN_VOTES` on the current checkpoints and one vote on older ones."""
    cache = tmp_path_factory.mktemp("strict-cache")
    config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_MAX_SECONDS": "2", "VST_JOB_TIMEOUT": "0.001",
                                 "VST_MAX_SIDE": "32", "VST_MAX_UPLOAD_MB": "1", "VST_SHOWCASE": "0"})
    store = VoteStore(cache / "votes.sqlite3")
    digest = checkpoint_digest({v: app_env / "starry-night" / v for v in ("temporal", "framewise")})
    for i, (left, choice) in enumerate(KNOWN_VOTES):
        assert store.record(style="starry-night", clip="carphone", left_variant=left, choice=choice,
                            session=f"known-{i:04d}", checkpoints=digest)
    # A vote on an earlier training of the style: recorded, but not counted with the current checkpoints' votes.
    assert store.record(style="starry-night", clip="carphone", left_variant="framewise", choice="left",
                        session="before-retraining", checkpoints="0123456789abcdef")
    with running_app(config, store, PairPool(config.showcase_dir, {})) as url:
        yield RunningApp(url, config, store)
    store.close()


@pytest.fixture(scope="module")
def fast_app(app_env: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApp]:
    """Three styles: The Starry Night with a (tiny) fast network and its framewise twin, The Scream with a fast
    network only, The Great Wave without one; no showcase pairs."""
    root = make_tiny_styles(tmp_path_factory.mktemp("fast-styles"), ("starry-night", "great-wave", "the-scream"),
                            fast=("starry-night", "the-scream"), fast_framewise=("starry-night",))
    cache = tmp_path_factory.mktemp("fast-cache")
    config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0"})
    store = VoteStore(cache / "votes.sqlite3")
    with running_app(config, store, PairPool(config.showcase_dir, {}), checkpoints=root) as url:
        yield RunningApp(url, config, store, root)
    store.close()


# --------------------------------------------------------------------------------------------------- stylize


def test_stylize_returns_a_playable_video_the_slider_and_the_flicker_plot(main_app: RunningApp,
                                                                          clip_mp4: Path) -> None:
    video, slider, plot, reading, summary = main_app.client().predict(handle_file(clip_mp4), "starry-night",
                                                                      api_name="/stylize")
    assert is_browser_playable(video)
    info = probe(video)
    assert (info.width, info.height, info.num_frames, info.has_audio) == (64, 48, 24, True)

    columns = plot["columns"]
    rows = [dict(zip(columns, row, strict=True)) for row in plot["data"]]
    for label in (TEMPORAL_LABEL, FRAMEWISE_LABEL):
        points = [r for r in rows if r["variant"] == label]
        assert [r["frame"] for r in points] == list(range(1, 24))  # one point per frame pair
        assert all(r["warping_error"] is not None and r["warping_error"] >= 0 for r in points)
    network, stats = result_text(summary)
    assert (stats["frames"], stats["width"], stats["height"], stats["baseline"]) == ("24", "64", "48", "framewise")
    assert reading.startswith("**Flicker per frame pair**: the lower a line, the steadier")  # the plot's caption
    # The fast network is asked for by default; this style has none, and the result says so. The clip has sound.
    assert (network["label"], network["sound"], network["note"]) == (TEMPORAL_LABEL, " · its sound kept", FALLBACK)
    assert network["together"]  # one pass rendered the video and its baseline: the speed is of both

    # The slider's two videos are served by the app's media route (no server path in the page), playable, and are
    # the two variants.
    sources = re.findall(r'<video class="vst-(under|over)" src="([^"]+)"', slider)
    assert [kind for kind, _ in sources] == ["under", "over"]
    assert str(main_app.config.cache_dir) not in slider and "/gradio_api/file=" not in slider
    for kind, src in sources:
        assert re.fullmatch(r"/vst-media/[0-9a-f]{32}/clip_starry-night(_framewise)?\.mp4", src), src
        response = httpx.get(main_app.url.rstrip("/") + src, timeout=30)
        assert response.status_code == 200
        assert response.headers["content-type"] == "video/mp4"
        assert response.content[4:8] == b"ftyp"
        assert ("framewise" in src) == (kind == "under")
    assert 'type="range"' in slider and "temporal (ours)" in slider and "framewise" in slider


def test_real_time_uses_the_fast_network_and_compares_it_with_its_framewise_twin(fast_app: RunningApp,
                                                                                 clip_mp4: Path) -> None:
    client = fast_app.client()
    job = client.submit(handle_file(clip_mp4), "starry-night", True, api_name="/stylize")
    first, last = job.result(), job.outputs()
    assert len(last) == 2 and tuple(last[-1]) == tuple(first)  # the video first, then the comparison
    video, slider, plot, reading, summary = last[-1]

    # First the fast video alone, with the comparison announced.
    early_video, early_slider, early_plot, early_reading, early_summary = last[0]
    assert Path(early_video).name == "clip_starry-night_fast.mp4" and is_browser_playable(early_video)
    assert "Rendering the baseline for the comparison" in early_slider
    assert early_summary.endswith("24 frames · 64×48 · the flicker comparison with the fast, framewise baseline "
                                  "follows")
    assert not early_plot or not early_plot.get("data")
    assert NETWORK.match(early_summary.split("\n\n")[0])

    network, stats = result_text(summary)
    # in real time the result says at which resolution the network ran (measured to keep up, see vst.realtime)
    assert network["label"] == FAST_LABEL and network["note"].startswith(" · The network ran at full resolution "
                                                                          "(64×48)")
    assert (stats["frames"], stats["baseline"], stats["twin"]) == ("24", FAST_FRAMEWISE_LABEL, "")
    assert Path(video).name == "clip_starry-night_fast.mp4" and is_browser_playable(video)
    assert probe(video).num_frames == 24
    assert reading.startswith("**Flicker per frame pair**") and "flicker than" not in reading  # said once, above

    # The comparison is fast vs its framewise twin, labelled so: the plot's series, the slider's videos and labels.
    assert plot_variants(plot) == {FAST_LABEL, FAST_FRAMEWISE_LABEL}
    over = re.search(r'<video class="vst-over" src="([^"]+)"[^>]*aria-label="([^"]+)"', slider)
    under = re.search(r'<video class="vst-under" src="([^"]+)"', slider)
    assert over and over[1].endswith("_starry-night_fast.mp4") and over[2] == FAST_LABEL
    assert under and under[1].endswith("_starry-night_fast-framewise.mp4")
    assert f'vst-label-right">{FAST_LABEL}<' in slider and TEMPORAL_LABEL not in slider
    assert f'vst-label-left">{FAST_FRAMEWISE_LABEL}<' in slider

    # The visitor's own fast result is a blind pair too: the fast network against its framewise twin (the same small
    # network trained with and without the temporal loss), and the vote is counted with those two checkpoints.
    left, right, prompt, *_ = client.predict(api_name="/ab_next")
    assert prompt == ("**The Starry Night** (Vincent van Gogh) on your own video (the fast network and its framewise "
                      "twin). Which one flickers less and looks better?")
    job = next(fast_app.config.jobs_dir.glob("*/clip_starry-night_fast.mp4")).parent
    shown = {Path(left).read_bytes(), Path(right).read_bytes()}
    assert shown == {(job / f"clip_starry-night_{v}.mp4").read_bytes() for v in ("fast", "fast-framewise")}
    reveal, results, _ = client.predict(api_name="/vote_left")
    assert re.fullmatch(r"Left was \*\*(fast|fast, framewise)\*\*, right was \*\*(fast, framewise|fast)\*\*\. You "
                        r"preferred \*\*\1\*\*\. Thanks for voting!", reveal), reveal
    with sqlite3.connect(fast_app.store.path) as conn:
        network, checkpoints, clip = conn.execute("SELECT network, checkpoints, clip FROM votes ORDER BY id DESC"
                                                  ).fetchone()
    twin = checkpoint_digest({v: fast_app.checkpoints / "starry-night" / v for v in ("fast", "fast-framewise")},
                             ("fast", "fast-framewise"))
    assert (network, checkpoints, clip) == ("fast", twin, f"upload-{job.name}")
    assert "By network: fast network vs its framewise twin: temporal preferred in" in results
    assert "(1 vote)" in results  # counted: the checkpoints compared are the ones installed now

    # The same clip with the temporal model (fast network off) is a different rendering.
    temporal, *_ = client.predict(handle_file(clip_mp4), "starry-night", False, api_name="/stylize")
    assert np.abs(first_frame(video) - first_frame(temporal)).mean() > 1.0


def test_real_time_without_a_fast_twin_compares_with_the_full_size_framewise_model_and_says_so(
        fast_app: RunningApp, clip_mp4: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level("WARNING", logger="vst.app.stylize_jobs")
    video, slider, plot, _, summary = fast_app.client().predict(handle_file(clip_mp4), "the-scream", True,
                                                                api_name="/stylize")
    network, stats = result_text(summary)
    assert (network["label"], stats["baseline"], stats["twin"]) == (FAST_LABEL, FRAMEWISE_LABEL, TWIN_MISSING)
    assert plot_variants(plot) == {FAST_LABEL, FRAMEWISE_LABEL}
    assert "the-scream has no fast-framewise network" in caplog.text


def test_the_comparison_can_fail_and_the_delivered_video_stays(fast_app: RunningApp, clip_mp4: Path,
                                                               tmp_path_factory: pytest.TempPathFactory,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    """The comparison stage gets a budget it cannot meet: it stops and says so; the fast video was delivered and
    is still there (playable, served, not turned into an error)."""
    caplog.set_level("WARNING", logger="vst.app.stylize_jobs")
    cache = tmp_path_factory.mktemp("failing-cache")
    config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0",
                                 "VST_COMPARISON_TIMEOUT": "0.001"})
    with running_app(config, fast_app.store, PairPool(config.showcase_dir, {}),
                     checkpoints=fast_app.checkpoints) as url:
        job = Client(url, verbose=False).submit(handle_file(clip_mp4), "starry-night", True, api_name="/stylize")
        video, slider, plot, reading, summary = job.result()
        assert len(job.outputs()) == 2
        assert Path(video).name == "clip_starry-night_fast.mp4" and is_browser_playable(video)
        served = next(config.jobs_dir.glob("*/clip_starry-night_fast.mp4"))
        assert is_browser_playable(served) and not list(config.jobs_dir.glob("*/*fast-framewise*"))
        network, stats_line = summary.split("\n\n")
        assert NETWORK.match(network)["label"] == FAST_LABEL  # type: ignore[index]
        assert re.fullmatch(r"Your video is ready; the flicker comparison was not made: it stopped after \d+ s "
                            r"\(this server allows 0\.001 s for it\)\.", stats_line)
        assert not plot or not plot.get("data")
        assert reading == ""
        job_id = served.parent.name
        assert f"job {job_id}: the comparison failed after the video was delivered" in caplog.text


def test_real_time_off_uses_the_temporal_model(fast_app: RunningApp, clip_mp4: Path) -> None:
    client = fast_app.client()
    video, slider, plot, _, summary = client.predict(handle_file(clip_mp4), "starry-night", False,
                                                     api_name="/stylize")
    network, _ = result_text(summary)
    assert (network["label"], network["note"]) == (TEMPORAL_LABEL, "")
    assert Path(video).name == "clip_starry-night.mp4" and is_browser_playable(video)
    assert plot_variants(plot) == {TEMPORAL_LABEL, FRAMEWISE_LABEL}
    assert f'vst-label-right">{TEMPORAL_LABEL}<' in slider and FAST_LABEL not in slider
    _, _, prompt, *_ = client.predict(api_name="/ab_next")  # the visitor's own temporal result joins the vote
    assert prompt.startswith("**The Starry Night** (Vincent van Gogh) on your own video.")


def test_real_time_without_a_fast_network_falls_back_to_the_temporal_model_and_says_so(fast_app: RunningApp,
                                                                                       clip_mp4: Path) -> None:
    video, _, plot, _, summary = fast_app.client().predict(handle_file(clip_mp4), "great-wave", True,
                                                           api_name="/stylize")
    network, _ = result_text(summary)
    assert (network["label"], network["note"]) == (TEMPORAL_LABEL, FALLBACK)
    assert Path(video).name == "clip_great-wave.mp4" and is_browser_playable(video)
    assert plot_variants(plot) == {TEMPORAL_LABEL, FRAMEWISE_LABEL}


def test_the_real_time_checkbox_is_on_and_names_what_the_first_style_has(fast_app: RunningApp) -> None:
    config = httpx.get(fast_app.url + "config", timeout=30).json()
    box = next(c["props"] for c in config["components"] if c["props"].get("elem_id") == "realtime")
    assert (box["value"], box["label"], box["interactive"]) == (True, "Fast network", True)
    assert box["info"].startswith("The fast network: a much smaller model")  # The Starry Night, selected first
    assert "real time" not in box["info"].lower() and "real-time" not in box["info"].lower()


def test_bad_input_gets_a_one_line_message_and_the_app_keeps_working(main_app: RunningApp, tmp_path: Path,
                                                                     clip_mp4: Path) -> None:
    fake = tmp_path / "holiday.mp4"
    fake.write_text("this is a text file, not a video\n")
    client = main_app.client()
    with pytest.raises(AppError) as caught:
        client.predict(handle_file(fake), "starry-night", api_name="/stylize")
    message = str(caught.value)
    assert message.startswith("This file cannot be used as a video: holiday.mp4 is not a readable video file")
    assert "\n" not in message and "Traceback" not in message and str(tmp_path) not in message

    with pytest.raises(AppError, match=r"^Pick a style in the gallery first\.$"):
        client.predict(handle_file(clip_mp4), "", api_name="/stylize")
    with pytest.raises(AppError, match=r"^The style 'the-scream' is not installed here"):
        client.predict(handle_file(clip_mp4), "the-scream", api_name="/stylize")

    video, *_ = client.predict(handle_file(clip_mp4), "starry-night", api_name="/stylize")
    assert is_browser_playable(video)


def test_an_over_long_video_is_refused_with_the_limit(strict_app: RunningApp, clips_dir: Path) -> None:
    long_clip = make_clip(clips_dir / "three-seconds.mp4", num_frames=72, fps=24)
    with pytest.raises(AppError) as caught:
        strict_app.client().predict(handle_file(long_clip), "starry-night", api_name="/stylize")
    assert str(caught.value) == ("This video is 3.0 s long; this server stylizes videos of up to 2 s. "
                                 "Please trim it and try again.")
    assert not any(strict_app.config.jobs_dir.glob("*/*.mp4"))


def test_the_job_time_limit_stops_a_job_and_leaves_no_files(strict_app: RunningApp, clip_mp4: Path) -> None:
    with pytest.raises(AppError, match=r"^Stopped after \d+ s: this server allows 0\.001 s per video\."):
        strict_app.client().predict(handle_file(clip_mp4), "starry-night", api_name="/stylize")
    assert strict_app.config.jobs_dir.is_dir()
    assert list(strict_app.config.jobs_dir.iterdir()) == []


def test_frames_over_the_pixel_limit_are_refused_before_decoding(tmp_path: Path, clip_odd: Path) -> None:
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path), "VST_MAX_INPUT_PIXELS": "50000"})
    service = StylizeService(config, [])
    with pytest.raises(FramesTooLargeError) as caught:
        service.check_video(clip_odd)  # 321×179 = 57,459 pixels
    assert str(caught.value) == ("This video's frames are 321×179; this server takes frames of up to 0.1 megapixels. "
                                 "Please export it at a smaller size (720p is plenty).")
    assert StylizeService(AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path)}), []).check_video(clip_odd).width == 321


@pytest.mark.parametrize(("variable", "clip", "stage", "flag", "caption"), [
    ("VST_SMOOTHING", "clip_mp4", "smoothing", "smoothed", "steadied alike by flow smoothing"),
    ("VST_DENOISE", "clip_grainy", "denoise", "denoised", "grain held steady"),
])
def test_both_videos_of_a_job_are_steadied_alike_unless_turned_off(tmp_path: Path, request: pytest.FixtureRequest,
                                                                  variable: str, clip: str, stage: str, flag: str,
                                                                  caption: str) -> None:
    """VST_SMOOTHING (the output smoothed along the flow) and VST_DENOISE (the networks' input denoised along it),
    each on by default, steady the delivered video and its comparison alike: on a clip where each applies (a moving
    pattern; real motion with grain), both videos flicker less than the same job without it, the plot's caption says
    so, and ``0`` leaves it out (the other one off throughout)."""
    root = make_tiny_styles(tmp_path / "styles")
    others = {"VST_SMOOTHING": "0", "VST_DENOISE": "0"}
    outcomes = {}
    for value in ("1", "0"):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / f"cache-{value}"), "VST_SHOWCASE": "0",
                                     **others, variable: value})
        with patched_env({"VST_CHECKPOINT_DIR": str(root), "HF_HUB_OFFLINE": "1"}):
            service = StylizeService(config, gallery_styles(config))
        outcomes[value] = service.run(request.getfixturevalue(clip), "starry-night")
    on, off = outcomes["1"], outcomes["0"]
    assert getattr(on, flag) and not getattr(off, flag)
    assert stage in on.result.stage_seconds and stage not in off.result.stage_seconds
    for variant in ("temporal", "framewise"):
        assert on.result.mean_warping_error()[variant] < off.result.mean_warping_error()[variant]
    assert caption in on.plot_caption()
    assert caption not in off.plot_caption()


def test_uploads_over_the_size_limit_are_refused(strict_app: RunningApp, tmp_path: Path) -> None:
    big = tmp_path / "big.mp4"
    big.write_bytes(bytes(1024 * 1024 + 1))
    with pytest.raises(ValueError, match="exceeds the maximum file size of 1048576 bytes"):  # the client checks
        strict_app.client().predict(handle_file(big), "starry-night", api_name="/stylize")
    with big.open("rb") as f:  # and so does the server
        response = httpx.post(strict_app.url + "gradio_api/upload", files={"files": ("big.mp4", f, "video/mp4")},
                              timeout=30)
    assert response.status_code == 413


def test_old_job_folders_are_pruned_when_a_job_starts(tmp_path: Path) -> None:
    jobs = JobSpace(tmp_path / "jobs", ttl_seconds=60)
    old_id, old = jobs.new()
    (old / "out.mp4").write_bytes(b"x")
    os.utime(old, (time.time() - 120, time.time() - 120))
    new_id, new = jobs.new()
    assert not old.exists() and new.is_dir() and new_id != old_id
    assert re.fullmatch(r"[0-9a-f]{32}", new_id)
    jobs.remove(tmp_path)  # outside the job space: ignored
    assert tmp_path.is_dir()


def test_without_styles_the_app_explains_how_to_install_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import gradio as gr

    import app

    empty = tmp_path / "no-styles"
    empty.mkdir()
    for key, value in OFFLINE_ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(empty))
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / "cache")})
    with VoteStore(tmp_path / "votes.sqlite3") as store:
        demo = app.build_app(config, store=store, showcase=PairPool(config.showcase_dir, {}))
    blocks = list(demo.blocks.values())
    assert not any(isinstance(b, gr.Gallery) for b in blocks)
    assert any(isinstance(b, gr.Markdown) and "No style is installed yet" in str(b.value) for b in blocks)
    button = next(b for b in blocks if isinstance(b, gr.Button) and b.elem_id == "stylize-button")
    assert button.interactive is False


# --------------------------------------------------------------------------------------------------- votes


def vote_rows(db: Path) -> list[tuple[str, str, str, str, str, str]]:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT style, clip, left_variant, choice, winner, session FROM votes "
                            "ORDER BY id").fetchall()


def test_a_vote_writes_one_row_and_a_session_votes_once_per_pair(main_app: RunningApp, clip_mp4: Path) -> None:
    client = main_app.client()
    before = vote_rows(main_app.store.path)
    left, right, prompt, reveal, *_ = client.predict(api_name="/ab_next")
    assert is_browser_playable(left) and is_browser_playable(right)
    assert Path(left).name != Path(right).name
    assert not re.search("temporal|framewise", Path(left).name + Path(right).name)  # names give nothing away
    assert prompt.startswith("**The Starry Night** (Vincent van Gogh) on the clip “tiny”")

    reveal, _results, _table = client.predict(api_name="/vote_left")
    rows = vote_rows(main_app.store.path)
    assert len(rows) == len(before) + 1
    style, clip, left_variant, choice, winner, session = rows[-1]
    assert (style, clip, choice, winner) == ("starry-night", "tiny", "left", left_variant)
    assert re.fullmatch(r"[0-9a-f]{32}", session)
    assert reveal.startswith(f"Left was **{'temporal (ours)' if left_variant == 'temporal' else 'framewise'}**")

    # Voting again on the same pair is not counted; the showcase has no other pair, so nothing is left.
    reveal, *_ = client.predict(api_name="/vote_right")
    assert reveal.startswith("You had already voted on this pair, so this vote was not counted.")
    assert len(vote_rows(main_app.store.path)) == len(before) + 1
    left, right, prompt, *_ = client.predict(api_name="/ab_next")
    assert left is None and right is None
    assert prompt.startswith("You have voted on every pair available right now.")

    # The visitor's own result becomes a pair for this session only.
    client.predict(handle_file(clip_mp4), "starry-night", api_name="/stylize")
    _, _, prompt, *_ = client.predict(api_name="/ab_next")
    assert prompt == ("**The Starry Night** (Vincent van Gogh) on your own video. Which one flickers less and looks "
                      "better?")
    _, _, other_prompt, *_ = main_app.client().predict(api_name="/ab_next")
    assert "your own video" not in other_prompt


def test_results_match_the_known_votes(strict_app: RunningApp) -> None:
    markdown, table = strict_app.client().predict(api_name="/results")
    # KNOWN_VOTES: temporal won 5 (left) + 2 (right) = 7, framewise 2 (left) + 1 (right) = 3, 2 ties.
    low, high = wilson_interval(7, 10)
    assert markdown.startswith(f"**Temporal (ours) preferred in 70% of decisive votes** (95% CI "
                               f"{low * 100:.0f}–{high * 100:.0f}%): 7 for temporal, 3 for framewise, 2 can't tell "
                               f"(12 votes).")
    left_low, left_high = wilson_interval(7, 10)  # the left video won 5 + 2 of the 10 decisive votes
    assert f"the left video won 70% of decisive votes (95% CI {left_low * 100:.0f}–{left_high * 100:.0f}%" in markdown
    assert markdown.endswith(strict_app.store.sync_status)
    assert table["headers"] == ["style", "temporal wins", "framewise wins", "can't tell", "temporal win rate",
                                "95% CI"]
    interval = f"{low * 100:.0f}–{high * 100:.0f}%"
    assert table["data"] == [["The Starry Night", 7, 3, 2, "70%", interval], ["all styles", 7, 3, 2, "70%", interval]]


# --------------------------------------------------------------------------------------------------- helpers


def test_config_reads_every_variable_and_rejects_bad_values(tmp_path: Path) -> None:
    default = AppConfig.from_env({})
    assert (default.max_upload_mb, default.max_seconds, default.max_side, default.concurrency, default.job_timeout,
            default.device, default.showcase, default.compile, default.smoothing, default.denoise) == \
        (200, 30.0, 720, 1, 300.0, None, True, False, True, True)
    config = AppConfig.from_env({
        "VST_MAX_UPLOAD_MB": "50", "VST_MAX_SECONDS": "12.5", "VST_MAX_SIDE": "480", "VST_CONCURRENCY": "3",
        "VST_QUEUE_SIZE": "7", "VST_JOB_TIMEOUT": "90", "VST_DEVICE": "cpu", "VST_CACHE_DIR": str(tmp_path),
        "VST_CACHE_TTL_MINUTES": "5", "VST_SHOWCASE": "false", "VST_COMPILE": "1", "VST_COMPARISON_TIMEOUT": "45",
        "VST_MAX_INPUT_PIXELS": "2073600", "VST_SMOOTHING": "0", "VST_DENOISE": "no",
    })
    assert not config.smoothing and not config.denoise
    assert (config.comparison_timeout, config.max_input_pixels) == (45.0, 1920 * 1080)
    assert (default.comparison_timeout, default.max_input_pixels) == (120.0, 3840 * 2160)
    assert (config.max_upload_bytes, config.max_seconds, config.max_side, config.concurrency, config.queue_size,
            config.job_timeout, config.device, config.cache_ttl_minutes, config.showcase, config.compile) == \
        (50 * 1024 * 1024, 12.5, 480, 3, 7, 90.0, "cpu", 5.0, False, True)
    assert config.jobs_dir.parent == tmp_path and config.showcase_dir == tmp_path / "showcase"
    assert AppConfig.from_env({"VST_DEVICE": "auto"}).device is None
    for name, bad, message in [("VST_MAX_SECONDS", "ten", "VST_MAX_SECONDS must be a number, not 'ten'"),
                               ("VST_MAX_SIDE", "8", "VST_MAX_SIDE must be at least 16, not '8'"),
                               ("VST_CONCURRENCY", "1.5", "VST_CONCURRENCY must be a whole number, not '1.5'"),
                               ("VST_JOB_TIMEOUT", "nan", "VST_JOB_TIMEOUT must be at least 0.001, not 'nan'"),
                               ("VST_SHOWCASE", "maybe", "VST_SHOWCASE must be 1 or 0 (true/false), not 'maybe'")]:
        with pytest.raises(ConfigError) as caught:
            AppConfig.from_env({name: bad})
        assert str(caught.value) == message


def test_the_speed_says_real_time_only_when_the_render_kept_up_with_the_clip() -> None:
    assert speed_text(400, 10.0, 20.0) == "rendered at 40.0 fps, faster than the clip's 20 fps: real time"
    assert speed_text(200, 10.0, 20.0) == "rendered at 20.0 fps, as fast as the clip's 20 fps: real time"
    assert speed_text(101, 10.0, 20.0) == "rendered at 10.1 fps, slower than the clip's 20 fps"
    assert speed_text(199, 10.0, 20.0) == "rendered at 19.9 fps, slower than the clip's 20 fps"
    assert speed_text(23996, 1000.0, 24.0) == "rendered at 23.9 fps, slower than the clip's 24 fps"  # 23.996
    assert speed_text(1017, 100.0, 24.0) == "rendered at 10.2 fps, slower than the clip's 24 fps"  # rounded
    assert speed_text(3000, 100.0, 30000 / 1001) == "rendered at 30.0 fps, faster than the clip's 29.97 fps: real time"
    assert speed_text(100, 10.0, 0.0) == "rendered at 10.0 fps"
    assert speed_text(100, 600.0, 20.0) == "rendered at 0.17 fps, slower than the clip's 20 fps"
    assert speed_text(2399, 100.0, 24.0) == "rendered at 23.9 fps, slower than the clip's 24 fps"  # not "24.0"
    assert speed_text(100, 0.0, 20.0) == "rendered (speed not measurable)"


def test_the_plot_caption_explains_the_gaps_and_the_axes_cover_the_pairs(tmp_path: Path) -> None:
    from vst.app.stylize_outcome import StylizeOutcome

    def outcome(errors: list[float]) -> StylizeOutcome:
        result = RenderResult(outputs={}, frames=len(errors) + 1, seconds=1.0, width=8, height=8,
                              warping_errors={"temporal": errors, "framewise": errors})
        return StylizeOutcome("0" * 32, tmp_path, "starry-night", "temporal", False, tmp_path / "a.mp4",
                              tmp_path / "b.mp4", "framewise", result, 1.0)

    steady = outcome([0.01, 0.02, 0.01])
    assert steady.plot_caption() == ("**Flicker per frame pair**: the lower a line, the steadier that network's "
                                     "video.")
    assert steady.pair_range() == [1, 3]
    cuts = outcome([0.01, math.nan, 0.02, math.nan, 0.01])
    assert cuts.plot_caption().endswith(" The gaps are 2 frame pairs whose motion could not be followed (a cut or "
                                        "very fast motion): they are left out of the figures above.")
    assert "flicker than" not in cuts.plot_caption()  # the reading is in the result text only


@pytest.mark.parametrize("painting_size", [(100, 125), (300, 100), None])
def test_gallery_cards_all_have_one_shape_and_show_the_whole_painting(tmp_path: Path,
                                                                     painting_size: tuple[int, int] | None) -> None:
    from PIL import Image

    from vst.app.gallery import CARD_RATIO, gallery_card

    photo = tmp_path / "preview.jpg"
    Image.new("RGB", (451, 300), (0, 0, 255)).save(photo)
    painting = None
    if painting_size is not None:
        painting = tmp_path / "painting.png"
        Image.new("RGB", painting_size, (255, 0, 0)).save(painting)
    card = Image.open(gallery_card("starry-night", painting, photo, tmp_path / "cards")).convert("RGB")
    assert card.size == (round(240 * CARD_RATIO), 240)
    pixels = np.asarray(card).astype(int)
    red = (pixels[..., 0] > 200) & (pixels[..., 2] < 60)
    blue = (pixels[..., 2] > 200) & (pixels[..., 0] < 60)
    if painting_size is None:
        assert blue.mean() > 0.99  # the photo fills the card
        return
    columns = np.flatnonzero(red.all(axis=0))  # the painting: full height, from the left edge
    expected = min(round(painting_size[0] * 240 / painting_size[1]), round(240 * CARD_RATIO * 0.6))
    assert columns[0] == 0 and abs(len(columns) - expected) <= 2
    assert blue[:, expected + 10:].mean() > 0.99  # the photo fills the rest: no blank band anywhere


def test_flicker_frame_and_summary_line() -> None:
    result = RenderResult(outputs={}, frames=4, seconds=0.5, width=64, height=48,
                          warping_errors={"temporal": [0.01, math.nan, 0.02], "framewise": [0.04, math.nan, 0.03]})
    frame = flicker_frame(result)
    assert list(frame.columns) == ["frame", "warping_error", "variant"]
    assert frame["frame"].tolist() == [1, 2, 3, 1, 2, 3]
    assert frame["variant"].tolist() == [TEMPORAL_LABEL] * 3 + [FRAMEWISE_LABEL] * 3
    assert summary_line(result) == "flicker −57% vs framewise · 8.0 fps · 4 frames · 64×48"  # 0.015 / 0.035 − 1
    cut_only = RenderResult(outputs={}, frames=2, seconds=1.0, width=8, height=8,
                            warping_errors={"temporal": [math.nan], "framewise": [math.nan]})
    assert summary_line(cut_only).startswith("flicker not measurable")
    # The plot's one-line reading, against whichever baseline the result was compared with.
    assert flicker_reading(result) == "57% less flicker than framewise"
    assert flicker_reading(cut_only) == "flicker not measurable (too few frames or only scene cuts)"
    twin = RenderResult(outputs={}, frames=3, seconds=1.0, width=8, height=8,
                        warping_errors={"fast": [0.03, 0.03], "fast-framewise": [0.02, 0.02]})
    assert flicker_reading(twin, "fast", "fast-framewise") == f"50% more flicker than {FAST_FRAMEWISE_LABEL}"
    assert flicker_reading(twin, "fast", "fast") == f"as much flicker as {FAST_LABEL}"

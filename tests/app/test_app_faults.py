"""The app under bad inputs, leftovers of a killed run, expiring files and scripted votes: launched for real and driven
with ``gradio_client`` (tiny styles, a one-pair showcase, a 3-second TTL, a low vote rate limit)."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.exceptions import AppError
from PIL import Image

from tests.support.app_harness import (
    IGNORE_GRADIO_PANDAS_WARNINGS,
    OFFLINE_ENV,
    free_port,
    make_tiny_styles,
    patched_env,
    running_app,
)
from tests.support.clips import make_clip
from tests.vst.test_cli import REPO
from vst.app.config import AppConfig
from vst.app.blind_vote import PairPool
from vst.app.gallery import gallery_styles
from vst.app.sweep import sweep_cache
from vst.app.votes import VoteStore, client_hash

pytestmark = pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS)

TTL_SECONDS = 3.0
VOTES_PER_MINUTE = 4


class App:
    def __init__(self, url: str, config: AppConfig, store: VoteStore, styles: Path) -> None:
        self.url, self.config, self.store, self.styles = url.rstrip("/"), config, store, styles

    def get(self, path: str) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30)


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory, clips_dir: Path) -> Iterator[App]:
    root = make_tiny_styles(tmp_path_factory.mktemp("styles"), ("starry-night", "great-wave"))
    cache = tmp_path_factory.mktemp("cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0",
                                     "VST_CACHE_TTL_MINUTES": str(TTL_SECONDS / 60)})
        showcase = PairPool(config.showcase_dir, {"tiny": make_clip(clips_dir / "faults-showcase.mp4", num_frames=6)},
                            max_side=64, max_seconds=1.0)
        assert len(showcase.prerender()) == 2
        store = VoteStore(cache / "votes.sqlite3", votes_per_minute=VOTES_PER_MINUTE)
        with running_app(config, store, showcase) as url:
            yield App(url, config, store, root)
        store.close()


@pytest.mark.parametrize(("width", "height"), [(4, 4), (640, 2)])
def test_tiny_frames_get_our_message(app: App, tmp_path: Path, width: int, height: int) -> None:
    clip = make_clip(tmp_path / f"tiny{width}x{height}.mp4", width=width, height=height, num_frames=3)
    with pytest.raises(AppError) as caught:
        Client(app.url, verbose=False).predict(handle_file(clip), "starry-night", api_name="/stylize")
    assert str(caught.value) == (f"This file cannot be used as a video: tiny{width}x{height}.mp4: its frames are "
                                 f"{width}×{height} pixels; the networks need at least 8×8")


def test_results_are_served_by_job_id_only_and_never_listed(app: App, clip_mp4: Path) -> None:
    _, slider, *_ = Client(app.url, verbose=False).predict(handle_file(clip_mp4), "starry-night", False,
                                                           api_name="/stylize")
    assert str(app.config.cache_dir) not in slider and str(app.config.jobs_dir) not in slider
    src = slider.split('class="vst-over" src="', 1)[1].split('"', 1)[0]
    job = src.split("/")[2]
    assert app.get(src).status_code == 200 and app.get(src).content[4:8] == b"ftyp"
    for probe in (f"/vst-media/{job}/", f"/vst-media/{job}", "/vst-media/", f"/vst-media/{job}/..%2F..%2Fvotes.sqlite3",
                  f"/vst-media/{'0' * 32}/clip_starry-night.mp4"):
        assert app.get(probe).status_code == 404, probe
    for folder in (app.config.jobs_dir, app.config.blind_dir, app.config.jobs_dir / job):  # Gradio lists no folder
        assert app.get(f"/gradio_api/file={folder}").status_code != 200


def _urls(value: object) -> list[str]:
    """The file URLs in a ``gradio_client`` answer made with ``download_files=False``."""
    if isinstance(value, dict):
        return [value["url"]] if isinstance(value.get("url"), str) else [u for v in value.values() for u in _urls(v)]
    if isinstance(value, (list, tuple)):
        return [u for v in value for u in _urls(v)]
    return []


def test_blind_copies_expire_with_the_ttl_without_traffic(app: App) -> None:
    client = Client(app.url, verbose=False, download_files=False)
    left, right, *_ = client.predict(api_name="/ab_next")
    urls = _urls([left, right])
    assert len(urls) == 2 and all(httpx.get(u, timeout=30).status_code == 200 for u in urls)
    assert all(str(app.config.cache_dir) not in u or "app-blind" in u for u in urls)
    copies = list(app.config.blind_dir.iterdir())
    assert len(copies) >= 2
    time.sleep(TTL_SECONDS + 2.5)  # no request meanwhile: the expiry thread deletes them
    assert not any(c.exists() for c in copies)
    assert all(httpx.get(u, timeout=30).status_code in (403, 404) for u in urls)  # no longer served


def test_a_visitors_own_result_expires_with_the_ttl_without_traffic(app: App, clip_mp4: Path) -> None:
    """The stylized video (Gradio's served copy) and the comparison files under ``/vst-media/<job>/`` stop being
    served about a TTL after the job, and the job folder is deleted, with no other request meanwhile."""
    client = Client(app.url, verbose=False, download_files=False)
    video, slider, *_ = client.predict(handle_file(clip_mp4), "starry-night", False, api_name="/stylize")
    media = [part.split('"', 1)[0] for part in slider.split('src="')[1:] if part.startswith("/vst-media/")]
    urls = _urls(video) + [app.url + path for path in media]
    assert len(media) == 2 and len(urls) == 3  # the video; the slider's two videos
    assert all(httpx.get(u, timeout=30).status_code == 200 for u in urls)
    folder = app.config.jobs_dir / media[0].split("/")[2]
    assert sorted(p.name for p in folder.iterdir()) == ["clip_starry-night.mp4", "clip_starry-night_framewise.mp4"]
    time.sleep(TTL_SECONDS + 2.5)  # the TTL and one expiry interval (TTL / 4, at least 1 s)
    assert not folder.exists()
    assert all(httpx.get(u, timeout=30).status_code in (403, 404) for u in urls)  # no longer served


def test_scripted_votes_are_rate_limited_per_client_and_hashed(app: App) -> None:
    client = Client(app.url, verbose=False)
    counted, refused = 0, []
    for _ in range(VOTES_PER_MINUTE + 3):  # a script: a fresh session for every vote
        client.reset_session()
        client.predict(api_name="/ab_next")
        try:
            reveal, *_ = client.predict(api_name="/vote_left")
        except AppError as err:
            refused.append(str(err))
        else:
            counted += "Thanks for voting" in reveal
    assert counted == VOTES_PER_MINUTE and len(refused) == 3
    assert refused[0] == (f"Too many votes from your network in the last minute (at most {VOTES_PER_MINUTE}); "
                          f"please wait a minute and vote again.")
    with sqlite3.connect(app.store.path) as db:
        clients = [row[0] for row in db.execute("SELECT client FROM votes")]
    assert len(clients) == VOTES_PER_MINUTE and len(set(clients)) == 1  # one client, recorded ...
    assert "127.0.0.1" not in clients[0] and clients[0] != client_hash("127.0.0.1", "")  # ... as a salted hash


def test_start_up_sweeps_what_a_killed_run_left(tmp_path: Path) -> None:
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / "cache"), "VST_CACHE_TTL_MINUTES": "60"})
    old = time.time() - 2 * 3600
    killed = config.jobs_dir / ("a" * 32)  # a job killed mid-way: only its partial files
    killed.mkdir(parents=True)
    (killed / ".clip_starry-night.1a2b3c4d.partial.mp4").write_bytes(b"half")
    expired = config.jobs_dir / ("b" * 32)  # a finished job older than the TTL
    expired.mkdir()
    (expired / "clip_starry-night.mp4").write_bytes(b"done")
    os.utime(expired, (old, old))
    recent = config.jobs_dir / ("c" * 32)  # a finished job within the TTL: kept
    recent.mkdir()
    (recent / "clip_starry-night.mp4").write_bytes(b"done")
    config.blind_dir.mkdir(parents=True)
    (config.blind_dir / "0123abcd.mp4").write_bytes(b"copy")
    stale = config.showcase_dir / "starry-night" / ".pair.9f8e7d6c.partial.mp4"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"half")
    os.utime(stale, (old, old))
    gradio_temp = tmp_path / "gradio"
    (gradio_temp / "oldhash").mkdir(parents=True)
    (gradio_temp / "oldhash" / "upload.mp4").write_bytes(b"upload")
    os.utime(gradio_temp / "oldhash", (old, old))
    (gradio_temp / "newhash").mkdir()

    removed = sweep_cache(config, gradio_temp=gradio_temp)
    assert removed == {"partial files": 2, "job folders": 2, "blind copies": 1, "Gradio temporary files": 1}
    assert sorted(p.name for p in config.jobs_dir.iterdir()) == ["c" * 32]
    assert not list(config.blind_dir.iterdir()) and not stale.exists()
    assert [p.name for p in gradio_temp.iterdir()] == ["newhash"]


def test_the_app_sweeps_at_start_up(tmp_path: Path) -> None:
    """``build_app`` runs the sweep: a killed job's folder is gone before the app serves anything."""
    import app as app_module

    root = make_tiny_styles(tmp_path / "styles")
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / "cache"), "VST_SHOWCASE": "0"})
    killed = config.jobs_dir / ("d" * 32)
    killed.mkdir(parents=True)
    (killed / ".clip_starry-night.5e6f7a8b.partial.mp4").write_bytes(b"half")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}), \
            VoteStore(tmp_path / "votes.sqlite3") as store:
        app_module.build_app(config, store=store, showcase=PairPool(config.showcase_dir, {}))
    assert not killed.exists()


def test_damaged_styles_are_left_out_at_start_up(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = make_tiny_styles(tmp_path / "styles", ("starry-night", "great-wave", "udnie"))
    (root / "great-wave" / "temporal" / "config.json").write_text("[1, 2]")
    (root / "udnie" / "framewise" / "model.safetensors").write_bytes(b"")
    config = AppConfig.from_env({"VST_CACHE_DIR": str(tmp_path / "cache")})
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        styles = {s.slug: s for s in gallery_styles(config)}
    assert list(styles) == ["starry-night", "udnie"]
    assert styles["starry-night"].has_framewise and not styles["udnie"].has_framewise
    errors = [r.getMessage() for r in caplog.records if r.levelname == "ERROR"]
    assert any("leaves out 'great-wave' (temporal)" in e and "must hold a JSON object" in e for e in errors)
    assert any("leaves out 'udnie' (framewise)" in e and "is empty" in e for e in errors)


def test_a_style_damaged_after_start_up_gets_one_line_without_server_paths(app: App, clip_mp4: Path) -> None:
    weights = app.styles / "great-wave" / "temporal" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # truncated while the app runs
    with pytest.raises(AppError) as caught:
        Client(app.url, verbose=False).predict(handle_file(clip_mp4), "great-wave", False, api_name="/stylize")
    assert str(caught.value) == ("The style 'great-wave' cannot be used right now: its temporal model is damaged on "
                                 "this server. Please pick another style.")


@pytest.mark.slow  # starts the app in its own process
def test_kill_9_during_a_job_then_restart_leaves_nothing(tmp_path: Path, clips_dir: Path) -> None:
    """The app killed outright mid-job (``kill -9``) leaves the job's partial files; the next start deletes them."""
    import app as app_module

    root = make_tiny_styles(tmp_path / "styles")
    Image.new("RGB", (8, 8)).save(root / "starry-night" / "preview.jpg")  # no preview to render at start-up
    cache = tmp_path / "cache"
    port = free_port()
    env = dict(os.environ, **OFFLINE_ENV, VST_CHECKPOINT_DIR=str(root), VST_CACHE_DIR=str(cache),
               VST_VOTES_DB=str(tmp_path / "votes.sqlite3"), VST_MAX_SECONDS="120", GRADIO_SERVER_NAME="127.0.0.1",
               GRADIO_SERVER_PORT=str(port), PYTHONPATH=str(REPO))
    server = subprocess.Popen([sys.executable, "app.py"], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(url, timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        clip = make_clip(clips_dir / "kill9.mp4", width=64, height=48, num_frames=1000, fps=25)
        Client(url, verbose=False).submit(handle_file(clip), "starry-night", False, api_name="/stylize")
        jobs = AppConfig.from_env({"VST_CACHE_DIR": str(cache)}).jobs_dir
        while time.monotonic() < deadline and not list(jobs.glob("*/.*.partial.mp4")):
            time.sleep(0.05)
    finally:
        server.kill()  # SIGKILL: nothing can be cleaned up
        server.wait(timeout=30)
    left = list(jobs.glob("*/.*.partial.mp4"))
    assert left, "the job never started writing"
    config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0"})
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}), \
            VoteStore(tmp_path / "votes2.sqlite3") as store:
        app_module.build_app(config, store=store, showcase=PairPool(config.showcase_dir, {}))  # the restart
    assert not any(path.exists() for path in left) and not list(jobs.iterdir())

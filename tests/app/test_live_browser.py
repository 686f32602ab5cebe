"""The Live tab in a real browser: Chromium's fake camera (a clip we write), onnxruntime-web (WASM) running the style
network in the page, compared pixel for pixel with our PyTorch path; style switch, snapshot, recording, and the
refused-camera path with its example-clip fallback. Screenshots go to ``test-output/screenshots/``."""

from __future__ import annotations

import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import av
import numpy as np
import pytest
from PIL import Image

from tests.support.app_harness import (
    IGNORE_GRADIO_PANDAS_WARNINGS,
    OFFLINE_ENV,
    make_tiny_styles,
    patched_env,
    running_app,
)
from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, REPO, SHOTS, TIMEOUT_MS, live_probe
from tests.support.clips import make_clip
from vst.checkpoint_check import load_network
from vst.pipeline import Stylizer
from vst.web_runtime import runtime_ready

BASE_ARGS = [*CHROMIUM_ARGS, "--use-fake-device-for-media-stream", "--autoplay-policy=no-user-gesture-required"]
WIDTH, HEIGHT = 320, 180

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium"),
    pytest.mark.skipif(not runtime_ready(), reason="needs the cached onnxruntime-web: python -m training fetch-vgg"),
]


@pytest.fixture(scope="module")
def styles_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # Two tiny real-time styles without model.onnx: the app exports them at start, as it does for a Hub snapshot.
    # starry-night has the light live network and the fast one, great-wave only the fast one (a Hub snapshot from
    # before the live networks).
    slugs = ("starry-night", "great-wave")
    return make_tiny_styles(tmp_path_factory.mktemp("live-styles"), slugs, fast=slugs, live=("starry-night",))


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, styles_root: Path) -> Iterator[str]:
    from vst.app.blind_vote import PairPool
    from vst.app.config import AppConfig
    from vst.app.votes import VoteStore

    cache = tmp_path_factory.mktemp("live-cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(styles_root)}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0"})
        store = VoteStore(cache / "votes.sqlite3")
        with running_app(config, store, PairPool(config.showcase_dir)) as url:
            yield url
        store.close()


@pytest.fixture(scope="module")
def camera_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the fake camera shows: the same image in every frame, so any frame the page takes is *the* frame."""
    return make_clip(tmp_path_factory.mktemp("camera") / "camera.y4m", width=WIDTH, height=HEIGHT, num_frames=30,
                     fps=30, pattern="static")


def _open_live(browser: Any, url: str, requested: list[str] | None = None) -> tuple[Any, Any]:
    """The app's page with the Live tab open, and the Live iframe's frame; ``requested`` collects every URL the page
    and its frames request."""
    page = browser.new_page(viewport={"width": 1280, "height": 1100}, accept_downloads=True)
    page.set_default_timeout(TIMEOUT_MS)
    if requested is not None:
        page.on("request", lambda r: requested.append(r.url))
    page.goto(url, wait_until="load")
    page.get_by_role("tab", name="Live").click()
    frame = page.locator("#live-frame").element_handle().content_frame()
    frame.wait_for_function("() => !!window.vstLive")
    frame.locator("#resolution").select_option(f"{WIDTH}x{HEIGHT}")
    return page, frame


def _pytorch(styles_root: Path, network: str, image: np.ndarray) -> np.ndarray:
    return Stylizer(load_network(styles_root / network))(image[None])[0]


def _assert_matches_pytorch(styles_root: Path, network: str, image: np.ndarray, shown: np.ndarray) -> None:
    """``network`` ("slug/variant") computes ``shown`` from ``image`` as PyTorch does."""
    # onnxruntime-web (WASM, float32) and PyTorch (float32, with the exact inference rewrites) agree to ~1e-6 before
    # the rounding to uint8, so they can only differ where a value sits on a rounding boundary: by one step, rarely.
    diff = np.abs(_pytorch(styles_root, network, image).astype(int) - shown)
    assert diff.max() <= 1 and diff.mean() < 0.01, (diff.max(), diff.mean())


def _save(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=True)


def _frames(frame: Any) -> int:
    return int(frame.evaluate("() => window.vstLive.frames"))


def test_live_camera_switch_snapshot_record(app_url: str, camera_clip: Path, styles_root: Path,
                                            tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    args = [*BASE_ARGS, "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={camera_clip}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page, frame = _open_live(browser, app_url)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            expect(frame.locator("#style option")).to_have_count(2)
            frame.locator("#start").click()
            frame.wait_for_function("() => window.vstLive.frames >= 3")
            assert frame.evaluate("() => [vstLive.source, vstLive.backend, vstLive.runtime]") == \
                ["camera", "wasm", "local"]
            # The app is served cross-origin isolated (COOP/COEP), so the page may use threads: half the cores up
            # to 4, but two on two cores (live.js defaultThreads).
            assert page.evaluate("() => self.crossOriginIsolated")
            cores = frame.evaluate("() => navigator.hardwareConcurrency")
            assert frame.evaluate("() => [self.crossOriginIsolated, vstLive.threads]") == \
                [True, min(4, cores, max(2, -(-cores // 2)))]
            expect(frame.locator("#backend")).not_to_contain_text("not cross-origin isolated")
            expect(frame.locator("#fps")).to_have_text(re.compile(r"\d+\.\d fps"))
            expect(frame.locator("#backend")).to_contain_text("WASM")

            # The canvas shows the network's output for the camera frame it was fed, as PyTorch computes it.
            slug, image, shown, raw = live_probe(frame)
            assert slug == "starry-night/live" and image.shape == (HEIGHT, WIDTH, 3)  # the light network by default
            with av.open(str(camera_clip)) as container:  # the camera's frame as PyAV decodes it (YUV 4:2:0 → RGB)
                camera = next(container.decode(video=0)).to_ndarray(format="rgb24")
            assert np.abs(image.astype(int) - camera).mean() < 3  # the page took the camera's frame (1.1 measured)
            _assert_matches_pytorch(styles_root, slug, image, raw)
            # a still camera: the smoothing (on by default) holds each frame to the last one, the same picture
            assert frame.evaluate("() => vstLive.smoothing") and frame.locator("#smooth").is_checked()
            np.testing.assert_array_equal(shown, raw)

            # Switching the network or the style changes the output without stopping the stream or reloading the page.
            frame.evaluate("() => { window.notReloaded = true; }")
            expect(frame.locator("#network-label")).to_be_visible()
            frame.locator("#network").select_option("fast")
            frame.wait_for_function("() => window.vstLive.network === 'fast'")
            network, image_fast, shown_fast, raw_fast = live_probe(frame)
            assert network == "starry-night/fast"
            _assert_matches_pytorch(styles_root, network, image_fast, raw_fast)

            assert np.abs(shown_fast.astype(int) - shown).mean() > 1  # a different network, a different picture
            frame.locator("#network").select_option("live")
            frame.locator("#style").select_option("great-wave")  # no live network: it runs its fast one
            frame.wait_for_function("() => window.vstLive.slug === 'great-wave'")
            slug2, image2, shown2, raw2 = live_probe(frame)
            assert slug2 == "great-wave/fast"
            _assert_matches_pytorch(styles_root, slug2, image2, raw2)
            assert np.abs(shown2.astype(int) - shown_fast).mean() > 1
            assert frame.evaluate("() => window.notReloaded && document.getElementById('source').srcObject.active")
            frames = _frames(frame)
            frame.wait_for_function(f"() => window.vstLive.frames > {frames + 2}")

            # The split divider can be dragged; the painting pane's clip follows.
            stage = frame.locator("#stage").bounding_box()
            divider = frame.locator("#divider").bounding_box()
            y = stage["y"] + stage["height"] / 2
            page.mouse.move(divider["x"] + divider["width"] / 2, y)
            page.mouse.down()
            page.mouse.move(stage["x"] + stage["width"] * 0.25, y, steps=6)
            page.mouse.up()
            clip = frame.locator(".painting-pane").evaluate("e => e.style.clipPath")
            assert 20 < float(clip.split()[-1].rstrip("%)")) < 30
            _save(page, "live.png")

            # Snapshot: a PNG of the painting at the chosen resolution (the camera is still, so it equals the canvas).
            with page.expect_download() as download:
                frame.locator("#snapshot").click()
            assert download.value.suggested_filename == "vst-live-great-wave.png"
            png = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
            assert png.format == "PNG" and png.size == (WIDTH, HEIGHT)
            assert np.abs(np.asarray(png.convert("RGB")).astype(int) - live_probe(frame)[2]).max() <= 1

            # Record a short clip: a WebM that PyAV decodes.
            frame.locator("#record").click()
            frames = _frames(frame)
            frame.wait_for_function(f"() => window.vstLive.frames > {frames + 8}")
            page.wait_for_timeout(600)
            with page.expect_download() as download:
                frame.locator("#record").click()
            assert download.value.suggested_filename == "vst-live-great-wave.webm"
            webm = tmp_path / "live.webm"
            shutil.copy(download.value.path(), webm)
            with av.open(str(webm)) as container:
                stream = container.streams.video[0]
                assert stream.codec_context.name in ("vp8", "vp9")
                decoded = [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]
            assert len(decoded) >= 3 and decoded[-1].shape == (HEIGHT, WIDTH, 3)
            # VP9/VP8 keep colour at half resolution (4:2:0) and the tiny network's output is all fine colour detail,
            # so the recording is held to the canvas in luma, where it keeps full resolution (0.98 measured).
            luma = np.array([0.299, 0.587, 0.114])
            recorded, canvas = decoded[-1] @ luma, live_probe(frame)[2] @ luma
            assert np.corrcoef(recorded.ravel(), canvas.ravel())[0, 1] > 0.9
            assert errors == []
        finally:
            browser.close()


def test_live_on_a_phone_fits_the_screen_with_the_picture_on_it(app_url: str, camera_clip: Path) -> None:
    """390 px wide: nothing wider than the screen (the style menu fits its frame), and after *Start camera* the
    picture is on the first screen, shown at most twice its own size."""
    from playwright.sync_api import sync_playwright

    args = [*BASE_ARGS, "--use-fake-ui-for-media-stream", f"--use-file-for-fake-video-capture={camera_clip}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            page.set_default_timeout(TIMEOUT_MS)
            page.goto(app_url, wait_until="load")
            page.get_by_role("tab", name="Live").click()
            frame = page.locator("#live-frame").element_handle().content_frame()
            frame.wait_for_function("() => !!window.vstLive")
            widths = frame.evaluate("""() => ({page: document.documentElement.scrollWidth,
              frame: document.documentElement.clientWidth,
              widest: Math.max(...[...document.querySelectorAll('select, button, label')].map(e =>
                e.getBoundingClientRect().right))})""")
            assert widths["page"] <= widths["frame"] and widths["widest"] <= widths["frame"] + 0.5, widths
            assert page.evaluate("() => document.documentElement.scrollWidth <= window.innerWidth")
            frame.locator("#resolution").select_option(f"{WIDTH}x{HEIGHT}")
            frame.locator("#start").click()
            frame.wait_for_function("() => window.vstLive.frames >= 3")
            # The stage in the app page's window: the frame's place plus the stage's place in the frame.
            box = page.evaluate("""() => {
              const frame = document.querySelector('#live-frame').getBoundingClientRect();
              const stage = document.querySelector('#live-frame').contentDocument.querySelector('#stage')
                .getBoundingClientRect();
              return {top: frame.top + stage.top, bottom: frame.top + stage.bottom, width: stage.width,
                      inner: window.innerHeight};
            }""")
            assert 0 <= box["top"] and box["bottom"] <= box["inner"], box
            assert box["width"] <= 2 * WIDTH + 1, box
            # The frame is as tall as its page: nothing scrolls inside it (the page reports its height by a message
            # and the app resizes the frame: a moment after the status line changed).
            frame.wait_for_function("() => document.documentElement.scrollHeight <= window.innerHeight + 1",
                                    timeout=5000)
            _save(page, "live-phone.png")
        finally:
            browser.close()


def test_refused_camera_then_example_clip(app_url: str, camera_clip: Path, styles_root: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    # No --use-fake-ui-for-media-stream: the permission prompt is answered "block" (Playwright grants nothing).
    args = [*BASE_ARGS, f"--use-file-for-fake-video-capture={camera_clip}"]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=args)
        try:
            requested: list[str] = []
            page, frame = _open_live(browser, app_url, requested)
            frame.locator("#start").click()
            expect(frame.locator("#message")).to_contain_text("The camera was refused")
            expect(frame.locator("#message")).to_contain_text("example clip")
            assert _frames(frame) == 0
            _save(page, "live-refused.png")

            frame.locator("#use-example").click()
            frame.wait_for_function("() => window.vstLive.frames >= 3")
            assert frame.evaluate("() => vstLive.source") == "example"
            expect(frame.locator("#message")).to_be_hidden()
            slug, image, shown, raw = live_probe(frame)
            assert image.std() > 10  # real footage, not a blank frame
            _assert_matches_pytorch(styles_root, slug, image, raw)

            # The page, the network, the runtime and the clip all come by name, from the app's Live route: no URL
            # names a folder of this server (the install folder, the home folder, the styles).
            urls = [unquote(u) for u in requested + [frame.url]]
            assert any(re.search(r"/vst-live/examples/[a-z]+-[0-9a-f]{12}\.mp4$", u) for u in urls), urls
            assert any(re.search(r"/vst-live/models/starry-night/live-[0-9a-f]{12}\.onnx$", u) for u in urls), urls
            assert any("/vst-live/runtime/" in u for u in urls), urls
            folders = [str(REPO), str(Path.home()), str(styles_root)]
            assert [u for u in urls if any(f in u for f in folders)] == []
        finally:
            browser.close()


def test_threads_when_isolated_one_thread_when_embedded_cross_origin(app_url: str, camera_clip: Path,
                                                                     styles_root: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BASE_ARGS)
        try:
            page, frame = _open_live(browser, app_url)
            src = frame.url
            path, fragment = src.split("#", 1)

            # The Live page on its own (its "open in its own window" link), isolated, asked for two threads: they run
            # (onnxruntime-web reads back one when it cannot), and the output is still PyTorch's.
            live = browser.new_page()
            live.set_default_timeout(TIMEOUT_MS)
            assert "?" not in path  # the app's iframe asks for nothing: the page chooses
            live.goto(f"{path}?threads=2#{fragment}")
            live.locator("#resolution").select_option(f"{WIDTH}x{HEIGHT}")
            live.locator("#use-example").click()
            live.wait_for_function("() => window.vstLive.frames >= 3")
            assert live.evaluate("() => [self.crossOriginIsolated, vstLive.threads]") == [True, 2]
            expect(live.locator("#backend")).to_contain_text("WASM · 2 threads")
            slug, image, shown, raw = live_probe(live)
            _assert_matches_pytorch(styles_root, slug, image, raw)
            # smoothed by default: the canvas is the network's output with its broad colour a little held
            expect(live.locator("#size-info")).to_contain_text("smoothed")
            assert 0 < np.abs(shown.astype(int) - raw).mean() < 4
            live.locator("#smooth").uncheck()  # the Steady box: off from the next frame
            live.wait_for_function("() => !vstLive.smoothing")
            frames = _frames(live)
            live.wait_for_function(f"() => window.vstLive.frames > {frames + 1}")
            slug, image, shown, raw = live_probe(live)
            np.testing.assert_array_equal(shown, raw)

            # ?smooth=0: off from the start, and the box says so
            plain = browser.new_page()
            plain.set_default_timeout(TIMEOUT_MS)
            plain.goto(f"{path}?threads=2&smooth=0#{fragment}")
            plain.locator("#resolution").select_option(f"{WIDTH}x{HEIGHT}")
            plain.locator("#use-example").click()
            plain.wait_for_function("() => window.vstLive.frames >= 3")
            assert not plain.evaluate("() => vstLive.smoothing") and not plain.locator("#smooth").is_checked()
            slug, image, shown, raw = live_probe(plain)
            np.testing.assert_array_equal(shown, raw)

            # Embedded by a page of another origin that is not isolated (as huggingface.co embeds a Space): one
            # thread, it still runs, and the status line says why.
            embedder = browser.new_page()
            embedder.set_default_timeout(TIMEOUT_MS)
            embedder.set_content(f'<iframe id="live" src="{path}?threads=2#{fragment}" width="1200" height="900">'
                                 "</iframe>")
            embedded = embedder.locator("#live").element_handle().content_frame()
            embedded.wait_for_function("() => !!window.vstLive")
            embedded.locator("#resolution").select_option(f"{WIDTH}x{HEIGHT}")
            embedded.locator("#use-example").click()
            embedded.wait_for_function("() => window.vstLive.frames >= 3")
            assert embedded.evaluate("() => [self.crossOriginIsolated, vstLive.threads]") == [False, 1]
            expect(embedded.locator("#backend")).to_contain_text("WASM · 1 thread (page not cross-origin isolated)")
        finally:
            browser.close()


def test_the_pages_smoothing_is_the_python_smoothing_without_flow(app_url: str, styles_root: Path) -> None:
    """live.js's ``smoothFrame`` is :class:`vst.smoothing.FlowSmoother` with ``flow=False`` (a still camera): on real
    frames of a moving clip and outputs whose colour wanders, the page and Python agree to a level, and both are
    steadier than the outputs they were given."""
    import base64

    from playwright.sync_api import sync_playwright

    from vst.smoothing import FlowSmoother, SmoothingOptions

    with av.open(str(REPO / "examples" / "bikes.mp4")) as container:
        frames = [f.to_ndarray(format="rgb24") for _, f in zip(range(8), container.decode(video=0))]
    frames = [np.ascontiguousarray(np.asarray(Image.fromarray(f).resize((WIDTH, HEIGHT)))) for f in frames]
    rng = np.random.default_rng(0)
    ramp = np.linspace(-1.0, 1.0, WIDTH)[None, :, None]
    outputs = [np.clip(255 - f.astype(np.float32) + rng.normal(0, 12) * ramp + rng.normal(0, 8, 3), 0, 255)
               .astype(np.uint8) for f in frames]  # a rendering whose broad colour changes from frame to frame
    rgba = lambda a: base64.b64encode(np.dstack([a, np.full(a.shape[:2], 255, np.uint8)]).tobytes()).decode()  # noqa: E731
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=BASE_ARGS)
        try:
            page, frame = _open_live(browser, app_url)
            got = frame.evaluate("""([inputs, outputs, w, h]) => {
                const bytes = (t) => Uint8Array.from(atob(t), (c) => c.charCodeAt(0));
                return window.vstLive.smoothSequence(inputs.map(bytes), outputs.map(bytes), w, h);
            }""", [[rgba(f) for f in frames], [rgba(o) for o in outputs], WIDTH, HEIGHT])
        finally:
            browser.close()
    page_smoothed = np.array(got, dtype=np.uint8).reshape(len(frames), HEIGHT, WIDTH, 4)[..., :3]
    python_smoothed = FlowSmoother(SmoothingOptions(flow=False)).run(np.stack(frames), np.stack(outputs))
    diff = np.abs(page_smoothed.astype(int) - python_smoothed)
    assert diff.max() <= 2 and diff.mean() < 0.05, (diff.max(), diff.mean())
    np.testing.assert_array_equal(page_smoothed[0], outputs[0])  # the first frame passes as it is
    change = lambda seq: np.abs(np.diff(np.asarray(seq, dtype=np.float32), axis=0)).mean()  # noqa: E731
    assert change(page_smoothed) < 0.9 * change(outputs)

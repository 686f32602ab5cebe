"""The app in a real browser (Playwright driving Debian's Chromium) on the default path: the first style, which has a
fast network and its framewise twin, with real-time on. The delivered video stays visible and playing while the
comparison renders, the flicker plot shows two lines with a legend, the slider drags, and the vote tab answers while a
stylize job runs. Screenshots (desktop and phone) go to the test's folder and to ``test-output/screenshots/``."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.app_harness import (
    IGNORE_GRADIO_PANDAS_WARNINGS,
    OFFLINE_ENV,
    make_tiny_styles,
    patched_env,
    running_app,
)
from tests.clips import make_clip

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
REPO = Path(__file__).resolve().parents[1]
TIMEOUT_MS = 60_000

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium)"),
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, clips_dir: Path) -> Iterator[str]:
    from vst.app.config import AppConfig
    from vst.app.service import Showcase
    from vst.app.votes import VoteStore

    root = make_tiny_styles(tmp_path_factory.mktemp("styles"), ("starry-night", "great-wave", "the-scream"),
                            fast=("starry-night",), fast_framewise=("starry-night",))
    cache = tmp_path_factory.mktemp("browser-cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0", "VST_QUEUE_SIZE": "1"})
        showcase = Showcase(config.showcase_dir, {"street": make_clip(clips_dir / "street.mp4", num_frames=12)},
                            max_side=96, max_seconds=1.0)
        showcase.prerender()
        store = VoteStore(cache / "votes.sqlite3")
        with running_app(config, store, showcase) as url:
            yield url
        store.close()


def _save(page: object, name: str, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=True)  # type: ignore[attr-defined]
    shared = REPO / "test-output" / "screenshots"
    shared.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / name, shared / name)


def _ready(selector: str) -> str:
    """JS: the video matched by ``selector`` has decoded enough to play."""
    return f"() => {{ const v = document.querySelector({selector!r}); return !!v && v.readyState >= 2; }}"


#: JS: the state of the stylize tab while the comparison renders (``null`` before the video is delivered, and after
#: the comparison is done): whether the delivered video is visible, uncovered, loaded and playing.
WHILE_COMPARING = """() => {
  const summary = document.querySelector('#vst-summary')?.innerText || '';
  const video = document.querySelector('#video-out video');
  if (!summary.includes('Rendering the') || !video || video.readyState < 2) return null;
  video.scrollIntoView({block: 'center'});
  const box = video.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {summary, width: box.width, height: box.height, paused: video.paused, time: video.currentTime,
          uncovered: !!top && (top === video || !!top.closest('#video-out'))};
}"""
#: JS: the flicker plot's drawn lines (one SVG path per series) and its legend's labels inside the plot's box (not cut).
PLOT = """() => {
  const plot = document.querySelector('#flicker-plot');
  const lines = [...plot.querySelectorAll('g.mark-line path')].filter(p => (p.getAttribute('d') || '').length > 20);
  const bottom = plot.getBoundingClientRect().bottom;
  const texts = [...plot.querySelectorAll('g.role-legend text')];
  const legend = texts.filter(t => t.getBoundingClientRect().bottom <= bottom + 1).map(t => t.textContent);
  const visible = lines.filter(p => { const r = p.getBoundingClientRect(); return r.width > 50 && r.height > 0; });
  return {lines: lines.length, visible: visible.length, strokes: [...new Set(lines.map(p => p.getAttribute('stroke')))],
          legend};
}"""

#: JS: the element matched by the argument lies inside the viewport without scrolling, and nothing covers its centre.
ON_FIRST_SCREEN = """selector => {
  const element = document.querySelector(selector);
  const box = element.getBoundingClientRect();
  if (window.scrollY !== 0 || box.top < 0 || box.bottom > window.innerHeight || box.height === 0) return false;
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return !!top && (top === element || element.contains(top));
}"""


def test_default_path_in_chromium(app_url: str, clips_dir: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    # 15 s of motion, so the comparison takes long enough (several seconds on an idle machine, where the tiny test
    # networks run at about 55 fps) for the delivered video to load and be watched while it renders.
    clip = make_clip(clips_dir / "browser.mp4", width=256, height=192, num_frames=360, fps=24, audio=True)
    shots = tmp_path / "screenshots"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            # The app is served cross-origin isolated (the Live tab's WASM threads): nothing it loads may be blocked
            # by the embedder policy (thumbnails, videos, fonts, the comparison plot).
            blocked: list[str] = []
            page.on("requestfailed", lambda r: blocked.append(f"{r.url} {r.failure}") if "BLOCKED" in
                    (r.failure or "") else None)
            page.goto(app_url, wait_until="load")
            page.wait_for_selector("#style-gallery button.thumbnail-item")
            assert page.evaluate("() => self.crossOriginIsolated")

            # The gallery: the first style is highlighted from the start; full titles, not cut.
            items = page.locator("#style-gallery button.thumbnail-item")
            expect(items).to_have_count(3)
            expect(items.nth(0)).to_have_class(re.compile(r"\bselected\b"))
            expect(page.locator("#selected-style")).to_contain_text("The Starry Night")
            captions = page.locator("#style-gallery .caption-label")
            assert captions.all_inner_texts()[1] == "The Great Wave off Kanagawa — Katsushika Hokusai, c. 1831"
            assert captions.evaluate_all("cs => cs.every(c => c.scrollWidth <= c.clientWidth + 1)")
            expect(page.locator("#realtime input")).to_be_checked()
            for box in ("#video-box", "#slider-box", "#plot-box"):  # no empty output placeholders before a job
                expect(page.locator(box)).to_be_hidden()

            # A second visitor on the vote tab, before the first one starts a job.
            voter = browser.new_page(viewport={"width": 1280, "height": 800})
            voter.set_default_timeout(TIMEOUT_MS)
            voter.goto(app_url, wait_until="load")
            voter.get_by_role("tab", name="Vote (blind A/B)").click()
            expect(voter.locator("#ab-prompt")).to_contain_text("on the clip “street”")

            # Upload and stylize with the defaults (fast network, real-time on).
            page.locator("#video-in input[type=file]").set_input_files(str(clip))
            page.wait_for_function(_ready("#video-in video"))
            page.locator("#stylize-button").click()

            # The vote tab answers at once while the stylize job runs (its events skip the queue).
            started = time.monotonic()
            voter.locator("#vote-left").click()
            expect(voter.locator("#ab-reveal")).to_contain_text(re.compile(r"Left was \w+"))
            expect(voter.locator("#ab-results")).to_contain_text("(1 vote)")
            assert time.monotonic() - started < 5
            assert not re.search(r"flicker than", page.locator("#vst-summary").inner_text())  # still running

            # While the comparison renders, the delivered video is on screen, uncovered, and playing.
            state = page.wait_for_function(WHILE_COMPARING).json_value()
            assert state["uncovered"] and state["width"] > 100 and state["height"] > 50, state
            page.wait_for_function("() => { const v = document.querySelector('#video-out video'); "
                                   "return !v.paused && v.currentTime > 0; }")
            assert "fast (real-time)" in state["summary"] and "fast, framewise" in state["summary"]
            _save(page, "stylize-comparing.png", shots)

            # The comparison: fast against its framewise twin, one reading, a plot with two lines and a legend.
            expect(page.locator("#vst-summary")).to_contain_text(
                re.compile(r"\d+% (less|more) flicker than fast, framewise · 360 frames · 256×192"),
                timeout=TIMEOUT_MS)
            expect(page.locator("#vst-reading")).to_contain_text(re.compile(r"flicker than fast, framewise"))
            page.wait_for_function("() => document.querySelectorAll('#flicker-plot g.mark-line path').length >= 2")
            plot = page.evaluate(PLOT)
            assert plot["lines"] == 2 and plot["visible"] == 2 and len(plot["strokes"]) == 2, plot
            assert {"fast (real-time)", "fast, framewise"} <= set(plot["legend"]), plot
            assert "fast" in page.locator("#video-out video").get_attribute("src")
            assert page.evaluate("() => !document.querySelector('#video-out video').paused")  # still playing

            # The slider: drag the divider from the middle to a quarter; the overlay's clip-path follows.
            page.wait_for_function(_ready("#flicker-slider video.vst-over"))
            page.wait_for_function(_ready("#flicker-slider video.vst-under"))
            compare = page.locator("#flicker-slider .vst-compare")
            compare.scroll_into_view_if_needed()
            box = compare.bounding_box()
            assert box is not None and box["width"] > 100
            overlay = page.locator("#flicker-slider video.vst-over")
            assert overlay.evaluate("v => v.style.clipPath") == "inset(0px 0px 0px 50%)"
            y = box["y"] + box["height"] / 2
            page.mouse.move(box["x"] + box["width"] * 0.5, y)
            page.mouse.down()
            page.mouse.move(box["x"] + box["width"] * 0.25, y, steps=8)
            page.mouse.up()
            inset = float(re.fullmatch(r"inset\(0px 0px 0px ([\d.]+)%\)", overlay.evaluate("v => v.style.clipPath"))[1])
            assert 20 < inset < 30
            divider = page.locator("#flicker-slider .vst-divider").evaluate("d => parseFloat(d.style.left)")
            assert divider == pytest.approx(inset)

            # Both videos play together, and pause together.
            page.wait_for_function("() => [...document.querySelectorAll('#flicker-slider video')]"
                                   ".every(v => !v.paused)")
            page.locator("#flicker-slider .vst-toggle").click()
            page.wait_for_function("() => [...document.querySelectorAll('#flicker-slider video')]"
                                   ".every(v => v.paused)")
            times = page.locator("#flicker-slider video").evaluate_all("vs => vs.map(v => v.currentTime)")
            assert abs(times[0] - times[1]) < 0.1
            page.evaluate("window.scrollTo(0, 0)")
            _save(page, "stylize.png", shots)

            # Another style from the gallery: its selection moves.
            items.nth(1).click()
            expect(page.locator("#selected-style")).to_contain_text("The Great Wave off Kanagawa")
            expect(items.nth(1)).to_have_class(re.compile(r"\bselected\b"))
            _save(voter, "vote.png", shots)

            # A phone: no empty output placeholders between the inputs and the Stylize button, which is on the first
            # screen, uncovered, under a one-row gallery (swiped sideways) and the upload.
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.goto(app_url, wait_until="load")
            phone.wait_for_selector("#style-gallery button.thumbnail-item")
            for box_id in ("#video-box", "#slider-box", "#plot-box"):
                expect(phone.locator(box_id)).to_be_hidden()
            tops = phone.locator("#style-gallery button.thumbnail-item").evaluate_all(
                "bs => bs.map(b => Math.round(b.getBoundingClientRect().top))")
            assert len(set(tops)) == 1, tops  # one row
            assert phone.evaluate(ON_FIRST_SCREEN, "#stylize-button"), phone.locator("#stylize-button").bounding_box()
            assert phone.locator("#style-gallery .caption-label").evaluate_all(
                "cs => cs.every(c => c.scrollWidth <= c.clientWidth + 1)")
            _save(phone, "phone.png", shots)
            assert errors == [] and blocked == []
        finally:
            browser.close()

"""The app in a real browser (Playwright driving Debian's Chromium), at a desktop's size (1366×900) and a phone's
(390×844), on the default path: the first style, which has a fast network and its framewise twin.

What a visitor needs, asserted: after *Stylize* the job's status line and then its results come into the window by
themselves; nothing is drawn over text (no Gradio progress overlay: our status line has its bar above its text); the
delivered video stays visible and playing while the comparison renders; the flicker plot shows two lines with a
legend; the slider drags; the vote tab answers while a stylize job runs; on a busy server a second visitor is told
their place in line and an estimated wait, then gets their video on screen. Screenshots (desktop and phone) go to the
test's folder and to ``test-output/screenshots/``."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import pytest

from tests.support.app_harness import (
    IGNORE_GRADIO_PANDAS_WARNINGS,
    OFFLINE_ENV,
    make_tiny_styles,
    patched_env,
    running_app,
)
from tests.support.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    DESKTOP,
    IN_VIEW,
    NO_ALARMS,
    PHONE,
    REPO,
    TEXT_CLEAR,
    TIMEOUT_MS,
    open_page,
    save_shot,
    upload_clip,
    video_ready,
)
from tests.support.clips import make_clip

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium)"),
]


#: Folders of this server that no URL of the page may name: the install folder and the user's home (the styles and
#: the app's cache folder are added by the fixture).
SERVER_FOLDERS = [REPO, Path.home()]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory: pytest.TempPathFactory, clips_dir: Path) -> Iterator[str]:
    from vst.app.blind_vote import PairPool
    from vst.app.config import AppConfig
    from vst.app.votes import VoteStore

    root = make_tiny_styles(tmp_path_factory.mktemp("styles"), ("starry-night", "great-wave", "the-scream"),
                            fast=("starry-night",), fast_framewise=("starry-night",))
    cache = tmp_path_factory.mktemp("browser-cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0", "VST_QUEUE_SIZE": "1"})
        showcase = PairPool(config.showcase_dir, {"street": make_clip(clips_dir / "street.mp4", num_frames=12)},
                            max_side=96, max_seconds=1.0)
        showcase.prerender()
        store = VoteStore(cache / "votes.sqlite3")
        with running_app(config, store, showcase) as url:
            SERVER_FOLDERS.extend([root, cache])
            yield url
        store.close()


@pytest.fixture(scope="module")
def long_clip(clips_dir: Path) -> Path:
    """15 s of motion with sound, so a job lasts long enough (several seconds on an idle machine, where the tiny test
    networks run at about 55 fps) to be watched while it runs."""
    return make_clip(clips_dir / "browser.mp4", width=256, height=192, num_frames=360, fps=24, audio=True)


#: JS: the status line's text ('' without one).
STATUS = "() => document.querySelector('#vst-status')?.innerText.trim() || ''"
#: JS: the state of the stylize tab while the comparison renders (``null`` before the video is delivered and after
#: the comparison is done): the status line, whether the delivered video is in the window, uncovered, loaded, playing.
WHILE_COMPARING = """() => {
  const status = document.querySelector('#vst-status')?.innerText || '';
  const video = document.querySelector('#video-out video');
  if (!status.includes('Rendering the') || !video || video.readyState < 2) return null;
  const box = video.getBoundingClientRect();
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return {status, summary: document.querySelector('#vst-summary').innerText, width: box.width, height: box.height,
          inView: box.top >= -1 && box.bottom <= window.innerHeight + 1, paused: video.paused,
          uncovered: !!top && (top === video || !!top.closest('#video-out'))};
}"""
#: JS: the flicker plot's drawn lines (one SVG path per series) and its legend's labels inside the plot's box (not cut).
PLOT = r"""() => {
  const plot = document.querySelector('#flicker-plot');
  const lines = [...plot.querySelectorAll('g.mark-line path')].filter(p => (p.getAttribute('d') || '').length > 20);
  const bottom = plot.getBoundingClientRect().bottom;
  const texts = [...plot.querySelectorAll('g.role-legend text')];
  const legend = texts.filter(t => t.getBoundingClientRect().bottom <= bottom + 1).map(t => t.textContent);
  const visible = lines.filter(p => { const r = p.getBoundingClientRect(); return r.width > 50 && r.height > 0; });
  // each axis as "title: from[ to to]", from its description ("X-axis titled 't' for a linear scale with values
  // from a to b"); the y-axis's top is Vega's rounding, so only its start is kept
  const axes = [...plot.querySelectorAll('g.role-axis[aria-label]')].map(a => {
    const m = a.getAttribute('aria-label').match(/titled '(.+)' for a linear scale with values from ([\d.]+) to ([\d.]+)/);
    return !m ? a.getAttribute('aria-label') : m[1].startsWith('frame') ? `${m[1]}: ${m[2]} to ${m[3]}`
      : `${m[1]}: ${Number(m[2])}`;
  });
  return {lines: lines.length, visible: visible.length, strokes: [...new Set(lines.map(p => p.getAttribute('stroke')))],
          legend, axes};
}"""
#: JS: what a visitor sees before a job: the example clips' labels, the gallery cards whose picture does not fill its
#: frame (blank bands), whether the page goes on right after the inputs, and the footer's last visible item.
FIRST_LOOK = """() => {
  const examples = [...document.querySelectorAll('#examples .gallery-item')].map(b =>
    getComputedStyle(b, '::after').content.replace(/^"|"$/g, ''));
  const bandedCards = [...document.querySelectorAll('#style-gallery .thumbnail-item img')].filter(img => {
    const box = img.getBoundingClientRect();
    return Math.abs(img.naturalWidth / img.naturalHeight - box.width / box.height) > 0.03 * box.width / box.height;
  }).map(img => img.alt || img.src);
  const inputs = document.querySelector('#stylize-button').closest('.row').getBoundingClientRect();
  const next = document.querySelector('#vst-how').getBoundingClientRect();
  const footer = [...document.querySelector('footer').children].filter(e => e.getBoundingClientRect().width > 0);
  return {examples, bandedCards, gapBeforeFooter: next.top - inputs.bottom < 80,
          footerEndsWith: footer[footer.length - 1].innerText.trim()};
}"""
#: JS: the stylized video's picture against its box (a box of another shape leaves blank bands), and whether the
#: slider's labels and buttons each hold on one line.
RESULT_SHAPES = """() => {
  const video = document.querySelector('#video-out video');
  const box = video.getBoundingClientRect();
  const oneLine = e => { const text = document.createRange(); text.selectNodeContents(e);
                         return new Set([...text.getClientRects()].map(r => Math.round(r.top))).size === 1; };
  return {videoBands: Math.round(box.height - box.width * video.videoHeight / video.videoWidth),
          labelsOnOneLine: [...document.querySelectorAll('#flicker-slider .vst-label, #flicker-slider button')]
            .every(oneLine)};
}"""
#: JS (argument: a selector): the element lies inside the viewport without scrolling, and nothing covers its centre.
ON_FIRST_SCREEN = """selector => {
  const element = document.querySelector(selector);
  const box = element.getBoundingClientRect();
  if (window.scrollY !== 0 || box.top < 0 || box.bottom > window.innerHeight || box.height === 0) return false;
  const top = document.elementFromPoint(box.left + box.width / 2, box.top + box.height / 2);
  return !!top && (top === element || element.contains(top));
}"""


#: JS: every URL the page's elements name (``src``, ``href``, ``poster``), in the page and its same-origin frames.
PAGE_URLS = """() => {
  const docs = [document, ...[...document.querySelectorAll('iframe')].map(f => f.contentDocument).filter(d => d)];
  return docs.flatMap(d => [...d.querySelectorAll('[src], [href], [poster]')].flatMap(e =>
    ['src', 'href', 'poster'].map(a => e.getAttribute(a)).filter(v => v)));
}"""


def server_paths_in(urls: list[str]) -> list[str]:
    """The URLs (decoded) that name one of this server's folders (:data:`SERVER_FOLDERS`)."""
    return [url for url in map(unquote, urls) if any(str(folder) in url for folder in SERVER_FOLDERS)]


def _assert_text_clear(page: Any) -> None:
    clear = page.evaluate(TEXT_CLEAR, "#vst-results")
    assert clear["texts"] > 0 and clear["covered"] == [] and clear["gradioProgress"] == 0, clear


def test_default_path_on_a_desktop(app_url: str, long_clip: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=DESKTOP)
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(f"{err} {err.stack}"))
            # The app is served cross-origin isolated (the Live tab's WASM threads): nothing it loads may be blocked
            # by the embedder policy (thumbnails, videos, fonts, the comparison plot).
            blocked: list[str] = []
            page.on("requestfailed", lambda r: blocked.append(f"{r.url} {r.failure}") if "BLOCKED" in
                    (r.failure or "") else None)
            requested: list[str] = []
            page.on("request", lambda r: requested.append(r.url))
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
            expect(page.locator("#vst-results")).to_be_hidden()  # no empty results area before a job
            assert page.evaluate(FIRST_LOOK) == {
                "examples": ["Cockatoo · 5 s", "Bikes · 10 s", "Car phone · 4 s"],  # each example's name and length
                "bandedCards": [],  # every card's picture fills its frame
                "gapBeforeFooter": True,  # no blank space where the results will be
                "footerEndsWith": "Built with Gradio"}, page.evaluate(FIRST_LOOK)
            # The fast network is on by default; its hint says what renders with the box as it is (no promise of
            # real time: the result says what was measured), and changes with it.
            expect(page.locator("#realtime input")).to_be_checked()
            expect(page.locator("#realtime")).to_contain_text("The fast network: a much smaller model")
            page.locator("#realtime input").uncheck()
            expect(page.locator("#realtime")).to_contain_text("The full-size temporal model")
            page.locator("#realtime input").check()
            expect(page.locator("#realtime")).to_contain_text("The fast network: a much smaller model")
            assert not re.search(r"real.time", page.locator("#realtime").inner_text(), re.IGNORECASE)

            # A second visitor on the vote tab, before the first one starts a job.
            voter = open_page(browser, app_url, DESKTOP)
            voter.get_by_role("tab", name="Vote (blind A/B)").click()
            expect(voter.locator("#ab-prompt")).to_contain_text("on the clip “street”")

            # Upload and stylize with the defaults (fast network, real-time on): the status line comes to the top of
            # the window by itself, its text clear of anything else.
            upload_clip(page, long_clip)
            page.locator("#stylize-button").click()
            page.wait_for_function(f"() => ({IN_VIEW})('#vst-status .vst-status')")
            assert page.evaluate("() => window.scrollY") > 0  # brought into view: it starts below the fold
            _assert_text_clear(page)
            save_shot(page, "desktop-running.png", shots)

            # The vote tab answers at once while the stylize job runs (its events skip the queue).
            started = time.monotonic()
            voter.locator("#vote-left").click()
            expect(voter.locator("#ab-reveal")).to_contain_text(re.compile(r"Left was \w+"))
            expect(voter.locator("#ab-results")).to_contain_text("(1 vote)")
            assert time.monotonic() - started < 5
            assert not re.search(r"flicker than", page.locator("#vst-summary").inner_text())  # still running

            # While the comparison renders, the delivered video is in the window, uncovered and playing, below the
            # status line that says what is being rendered; no text is covered.
            state = page.wait_for_function(WHILE_COMPARING).json_value()
            assert state["uncovered"] and state["inView"] and state["width"] > 100 and state["height"] > 50, state
            assert page.evaluate(IN_VIEW, "#vst-status .vst-status")
            page.wait_for_function("() => { const v = document.querySelector('#video-out video'); "
                                   "return !v.paused && v.currentTime > 0; }")
            assert "fast, framewise baseline" in state["status"] and "fast" in state["summary"]
            _assert_text_clear(page)
            save_shot(page, "desktop-comparing.png", shots)

            # The comparison: fast against its framewise twin, one reading, a plot with two lines and a legend; the
            # status line is gone.
            expect(page.locator("#vst-summary")).to_contain_text(
                re.compile(r"\d+% (less|more) flicker than fast, framewise · 360 frames · 256×192"),
                timeout=TIMEOUT_MS)
            expect(page.locator("#vst-status")).to_have_text("")
            page.wait_for_function("() => document.querySelectorAll('#flicker-plot g.mark-line path').length >= 2")
            plot = page.evaluate(PLOT)
            assert plot["lines"] == 2 and plot["visible"] == 2 and len(plot["strokes"]) == 2, plot
            assert {"fast", "fast, framewise"} <= set(plot["legend"]), plot
            # The axes: exactly the frame pairs there are (1 … 359), the error from 0; the reading is said once, in
            # the result text, and the plot's caption says how to read it.
            assert plot["axes"] == ["frame pair: 1 to 359", "warping error (lower = steadier): 0"], plot
            caption = page.locator("#vst-reading").inner_text()
            assert caption.startswith("Flicker per frame pair: the lower a line") and "flicker than" not in caption
            # The speed as measured, against the clip's rate; "real time" only where the render kept up.
            speed = re.search(r"rendered at ([\d.]+) fps, (faster than|as fast as|slower than) the clip's 24 fps"
                              r"(: real time)?", page.locator("#vst-summary").inner_text())
            assert speed and bool(speed[3]) == (float(speed[1]) >= 24) == (speed[2] != "slower than"), speed
            assert "fast" in page.locator("#video-out video").get_attribute("src")
            assert page.evaluate("() => !document.querySelector('#video-out video').paused")  # still playing

            # The slider: drag the divider from the middle to a quarter; the overlay's clip-path follows.
            page.wait_for_function(video_ready("#flicker-slider video.vst-over"))
            page.wait_for_function(video_ready("#flicker-slider video.vst-under"))
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
            _assert_text_clear(page)
            save_shot(page, "desktop-done.png", shots, full_page=True)

            # A new input (here: the player cleared for a new upload) takes the old results off the page. A file
            # that is no video is refused as it is uploaded:
            # the player is emptied, one plain message under it says why, and nothing else (no toast, no error
            # badge, no results of the previous clip).
            page.evaluate("window.scrollTo(0, 0)")
            fake = tmp_path / "holiday.mp4"
            fake.write_text("this is a text file, not a video\n")
            page.locator("#video-in button[aria-label=Clear]").click()
            expect(page.locator("#vst-results")).to_be_hidden()
            page.locator("#video-in input[type=file]").set_input_files(str(fake))
            expect(page.locator("#input-note")).to_have_text(re.compile(
                r"^\s*This file cannot be used as a video: holiday\.mp4 is not a readable video file"))
            expect(page.locator("#vst-results")).to_be_hidden()
            expect(page.locator("#video-in video")).to_have_count(0)
            assert page.evaluate(IN_VIEW, "#input-note")
            save_shot(page, "desktop-refused.png", shots)
            page.locator("#stylize-button").click()  # with no video: the message says what to do, nothing starts
            expect(page.locator("#input-note")).to_have_text("Upload a video (or pick an example clip) first.")
            page.wait_for_timeout(1000)
            assert page.evaluate(NO_ALARMS) == {"toasts": [], "badges": 0}, page.evaluate(NO_ALARMS)
            expect(page.locator("#vst-results")).to_be_hidden()
            upload_clip(page, long_clip)  # a good one: the message goes
            expect(page.locator("#input-note")).to_be_hidden()

            # Another style from the gallery: its selection moves.
            items.nth(1).click()
            expect(page.locator("#selected-style")).to_contain_text("The Great Wave off Kanagawa")
            expect(items.nth(1)).to_have_class(re.compile(r"\bselected\b"))
            save_shot(voter, "vote.png", shots)

            # The visitor's own result (fast network, the default mode) waits for them in the vote tab, as a blind
            # pair against its framewise twin.
            page.get_by_role("tab", name="Vote (blind A/B)").click()
            expect(page.locator("#ab-prompt")).to_contain_text(
                "on your own video (the fast network and its framewise twin)")
            page.wait_for_function(video_ready("#ab-left video"))

            # No URL the page used names a folder of this server (the install folder, the styles, the cache): the
            # slider's videos and the Live tab's files have routes of their own (Gradio's own uploads and copies are
            # under its content-addressed cache).
            page.get_by_role("tab", name="Live").click()
            page.frame_locator("#live-frame").locator("#start").wait_for()
            urls = requested + page.evaluate(PAGE_URLS)
            assert any("/vst-media/" in u for u in urls) and any("/vst-live/" in u for u in urls)
            assert server_paths_in(urls) == [], server_paths_in(urls)
            assert errors == [] and blocked == []
        finally:
            browser.close()


def test_a_phone_waits_its_turn_then_sees_its_video(app_url: str, long_clip: Path, clips_dir: Path,
                                                    tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    short = make_clip(clips_dir / "phone.mp4", width=240, height=136, num_frames=48, fps=24)
    shots = tmp_path / "screenshots"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = open_page(browser, app_url, PHONE)
            errors: list[str] = []
            phone.on("pageerror", lambda err: errors.append(str(err)))
            # A phone: no empty results area between the inputs and the Stylize button, which is on the first
            # screen, uncovered, under a one-row gallery (swiped sideways) and the upload.
            expect(phone.locator("#vst-results")).to_be_hidden()
            tops = phone.locator("#style-gallery button.thumbnail-item").evaluate_all(
                "bs => bs.map(b => Math.round(b.getBoundingClientRect().top))")
            assert len(set(tops)) == 1, tops  # one row
            assert phone.evaluate(ON_FIRST_SCREEN, "#stylize-button"), phone.locator("#stylize-button").bounding_box()
            assert phone.locator("#style-gallery .caption-label").evaluate_all(
                "cs => cs.every(c => c.scrollWidth <= c.clientWidth + 1)")
            save_shot(phone, "phone.png", shots)

            # Another visitor's long job runs (one job at a time on this server); the phone's job waits its turn.
            desktop = open_page(browser, app_url, DESKTOP)
            upload_clip(desktop, long_clip)
            desktop.locator("#stylize-button").click()
            desktop.wait_for_function(f"() => ({STATUS})().startsWith('Stylizing your video')")
            upload_clip(phone, short)
            phone.locator("#stylize-button").click()

            # The phone is told its place and an estimated wait (from the running job's measured speed), on its
            # screen, with nothing over the text; the estimate counts down rather than stalling.
            waiting = re.compile(r"^You are next in line \(1 video being stylized\): about (\d+) s to wait\.$")
            phone.wait_for_function(f"() => /about \\d+ s to wait/.test(({STATUS})())")
            first = waiting.match(phone.evaluate(STATUS))
            assert first, phone.evaluate(STATUS)
            assert phone.evaluate(IN_VIEW, "#vst-status .vst-status")
            _assert_text_clear(phone)
            save_shot(phone, "phone-waiting.png", shots)
            phone.wait_for_function(f"""() => {{
              const m = ({STATUS})().match(/about (\\d+) s to wait/);
              return !m || Number(m[1]) < {int(first[1])};
            }}""")

            # Its turn: it renders, and the delivered video is on the phone's screen without the visitor scrolling.
            phone.wait_for_function(f"() => ({STATUS})().startsWith('Stylizing your video')")
            phone.wait_for_function(video_ready("#video-out video"))
            phone.wait_for_function(f"() => ({IN_VIEW})('#video-out video')")
            _assert_text_clear(phone)
            save_shot(phone, "phone-video.png", shots)
            expect(phone.locator("#vst-summary")).to_contain_text(re.compile(r"flicker than fast, framewise"),
                                                                  timeout=TIMEOUT_MS)
            # The video at its own shape (no blank bands above and below it); the slider's labels on one line.
            phone.wait_for_function(video_ready("#flicker-slider video.vst-over"))
            shapes = phone.evaluate(RESULT_SHAPES)
            assert abs(shapes["videoBands"]) <= 2 and shapes["labelsOnOneLine"], shapes
            save_shot(phone, "phone-done.png", shots)
            assert errors == []
        finally:
            browser.close()

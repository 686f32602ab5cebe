"""The app in a real browser (Playwright driving Debian's Chromium): pick a style, upload, stylize, drag the flicker
slider, vote twice. Screenshots of both tabs go to the test's folder and to ``test-output/screenshots/``."""

from __future__ import annotations

import re
import shutil
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

    root = make_tiny_styles(tmp_path_factory.mktemp("styles"), ("starry-night", "great-wave", "the-scream"))
    cache = tmp_path_factory.mktemp("browser-cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0"})
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


def test_stylize_slider_and_vote_in_chromium(app_url: str, clips_dir: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    clip = make_clip(clips_dir / "browser.mp4", width=160, height=120, num_frames=36, fps=24, audio=True)
    shots = tmp_path / "screenshots"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(TIMEOUT_MS)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.goto(app_url, wait_until="load")
            page.wait_for_selector("#style-gallery button.thumbnail-item")

            # 1. Pick a style in the gallery.
            expect(page.locator("#style-gallery button.thumbnail-item")).to_have_count(3)
            page.locator("#style-gallery button.thumbnail-item").nth(1).click()
            expect(page.locator("#selected-style")).to_contain_text("The Great Wave off Kanagawa")

            # 2. Upload a clip, 3. stylize.
            page.locator("#video-in input[type=file]").set_input_files(str(clip))
            page.wait_for_function(_ready("#video-in video"))
            page.locator("#stylize-button").click()
            page.wait_for_function(_ready("#video-out video"))
            page.wait_for_function(_ready("#flicker-slider video.vst-over"))
            page.wait_for_function(_ready("#flicker-slider video.vst-under"))
            expect(page.locator("#vst-summary")).to_have_text(
                re.compile(r"flicker [−+±]\d+% vs framewise · \d+\.\d fps · 36 frames · 160×120"))
            expect(page.locator("#flicker-plot canvas, #flicker-plot svg").first).to_be_visible()
            assert "great-wave" in page.locator("#video-out video").get_attribute("src")

            # The slider: drag the divider from the middle to a quarter; the overlay's clip-path follows.
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

            # 4. The blind A/B tab: the visitor's own video comes first; vote twice, the tally follows.
            page.get_by_role("tab", name="Vote (blind A/B)").click()
            expect(page.locator("#ab-prompt")).to_contain_text("on your own video")
            page.wait_for_function(_ready("#ab-left video"))
            page.wait_for_function(_ready("#ab-right video"))
            expect(page.locator("#ab-results")).to_contain_text("No votes yet")
            expect(page.locator("#vote-left")).to_be_enabled()
            page.locator("#vote-left").click()
            expect(page.locator("#ab-reveal")).to_contain_text(re.compile(r"Left was \w+"))
            expect(page.locator("#ab-results")).to_contain_text("(1 vote)")
            expect(page.locator("#vote-left")).to_be_disabled()

            page.locator("#ab-next").click()
            expect(page.locator("#ab-prompt")).to_contain_text("on the clip “street”")
            expect(page.locator("#vote-right")).to_be_enabled()
            page.wait_for_function(_ready("#ab-left video"))
            page.locator("#vote-right").click()
            expect(page.locator("#ab-results")).to_contain_text("(2 votes)")
            expect(page.locator("#ab-table")).to_contain_text("all styles")
            _save(page, "vote.png", shots)
            assert errors == []
        finally:
            browser.close()

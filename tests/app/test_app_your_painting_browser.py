"""The gallery's *Your painting* card in a real browser (Playwright driving Debian's Chromium), on a desktop (1366×900)
and a phone (390×844): the card opens its panel in view, an uploaded painting's preview appears within a couple of
seconds through the page's own upload field, a text file named ``.png`` gets one plain line (no toast, no preview), and
*Stylize* renders a clip with the painting. Screenshots go to the test's folder and to ``test-output/screenshots/``."""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
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
    TEXT_CLEAR,
    TIMEOUT_MS,
    live_probe,
    open_page,
    save_shot,
    upload_clip,
    video_ready,
)
from tests.support.clips import make_clip
from vst.catalog import PACKAGE_CHECKPOINT_DIR
from vst.pipeline import Stylizer
from vst.web_runtime import runtime_ready

pytestmark = [
    pytest.mark.slow,
    pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS),
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's Chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium)"),
]

#: JS: the preview is on the page and its picture loaded.
PREVIEW_LOADED = """() => {
  const img = document.querySelector('#painting-preview:not(.vst-off) img');
  return !!img && img.complete && img.naturalWidth > 0;
}"""
#: JS: the preview's picture against its box (a box of another shape would show blank bands or cut it).
PREVIEW_SHAPE = """() => {
  const img = document.querySelector('#painting-preview img');
  const box = img.getBoundingClientRect();
  return {width: box.width, bands: Math.round(box.height - box.width * img.naturalHeight / img.naturalWidth)};
}"""
#: JS: the page is no wider than the window (nothing sticks out sideways on a phone).
NO_SIDEWAYS = "() => document.documentElement.scrollWidth <= window.innerWidth + 1"


@pytest.fixture(scope="module")
def styles_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = make_tiny_styles(tmp_path_factory.mktemp("styles"), ("starry-night", "great-wave", "the-scream"),
                            any_painting=True)
    return root


@pytest.fixture(scope="module")
def painting_url(tmp_path_factory: pytest.TempPathFactory, styles_root: Path) -> Iterator[str]:
    from vst.app.blind_vote import PairPool
    from vst.app.config import AppConfig
    from vst.app.votes import VoteStore

    root = styles_root
    cache = tmp_path_factory.mktemp("painting-browser-cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root)}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0"})
        store = VoteStore(cache / "votes.sqlite3")
        with running_app(config, store, PairPool(config.showcase_dir, {})) as url:
            yield url
        store.close()


@pytest.fixture(scope="module")
def painting(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A real painting (the bundled thumbnail of The Scream), as a visitor's file."""
    path = tmp_path_factory.mktemp("visitor") / "my-painting.jpg"
    shutil.copyfile(PACKAGE_CHECKPOINT_DIR / "the-scream" / "painting.jpg", path)
    return path


def _choose_painting_card(page: object) -> None:
    from playwright.sync_api import expect

    cards = page.locator("#style-gallery button.thumbnail-item")  # type: ignore[attr-defined]
    expect(cards).to_have_count(4)
    expect(page.locator("#painting-panel")).to_be_hidden()  # type: ignore[attr-defined]
    cards.last.scroll_into_view_if_needed()
    cards.last.click()
    expect(cards.last).to_have_class(re.compile(r"\bselected\b"))
    expect(page.locator("#painting-panel")).to_be_visible()  # type: ignore[attr-defined]
    # The panel comes into the window by itself (on a desktop it opens below the gallery, under the fold).
    page.wait_for_function(f"() => ({IN_VIEW})('#painting-in')")  # type: ignore[attr-defined]


def _upload_painting(page: object, picture: Path) -> float:
    """Upload ``picture`` in the panel; the seconds until its preview is on screen."""
    started = time.monotonic()
    page.locator("#painting-in input[type=file]").set_input_files(str(picture))  # type: ignore[attr-defined]
    page.wait_for_function(PREVIEW_LOADED)  # type: ignore[attr-defined]
    return time.monotonic() - started


def test_your_painting_on_a_desktop(painting_url: str, painting: Path, clips_dir: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    clip = make_clip(clips_dir / "painting.mp4", width=240, height=136, num_frames=24, fps=24)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = open_page(browser, painting_url, DESKTOP)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            captions = page.locator("#style-gallery .caption-label")
            assert captions.all_inner_texts()[-1] == "Your painting — upload any picture (JPEG, PNG or WebP)"
            _choose_painting_card(page)
            expect(page.locator("#selected-style")).to_have_text("Selected style: Your painting: upload a picture "
                                                                 "below.")
            expect(page.locator("#realtime")).to_contain_text("Your painting has no fast network yet")
            save_shot(page, "painting-desktop-card.png", shots)

            # A painting through the page's upload field: its preview within a couple of seconds, whole (no band,
            # not cut), in the window, with its caption; the field is emptied (the file is already deleted).
            seconds = _upload_painting(page, painting)
            assert seconds < 5, seconds  # about 1 s here (a busy 2-core machine)
            expect(page.locator("#painting-caption")).to_have_text(
                "my-painting.jpg (left) on a photo (right), at strength 1.")
            expect(page.locator("#selected-style")).to_have_text("Selected style: Your painting (my-painting.jpg)")
            expect(page.locator("#painting-note")).to_be_hidden()
            shape = page.evaluate(PREVIEW_SHAPE)
            assert shape["width"] > 400 and abs(shape["bands"]) <= 2, shape
            page.wait_for_function(f"() => ({IN_VIEW})('#painting-preview img')")
            expect(page.locator("#painting-in")).not_to_contain_text("my-painting.jpg")
            clear = page.evaluate(TEXT_CLEAR, "#painting-panel")
            assert clear["texts"] > 0 and clear["covered"] == [], clear
            save_shot(page, "painting-desktop-preview.png", shots)

            # A text file named .png: one plain line under the field, no preview, no toast or error badge.
            fake = tmp_path / "holiday.png"
            fake.write_text("this is a text file, not a picture\n")
            page.locator("#painting-in input[type=file]").set_input_files(str(fake))
            expect(page.locator("#painting-note")).to_have_text(
                "holiday.png is not a picture; a style picture must be a JPEG, PNG or WebP file")
            expect(page.locator("#painting-preview")).to_be_hidden()
            expect(page.locator("#painting-caption")).to_have_text("")
            page.wait_for_timeout(500)
            assert page.evaluate(NO_ALARMS) == {"toasts": [], "badges": 0}, page.evaluate(NO_ALARMS)
            save_shot(page, "painting-desktop-refused.png", shots)

            # The painting again, and a clip stylized with it: the temporal any-painting network against the
            # framewise teacher, said in the result text.
            _upload_painting(page, painting)
            expect(page.locator("#painting-note")).to_be_hidden()
            upload_clip(page, clip)
            page.locator("#stylize-button").click()
            summary = page.locator("#vst-summary")
            expect(summary).to_contain_text(re.compile(r"\d+% (less|more) flicker than framewise · 24 frames"),
                                            timeout=TIMEOUT_MS)
            expect(summary).to_contain_text("Your painting: my-painting.jpg, strength 1; the framewise baseline is "
                                            "the teacher itself.")
            expect(summary).to_contain_text("The fast network was asked for, but your painting has none yet")
            page.wait_for_function(video_ready("#flicker-slider video.vst-over"))
            assert "your-painting" in page.locator("#video-out video").get_attribute("src")
            save_shot(page, "painting-desktop-result.png", shots, full_page=True)
            assert errors == []
        finally:
            browser.close()


def test_your_painting_on_a_phone(painting_url: str, painting: Path, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    shots = tmp_path / "screenshots"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            phone = open_page(browser, painting_url, PHONE)
            errors: list[str] = []
            phone.on("pageerror", lambda err: errors.append(str(err)))
            _choose_painting_card(phone)  # the last card of the row swiped sideways
            save_shot(phone, "painting-phone-card.png", shots)
            seconds = _upload_painting(phone, painting)
            assert seconds < 5, seconds
            phone.wait_for_function(f"() => ({IN_VIEW})('#painting-preview img')")
            expect(phone.locator("#painting-caption")).to_contain_text("my-painting.jpg")
            shape = phone.evaluate(PREVIEW_SHAPE)
            assert shape["width"] > 300 and abs(shape["bands"]) <= 2, shape
            assert phone.evaluate(NO_SIDEWAYS)
            clear = phone.evaluate(TEXT_CLEAR, "#painting-panel")
            assert clear["texts"] > 0 and clear["covered"] == [], clear
            save_shot(phone, "painting-phone-preview.png", shots)
            assert errors == []
        finally:
            browser.close()


#: JS (in the Live page): the values of its style menu.
STYLE_OPTIONS = "() => [...document.querySelectorAll('#style option')].map((o) => o.value)"


@pytest.mark.skipif(not runtime_ready(), reason="needs the cached onnxruntime-web: python -m training fetch-vgg")
def test_your_painting_live_in_the_browser(painting_url: str, styles_root: Path, painting: Path,
                                           tmp_path: Path) -> None:
    """The Live tab's upload: the painting joins the Live page's style menu, selected, and an example clip runs with
    it in the page (onnxruntime-web), as PyTorch renders it; a page loaded again gets it back; a text file named .png
    gets one line."""
    from playwright.sync_api import expect, sync_playwright

    from vst.any_painting import network_for_picture
    from vst.app.your_painting import YOUR_PAINTING

    shots = tmp_path / "screenshots"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = open_page(browser, painting_url, DESKTOP)
            errors: list[str] = []
            page.on("pageerror", lambda err: errors.append(str(err)))
            page.get_by_role("tab", name="Live").click()
            frame = page.locator("#live-frame").element_handle().content_frame()
            frame.wait_for_function("() => !!window.vstLive")
            assert YOUR_PAINTING not in frame.evaluate(STYLE_OPTIONS)

            page.locator("#live-painting-in input[type=file]").set_input_files(str(painting))
            expect(page.locator("#live-painting-note")).to_contain_text("my-painting.jpg is in the style menu above")
            frame.wait_for_function(f"() => document.querySelector('#style').value === '{YOUR_PAINTING}'")
            assert frame.evaluate(STYLE_OPTIONS)[-1] == YOUR_PAINTING
            expect(frame.locator("#style option:checked")).to_have_text("Your painting (my-painting.jpg)")
            expect(page.locator("#live-painting-in")).not_to_contain_text("my-painting.jpg")  # deleted at once
            # the Stylize tab has it too
            expect(page.locator("#selected-style")).to_have_text("Selected style: Your painting (my-painting.jpg)")

            frame.locator("#resolution").select_option("320x180")
            frame.locator("#use-example").click()
            frame.wait_for_function("() => window.vstLive.frames >= 3")
            assert frame.evaluate("() => [vstLive.slug, vstLive.network]") == [YOUR_PAINTING, "fast"]
            running, image, _, raw = live_probe(frame)
            assert running == f"{YOUR_PAINTING}/fast"
            with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(styles_root)}):
                reference = Stylizer(network_for_picture(painting, variant="temporal"))(image[None])[0]
            diff = np.abs(reference.astype(int) - raw)
            assert diff.max() <= 1 and diff.mean() < 0.01, (diff.max(), diff.mean())
            save_shot(page, "painting-live.png", shots)

            frame.evaluate("() => location.reload()")  # the page again: the app hands it the painting again
            frame = page.locator("#live-frame").element_handle().content_frame()
            frame.wait_for_function(f"() => !!window.vstLive && document.querySelector('#style').value === "
                                    f"'{YOUR_PAINTING}'")

            fake = tmp_path / "holiday.png"
            fake.write_text("this is a text file, not a picture\n")
            page.locator("#live-painting-in input[type=file]").set_input_files(str(fake))
            expect(page.locator("#live-painting-note")).to_have_text(
                "holiday.png is not a picture; a style picture must be a JPEG, PNG or WebP file")
            assert errors == []
        finally:
            browser.close()

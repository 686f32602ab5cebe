"""What the real-browser tests share (Playwright driving Debian's Chromium): the browser's path and flags, the
window sizes, screenshots, and the page probes more than one test module uses."""

from __future__ import annotations

import base64
import shutil
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 60_000
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
#: Where every browser test also leaves its screenshots, for a person to look at.
SHOTS = REPO / "test-output" / "screenshots"


def save_shot(page: Any, name: str, folder: Path, *, full_page: bool = False) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / name), full_page=full_page)
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copy(folder / name, SHOTS / name)


def video_ready(selector: str) -> str:
    """JS: the video matched by ``selector`` has decoded enough to play."""
    return f"() => {{ const v = document.querySelector({selector!r}); return !!v && v.readyState >= 2; }}"


#: JS (argument: a selector): the element is wholly inside the window as it is scrolled now (the test never scrolls
#: it there) and something is drawn; ``null`` when it is not on the page.
IN_VIEW = """selector => {
  const element = document.querySelector(selector);
  if (!element) return null;
  const box = element.getBoundingClientRect();
  return box.height > 0 && box.width > 0 && box.top >= -1 && box.bottom <= window.innerHeight + 1;
}"""
#: JS (argument: a selector): the text lines inside the element, each with whether anything else is drawn over its
#: middle (another element on top, as Gradio's progress overlay was), and whether Gradio's progress bar or text is
#: shown anywhere in the results.
TEXT_CLEAR = """selector => {
  const root = document.querySelector(selector);
  // (the slider's two labels lie on its videos, under its transparent range input, by design; a 1-pixel label is
  // for screen readers only)
  const texts = [...root.querySelectorAll('p, span, strong, li')].filter(e => e.childElementCount === 0 &&
    e.textContent.trim() && e.getBoundingClientRect().height > 2 && e.getBoundingClientRect().width > 2 &&
    !e.closest('.vst-compare'));
  const name = e => e ? e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') +
    [...e.classList].slice(0, 3).map(c => '.' + c).join('') : 'nothing';
  const covered = texts.map(e => {
    const box = e.getBoundingClientRect();
    const x = box.left + Math.min(box.width / 2, 20), y = box.top + box.height / 2;
    // off screen, or cut by the window's edge there: nothing to check (elementFromPoint sees only the window)
    if (y < 0 || y >= window.innerHeight || x < 0 || x >= window.innerWidth) return null;
    const top = document.elementFromPoint(x, y);
    const ancestors = [];  // where the covered text sits, for the message
    for (let a = e.parentElement; a && ancestors.length < 4; a = a.parentElement) ancestors.push(name(a));
    return !top || !(top === e || e.contains(top)) ?
      `${e.textContent.trim()} (in ${ancestors.join(' < ')}; under ${name(top)})` : null;
  }).filter(Boolean);
  const gradio = [...document.querySelectorAll('#vst-results .progress-text, #vst-results .eta-bar, ' +
    '#vst-results .progress-level, #vst-results .progress-bar')].filter(e => e.getBoundingClientRect().height > 0);
  return {texts: texts.length, covered, gradioProgress: gradio.length};
}"""
#: JS: Gradio's toasts and the red "Error" badges it puts on components, on screen now.
NO_ALARMS = """() => ({toasts: [...document.querySelectorAll('.toast-body')].map(t => t.innerText),
  badges: [...document.querySelectorAll('span.error')].filter(e => e.getBoundingClientRect().height > 0).length})"""
def open_page(browser: Any, url: str, viewport: dict[str, int]) -> Any:
    page = browser.new_page(viewport=viewport)
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(url, wait_until="load")
    page.wait_for_selector("#style-gallery button.thumbnail-item")
    return page


def upload_clip(page: Any, clip: Path) -> None:
    page.locator("#video-in input[type=file]").set_input_files(str(clip))
    page.wait_for_function(video_ready("#video-in video"))


def live_probe(frame: Any) -> tuple[str, np.ndarray, np.ndarray, np.ndarray]:
    """The style as "slug/network", the frame the network was fed (H, W, 3), what the canvas shows for it (H, W, 3)
    and the network's own output before the page's smoothing (H, W, 3)."""
    got = frame.evaluate("() => window.vstLive.probe()")
    shape = (got["height"], got["width"], 4)
    image, shown, raw = (np.frombuffer(base64.b64decode(got[key]), np.uint8).reshape(shape)[..., :3]
                         for key in ("input", "output", "raw"))
    return f"{got['slug']}/{got['network']}", image, shown, raw

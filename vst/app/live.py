"""The Live tab: the visitor's camera (or an example clip) stylized in their own browser, frame by frame.

The server only serves files: the page (``vst/app/live_page/``), each real-time style's ``model.onnx`` files (the same
networks as ``live/`` and ``fast/model.safetensors``, see :mod:`vst.onnx_export`), the example clips and the pinned
onnxruntime-web (:mod:`vst.web_runtime`), each under a name of its own at ``/vst-live/<name>`` (:class:`LiveFiles`,
:func:`live_routes`): no server path is in any URL. The page is an ``<iframe>``, so its scripts run apart from
Gradio's; its configuration (styles, file names, sizes) travels in the URL fragment as JSON.

Styles come from the one style list (:func:`vst.app.gallery.gallery_styles`, i.e. the catalog): every installed
style with a ``live/`` or ``fast/`` network. The page runs the live network (a third of the fast one's arithmetic,
distilled from it: what reaches real time in a browser's WebAssembly) and offers the fast one, sharper, for faster
machines. A network without a current ``model.onnx`` (a Hub snapshot from before the export existed) is exported once
into ``<cache>/live-onnx/<slug>/<variant>/`` at start, with a log line.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import gradio as gr
from fastapi import HTTPException
from fastapi.responses import FileResponse
from fastapi.routing import APIRoute

from .. import web_runtime
from ..catalog import Variant
from ..fingerprint import file_sha256
from ..onnx_export import ONNX_FILE, export_checkpoint, exported_from, is_current
from .gallery import GalleryStyle

log = logging.getLogger(__name__)

PAGE_DIR = Path(__file__).resolve().parent / "live_page"
PAGE = PAGE_DIR / "live.html"
#: The resolutions offered (16:9, multiples of 4 where possible); the page picks its default from a measurement.
SIZES: tuple[tuple[int, int], ...] = ((320, 180), (480, 270), (640, 360))
FRAME_HEIGHT_PX = 800  # the frame's height until its page reports its own (FRAME_JS)
#: The networks the page can run, in the order it prefers them, with the labels of its "Network" menu.
NETWORKS: dict[str, str] = {Variant.LIVE: "light (fastest)", Variant.FAST: "fast (more detail)"}

INTRO = (
    "Your camera as a moving painting, computed **in your own browser** (the image never leaves your device), at the "
    "frame rate your device reaches (shown under the picture). Press *Start camera*, or run an example clip."
)
#: ``js_on_load`` of the Live tab's ``gr.HTML``: the frame takes the height its page reports (live.js), so the page
#: never scrolls inside its frame and the picture is where the app's page scrolls.
FRAME_JS = r"""
const frame = element.querySelector('iframe');
window.addEventListener('message', (event) => {
  if (event.origin !== location.origin || event.source !== frame.contentWindow) return;
  const height = event.data && event.data.vstLiveHeight;
  if (typeof height === 'number' && height > 100) frame.style.height = `${Math.ceil(height)}px`;
  // the page (re)loaded: it gets the visitor's painting again, if one was sent before (SEND_PAINTING_JS)
  if (event.data && event.data.vstLiveReady && window.vstLivePainting)
    frame.contentWindow.postMessage({vstLiveStyle: window.vstLivePainting}, location.origin);
});
"""


@dataclass(frozen=True)
class LiveStyle:
    """A style the Live page can run: the ``model.onnx`` of each of its networks (keys of :data:`NETWORKS`, in
    that order)."""

    slug: str
    caption: str
    models: dict[str, Path]


def current_onnx(folder: Path, fallback: Path, what: str) -> Path:
    """``folder/model.onnx`` when it was exported from the checkpoint now in ``folder``; otherwise ``fallback``,
    exported there once (with a log line) unless an export of this checkpoint is already there."""
    if is_current(folder):
        return folder / ONNX_FILE
    if not exported_from(fallback, folder):
        log.info("exporting %s to ONNX for the Live tab: %s", what, fallback)
        export_checkpoint(folder, fallback)
    return fallback


def live_styles(styles: Sequence[GalleryStyle], export_dir: Path) -> list[LiveStyle]:
    """The styles with a live or fast network, with their ONNX files (exported into ``export_dir`` when missing or
    stale)."""
    found = []
    for style in styles:
        models = {variant: current_onnx(folder, export_dir / style.slug / variant / ONNX_FILE,
                                        f"{style.slug}'s {variant} network").resolve()
                  for variant in NETWORKS if (folder := style.variants.get(variant)) is not None}
        if models:
            found.append(LiveStyle(style.slug, style.caption, models))
    return found


class LiveFiles:
    """The files the Live page loads, each under a name of its own (no server path), served by :func:`live_routes` at
    ``/vst-live/<name>``. Names carry a digest of the file (or the runtime's version), so every app in a process can
    share one registry (:data:`LIVE_FILES`) and a name never changes its content (thread-safe)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._files: dict[str, Path] = {}
        self._folders: dict[str, Path] = {}

    def add(self, kind: str, path: Path, stem: str | None = None) -> str:
        """Serve ``path`` as ``<kind>/<stem or its name's stem>-<digest><suffix>``; returns that name."""
        path = Path(path).resolve()
        name = f"{kind}/{stem or path.stem}-{self._digest(path)}{path.suffix}"
        with self._lock:
            self._files[name] = path
        return name

    def add_page(self, folder: Path) -> None:
        """Serve the page's own files (``live.html``, ``live.js``, ``live.css``) under their names."""
        with self._lock:
            for path in Path(folder).iterdir():
                if path.is_file():
                    self._files[path.name] = path.resolve()

    def add_folder(self, name: str, folder: Path) -> str:
        """Serve the plain files directly inside ``folder`` as ``<name>/<file name>``; returns ``name``."""
        with self._lock:
            self._folders[name] = Path(folder).resolve()
        return name

    def get(self, name: str) -> Path | None:
        """The file served as ``name``, or ``None`` (unknown, a sub-folder, a link, or gone: a gone file is forgotten,
        e.g. a visitor's painting's network once its folder expired)."""
        with self._lock:
            path = self._files.get(name)
            if path is None and "/" in name:
                folder, _, file = name.rpartition("/")
                root = self._folders.get(folder)
                if root is not None and _FILE_NAME.fullmatch(file):
                    path = root / file
            elif path is not None and not path.exists():
                del self._files[name]
        return path if path is not None and path.is_file() and not path.is_symlink() else None

    def _digest(self, path: Path) -> str:
        return file_sha256(path)[:12]


#: The process's registry of Live files (every app built in this process adds to it).
LIVE_FILES = LiveFiles()
LIVE_PREFIX = "/vst-live"
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
#: Content types the page's files need (a module script must not come as ``application/octet-stream``).
_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
          ".css": "text/css", ".wasm": "application/wasm", ".onnx": "application/octet-stream", ".mp4": "video/mp4"}


def live_routes(files: LiveFiles | None = None) -> list[APIRoute]:
    """The route serving the Live page's files from ``files`` (default :data:`LIVE_FILES`) at
    ``/vst-live/<name>``: only registered files, never a listing; anything else answers 404."""
    registry = LIVE_FILES if files is None else files

    def serve(name: str) -> FileResponse:
        path = registry.get(name)
        if path is None:
            raise HTTPException(status_code=404, detail="not found")
        return FileResponse(path, media_type=_TYPES.get(path.suffix.lower()))

    return [APIRoute(LIVE_PREFIX + "/{name:path}", serve, methods=["GET"], include_in_schema=False)]


def style_entry(style: LiveStyle, files: LiveFiles | None = None) -> dict[str, object]:
    """One style as the page reads it: ``{"slug", "caption", "models": {network: file name}}``, its files registered
    in ``files`` (default :data:`LIVE_FILES`). Plain ``str`` keys: Gradio's JSON (orjson) refuses a ``Variant``
    as a key."""
    registry = LIVE_FILES if files is None else files
    return {"slug": style.slug, "caption": style.caption,
            "models": {str(k): registry.add(f"models/{style.slug}", v, k) for k, v in style.models.items()}}


def page_config(styles: Sequence[LiveStyle], examples: Sequence[tuple[Path, str]], runtime: Path | None,
                files: LiveFiles | None = None, *, own_painting: bool = False) -> dict[str, object]:
    """What the page reads from its URL fragment: every file as a name relative to the page (registered in
    ``files``, default :data:`LIVE_FILES`), never a server path. ``own_painting``: the app can send the page a
    visitor's painting later (:data:`SEND_PAINTING_JS`), whose network is a full-size one, so the fast network is
    offered even when no installed style has one."""
    registry = LIVE_FILES if files is None else files
    offered = [name for name in NETWORKS
               if any(name in s.models for s in styles) or (own_painting and name == Variant.FAST)]
    return {
        "styles": [style_entry(s, registry) for s in styles],
        "networks": [{"name": name, "label": NETWORKS[name]} for name in offered],
        "examples": [{"label": label, "url": registry.add("examples", Path(path))} for path, label in examples],
        "sizes": [list(size) for size in SIZES],
        "runtime": registry.add_folder(f"runtime/{web_runtime.VERSION}", runtime) if runtime is not None else None,
        "cdn": web_runtime.CDN_URL,
        "version": web_runtime.VERSION,
    }


def page_src(config: dict[str, object], **query: str) -> str:
    """The page's URL relative to the app's root (``vst-live/live.html``), a query (``backend=wasm``,
    ``resolution=320x180``) and the configuration as the fragment."""
    search = "?" + "&".join(f"{k}={quote(v)}" for k, v in query.items()) if query else ""
    return f"{LIVE_PREFIX.lstrip('/')}/live.html{search}#{quote(json.dumps(config, separators=(',', ':')))}"


@dataclass
class LiveView:
    """The Live tab's components that the app wires: with ``own_painting``, the upload of a visitor's painting, the
    line under it, and the hidden value carrying the painting's style to the page (:data:`SEND_PAINTING_JS`)."""

    painting_file: gr.File | None = None
    painting_note: gr.Markdown | None = None
    painting_entry: gr.JSON | None = None


#: JS of the event after a visitor's painting is ready: hands its style entry (:func:`style_entry`) to the page in
#: the frame, which adds it to its style menu and selects it (live.js; the camera keeps running), and keeps it for a
#: page that loads later.
SEND_PAINTING_JS = r"""
(entry) => {
  if (!entry || !entry.slug) return entry;
  // a plain copy: Gradio hands the value over as a reactive proxy, which postMessage cannot clone
  window.vstLivePainting = JSON.parse(JSON.stringify(entry));  // kept for a page that loads later (FRAME_JS)
  const frame = document.querySelector('#live-frame');
  if (frame && frame.contentWindow) frame.contentWindow.postMessage({vstLiveStyle: window.vstLivePainting},
                                                                  location.origin);
  return entry;
}
"""
PAINTING_HINT = ("**Your painting** live: upload a picture here (or on the Stylize tab's last card); it joins the "
                 "style menu above. What your browser receives is a small network made from it, never the picture.")


def live_tab(styles: Sequence[GalleryStyle], cache_dir: Path, examples: Sequence[tuple[Path, str]], *,
             own_painting: bool = False, accepted: str = "") -> LiveView:
    """The Live tab's content (created inside the current ``gr.Tab``): an intro and the page in an iframe; with
    ``own_painting`` (the any-painting network is installed), an upload for a visitor's painting (``accepted``: the
    formats, for its label)."""
    runnable = live_styles(styles, cache_dir / "live-onnx")
    runtime = web_runtime.runtime_dir() if web_runtime.runtime_ready() else None
    if runtime is None:
        log.warning("onnxruntime-web %s is not in %s (run `python -m vst fetch-web-runtime`); the Live page loads it "
                    "from %s", web_runtime.VERSION, web_runtime.runtime_dir(), web_runtime.CDN_URL)
    LIVE_FILES.add_page(PAGE_DIR)
    src = page_src(page_config(runnable, examples, runtime, own_painting=own_painting))
    gr.Markdown(INTRO, elem_id="live-intro")
    gr.HTML(f'<iframe id="live-frame" src="{src}" allow="camera; fullscreen" title="Live" '
            f'style="width:100%;height:{FRAME_HEIGHT_PX}px;border:0;display:block"></iframe>'
            f'<p style="font-size:0.85em;opacity:0.7"><a href="{src}" target="_blank" rel="noopener">Open Live in its '
            f'own window</a></p>', elem_id="live-tab", js_on_load=FRAME_JS, container=False, padding=False)
    if not own_painting:
        return LiveView()
    with gr.Row(equal_height=False):
        painting_file = gr.File(label=f"Your painting ({accepted})" if accepted else "Your painting",
                                file_types=["image"], type="filepath", height=110, scale=2, elem_id="live-painting-in")
        with gr.Column(scale=3):
            gr.Markdown(PAINTING_HINT, elem_id="live-painting-hint")
            painting_note = gr.Markdown("", elem_id="live-painting-note")
    painting_entry = gr.JSON(None, visible=False, elem_id="live-painting-entry")
    return LiveView(painting_file, painting_note, painting_entry)

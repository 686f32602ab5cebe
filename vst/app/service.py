"""The web app's logic, kept out of ``app.py`` (which only lays out Gradio components and wires events to this).

- :func:`gallery_styles`: the installed styles with a preview each (the style folder's ``preview.jpg``, else one
  rendered here from the temporal model on a sample photo and cached).
- :class:`StylizeService`: one stylize job: input checks and limits, the main network (the temporal model, or the
  fast network when asked for and installed: :func:`choose_network`) and its baseline, a time limit, a per-job output
  folder that old jobs' folders are pruned from; :meth:`StylizeService.watch` runs a job in this server's line
  (:mod:`vst.app.line`), reporting its place, its progress and each outcome as it goes.
- The blind A/B vote: :class:`Pair` (one style on one clip, one network trained with and without the temporal loss),
  :class:`Presentation` (a pair with a random left/right order), :func:`choose_next`, :func:`reveal_text`, and the
  results as text and a table.

Every user-facing problem is a :class:`~vst.errors.VSTError` whose ``str()`` is one line.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import logging
import math
import os
import queue
import random
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..catalog import FAST_FRAMEWISE_VARIANT, FAST_VARIANT, STYLES, VARIANTS
from ..checkpoint_check import check_checkpoint, load_network
from ..errors import CheckpointError, VideoError, VSTError
from ..files import PARTIAL_GLOB, atomic_output
from ..fingerprint import checkpoint_digest
from ..hub import InstalledStyle, installed_styles
from ..metrics import WarpingErrorMeter
from ..pipeline import RenderResult, Stylizer, check_frame_size, render_video, select_device
from ..realtime import ScaleChoice, choose_scale
from ..video import VideoInfo, fit_size, probe
from .config import AppConfig
from .comparison import VARIANT_LABELS, flicker_frame, flicker_reading, slider_html
from .line import JobLine, Stage
from .media import media_url
from .progress import JobStatus
from .served import forget_served
from .showcase import CURATED_CLIPS, MIN_LONG_SIDE, ABPair, load_pairs, prerender_pairs
from .votes import YOUR_PAINTING, Results, Tally, VoteStore

if TYPE_CHECKING:
    import torch
    from PIL import Image

log = logging.getLogger(__name__)

#: ``progress(frames_done, frames_total_or_None, frames_per_second, seconds_left_or_None)``.
JobProgress = Callable[[int, int | None, float, float | None], None]
PREVIEW_NAME = "preview.jpg"
PAINTING_NAME = "painting.jpg"


class NoStyleSelectedError(VSTError):
    """Stylize was pressed before a style was picked (or with a style that is not installed)."""


class NoVideoError(VideoError):
    """Stylize was pressed without a video."""


class VideoTooLongError(VideoError):
    """The video is longer than this server's limit (``VST_MAX_SECONDS``)."""


class JobTimeoutError(VSTError):
    """A job stage ran past its time limit (``VST_JOB_TIMEOUT``, ``VST_COMPARISON_TIMEOUT``) and was stopped."""


class JobCancelledError(VSTError):
    """The visitor left (their page was closed) while their job ran; it stops and leaves nothing behind."""


class FramesTooLargeError(VideoError):
    """The video's frames are larger than this server decodes (``VST_MAX_INPUT_PIXELS``)."""


# ------------------------------------------------------------------------------------------------------ styles


#: ``networks(variants, source, device)``: a style's networks for one job on the video ``source``, by variant.
NetworkBuilder = Callable[[Sequence[str], Path, "torch.device"], dict[str, Stylizer]]
#: Why the temporal model rendered a style that has no fast network, when the fast one was asked for.
NO_FAST = "this style has none, so the temporal model was used"


@dataclass(frozen=True)
class GalleryStyle:
    """An installed style as the gallery shows it. ``has_framewise``: the baseline exists, so both can be compared;
    ``has_fast``: the real-time network exists.

    ``networks``: builds the style's networks for each job (a visitor's own painting, :mod:`vst.app.your_painting`);
    ``None``: the checkpoints of ``variants``, loaded once and shared by all jobs. ``no_fast`` and ``about``: what
    the result text says after a fall-back to the temporal model, and one more sentence about the style."""

    slug: str
    caption: str
    preview: Path  # the gallery image: the painting beside the style's rendering of a photo (see gallery_card)
    variants: dict[str, Path]  # variant -> checkpoint folder
    networks: NetworkBuilder | None = None
    no_fast: str = NO_FAST
    about: str = ""

    @property
    def has_framewise(self) -> bool:
        return "framewise" in self.variants

    @property
    def has_fast(self) -> bool:
        return FAST_VARIANT in self.variants


def choose_network(style: GalleryStyle, realtime: bool) -> str:
    """The variant that renders the main video: ``fast`` when real-time is asked for and installed, else temporal."""
    return FAST_VARIANT if realtime and style.has_fast else "temporal"


def realtime_note(style: GalleryStyle | None, fast: bool = True) -> str:
    """The hint under the *Fast network* checkbox: what renders the selected style with the box as it is now
    (``fast``: ticked), and what the other setting does. It promises no speed: the result says what was measured."""
    if style is None:
        return "Uses a style's fast network where it has one."
    if not style.has_fast:
        return "This style has no fast network, so its full-size temporal model renders it either way."
    if fast:
        return ("The fast network: a much smaller model, compared with its own framewise twin. Untick for the "
                "full-size temporal model (finer, slower).")
    return ("The full-size temporal model, compared with the framewise baseline (finer, slower). Tick for the fast "
            "network.")


def sample_photo() -> np.ndarray:
    """The photo previews are rendered from: scikit-image's ``chelsea`` (a cat; public domain), ``(300, 451, 3)``."""
    from skimage import data  # imported here: scikit-image is slow to import and only needed for missing previews

    return np.ascontiguousarray(data.chelsea())


def render_preview(slug: str, checkpoint: Path, out_dir: Path) -> Path:
    """``<out_dir>/<slug>-<key>.jpg``: the checkpoint's output on :func:`sample_photo`, rendered once and cached."""
    from PIL import Image

    out = Path(out_dir) / f"{slug}-{checkpoint_digest({'temporal': checkpoint})}.jpg"
    if out.is_file():
        return out
    model = load_network(checkpoint)
    image = Stylizer(model, "cpu")(sample_photo()[None])[0]
    with atomic_output(out, overwrite=True) as tmp:
        Image.fromarray(image).save(tmp, format="JPEG", quality=90)
    log.info("rendered the preview of %s into %s", slug, out)
    return out


def style_preview(style: InstalledStyle, previews_dir: Path) -> Path:
    """The style folder's ``preview.jpg`` (what the style's own model made of a sample photo), else a rendered one."""
    for folder in style.variants.values():
        shipped = folder.parent / PREVIEW_NAME
        if shipped.is_file():
            return shipped
    return render_preview(style.slug, style.variants["temporal"], previews_dir)


def style_painting(style: InstalledStyle) -> Path | None:
    """The painting's thumbnail (the catalog entry's ``thumbnail_path``, from its ``style.json``; else the style
    folder's ``painting.jpg``), if the style ships one."""
    if style.style is not None and style.style.thumbnail_path is not None:
        return style.style.thumbnail_path
    for folder in style.variants.values():
        if (folder.parent / PAINTING_NAME).is_file():
            return folder.parent / PAINTING_NAME
    return None


#: Width / height of every gallery card, so the cards fill their frames alike (no blank bands above or below).
CARD_RATIO = 2.6
#: Bumped when the cards are drawn differently, so that cached ones are drawn again.
CARD_VERSION = 2


def _cover(image: Any, width: int, height: int) -> Any:
    """``image`` scaled to cover ``width`` × ``height`` and cropped to it around its centre (a PIL image)."""
    from PIL import Image

    scale = max(width / image.width, height / image.height)
    size = (max(width, round(image.width * scale)), max(height, round(image.height * scale)))
    scaled = image.resize(size, Image.LANCZOS)
    left, top = (size[0] - width) // 2, (size[1] - height) // 2
    return scaled.crop((left, top, left + width, top + height))


def card_image(painting: Image.Image | None, photo: Image.Image, height: int = 240) -> Image.Image:
    """A gallery card (RGB, :data:`CARD_RATIO` wide): ``painting`` (left, whole, ``height`` px high; at most 60% of
    the card) beside ``photo``, what the style makes of a photo (right, cropped around its centre to fill the rest),
    with a thin gap; ``photo`` alone without a painting."""
    from PIL import Image

    width, gap = round(height * CARD_RATIO), 6
    card = Image.new("RGB", (width, height), (255, 255, 255))
    photo = photo.convert("RGB")
    if painting is None:
        card.paste(_cover(photo, width, height), (0, 0))
    else:
        art = painting.convert("RGB")
        art_width = min(round(art.width * height / art.height), round(width * 0.6))
        card.paste(_cover(art, art_width, height), (0, 0))
        card.paste(_cover(photo, width - art_width - gap, height), (art_width + gap, 0))
    return card


def gallery_card(slug: str, painting: Path | None, preview: Path, out_dir: Path, height: int = 240) -> Path:
    """``<out_dir>/<slug>-card-<key>.jpg``: :func:`card_image` of the painting's file (if the style ships one) and
    the preview's. Made once and cached."""
    from PIL import Image

    sources = [p for p in (painting, preview) if p is not None]
    stamp = "|".join([f"v{CARD_VERSION}"] + [f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sources])
    out = Path(out_dir) / f"{slug}-card-{hashlib.sha256(stamp.encode()).hexdigest()[:12]}.jpg"
    if out.is_file():
        return out
    with contextlib.ExitStack() as stack:
        photo = stack.enter_context(Image.open(preview))
        art = stack.enter_context(Image.open(painting)) if painting is not None else None
        card = card_image(art, photo, height)
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    with atomic_output(out, overwrite=True) as tmp:
        card.save(tmp, format="JPEG", quality=88)
    return out


def _usable_variants(style: InstalledStyle) -> InstalledStyle:
    """``style`` without the variants whose checkpoint fails :func:`vst.checkpoint_check.check_checkpoint` (headers
    only, nothing loaded); each one left out is logged as an error with the reason."""
    variants = {}
    for variant, folder in style.variants.items():
        try:
            check_checkpoint(folder)
        except CheckpointError as err:
            log.error("the app leaves out '%s' (%s): %s", style.slug, variant, err)
            continue
        variants[variant] = folder
    return InstalledStyle(style.slug, style.caption, variants, style.style)


def gallery_styles(config: AppConfig) -> list[GalleryStyle]:
    """Installed styles that have the temporal model (what the app renders), in catalog order, each with its gallery
    image (:func:`gallery_card`: the painting beside the style's rendering of a photo). The styles listed from the
    Hub (``VST_HUB_STYLES``) are downloaded first when the Hub is reachable."""
    found = []
    for style in installed_styles(download=True):
        style = _usable_variants(style)
        if "temporal" not in style.variants:
            log.warning("the app skips '%s': only its %s variant is installed", style.slug, ", ".join(style.variants))
            continue
        preview = style_preview(style, config.previews_dir)
        card = gallery_card(style.slug, style_painting(style), preview, config.previews_dir)
        found.append(GalleryStyle(style.slug, style.caption, card, dict(style.variants)))
    return found


NO_STYLE_MESSAGE = (
    "**No style is installed yet.** This app only shows trained styles, never an untrained network. Train one with "
    "`python -m training train --style-image painting.jpg --name my-style` (and `--framewise` for the baseline), "
    "export it with `python -m training export --slug starry-night ...` into `vst/checkpoints/<slug>/` (or point "
    "`VST_CHECKPOINT_DIR` at the folder), then restart the app. See the README's *Training* section."
)


# ------------------------------------------------------------------------------------------------------ jobs


class JobSpace:
    """Per-job output folders ``<root>/<random id>/``; folders older than ``ttl_seconds`` are deleted by
    :meth:`prune`, which :meth:`new` runs first and the thread of :meth:`start_expiry` every ``ttl_seconds / 4``
    (between 1 s and 60 s), so a visitor's result stops being served about a TTL after it was made, even on an idle
    server. The ids are random (UUID4), so nobody can guess another job's files."""

    def __init__(self, root: Path, ttl_seconds: float) -> None:
        self.root = Path(root)
        self.ttl_seconds = ttl_seconds
        self._expiry: threading.Thread | None = None

    def new(self) -> tuple[str, Path]:
        self.prune()
        job_id = uuid.uuid4().hex
        folder = self.root / job_id
        folder.mkdir(parents=True)
        return job_id, folder

    def start_expiry(self) -> threading.Thread:
        """Run :meth:`prune` in a daemon thread, every ``ttl_seconds / 4`` (between 1 s and 60 s)."""
        if self._expiry is None:
            self._expiry = expiry_thread("vst-job-expiry", self.ttl_seconds, self.prune,
                                         f"old job folders in {self.root}")
        return self._expiry

    def prune(self, now: float | None = None) -> int:
        """Delete job folders last modified more than ``ttl_seconds`` ago, except those a running job is writing to
        (they hold a partial file); returns how many were deleted."""
        if not self.root.is_dir():
            return 0
        cutoff = (time.time() if now is None else now) - self.ttl_seconds
        removed = 0
        for folder in self.root.iterdir():
            try:
                if folder.is_dir() and folder.stat().st_mtime < cutoff and not any(folder.glob(PARTIAL_GLOB)):
                    _forget_folder(folder)
                    shutil.rmtree(folder)
                    removed += 1
            except FileNotFoundError:  # another thread pruned it first
                continue
        if removed:
            log.info("pruned %d old job folder(s) from %s", removed, self.root)
        return removed

    def remove(self, folder: Path) -> None:
        """Delete one job folder (only if it lies in this space)."""
        folder = Path(folder)
        if folder.parent.resolve() != self.root.resolve() or not folder.is_dir():
            return
        try:
            _forget_folder(folder)
            shutil.rmtree(folder)
        except OSError as err:  # e.g. removed by a concurrent prune; the next prune retries anything left
            log.warning("could not delete the job folder %s: %s", folder, err)


def expiry_thread(name: str, ttl_seconds: float, prune: Callable[[], object], what: str) -> threading.Thread:
    """Start a daemon thread that calls ``prune`` every ``ttl_seconds / 4`` (between 1 s and 60 s), so files expire at
    most a quarter TTL (a minute at most) late; an ``OSError`` is logged as one line (naming ``what``) and retried."""
    interval = min(60.0, max(1.0, ttl_seconds / 4))

    def work() -> None:
        while True:
            time.sleep(interval)
            try:
                prune()
            except OSError as err:
                log.warning("could not delete %s: %s", what, err)

    thread = threading.Thread(target=work, name=name, daemon=True)
    thread.start()
    return thread


def _forget_folder(folder: Path) -> None:
    """Delete Gradio's served copies of a job folder's files (see :func:`vst.app.served.forget_served`)."""
    for path in folder.iterdir():
        if path.is_file():
            forget_served(path)


class ModelCache:
    """Loaded networks, one :class:`Stylizer` per (style, variant), shared by all jobs (thread-safe)."""

    def __init__(self, device: str | None, *, compile: bool = False) -> None:
        self.device = select_device(device)
        self.compile = compile
        self._lock = threading.Lock()
        self._stylizers: dict[tuple[str, str], Stylizer] = {}
        #: (slug, variant, scale) → (the full-scale stylizer it shares its network with, the scaled stylizer)
        self._scaled: dict[tuple[str, str, float], tuple[Stylizer, Stylizer]] = {}
        self._choices: dict[tuple[str, str, int, int, float], ScaleChoice] = {}
        self._folders: dict[tuple[str, str], Path] = {}

    def stylizer(self, slug: str, variant: str, folder: Path, scale: float = 1.0) -> Stylizer:
        """The shared :class:`Stylizer` of ``slug``'s ``variant`` network at internal ``scale`` (see
        :class:`vst.pipeline.Stylizer`); :class:`CheckpointError` with a visitor's line if it cannot be loaded."""
        if scale != 1.0:
            full = self.stylizer(slug, variant, folder)
            key = (slug, variant, scale)
            with self._lock:
                if self._scaled.get(key, (None, None))[0] is not full:
                    self._scaled[key] = (full, Stylizer(full.model, self.device, compile=self.compile, scale=scale))
                return self._scaled[key][1]
        key = (slug, variant)
        with self._lock:
            if key not in self._stylizers or self._folders[key] != folder:
                try:
                    network = load_network(folder)
                except CheckpointError as err:  # damaged since start-up: the visitor gets no server path
                    log.error("cannot load '%s' (%s): %s", slug, variant, err)
                    raise CheckpointError(f"The style '{slug}' cannot be used right now: its {variant} model "
                                          f"is damaged on this server. Please pick another style.") from None
                self._stylizers[key] = Stylizer(network, self.device, compile=self.compile)
                self._folders[key] = folder
            return self._stylizers[key]

    def realtime_choice(self, slug: str, folder: Path, width: int, height: int, fps: float) -> ScaleChoice:
        """The internal scale at which ``slug``'s fast network keeps up with a ``width``×``height`` clip at ``fps``
        on this server (:func:`vst.realtime.choose_scale`: measured once per style, size and rate, then reused)."""
        key = (slug, str(folder), width, height, round(fps, 3))
        with self._lock:
            if key in self._choices:
                return self._choices[key]
        network = self.stylizer(slug, FAST_VARIANT, folder).model
        choice = choose_scale(network, width, height, fps, device=str(self.device))
        log.info("%s at %dx%d, %.2f fps: %s (%.1f fps measured)", slug, width, height, fps,
                 choice.describe(width, height), 1 / choice.seconds_per_frame)
        with self._lock:
            self._choices[key] = choice
        return choice


class JobActivity:
    """How many stylize jobs are running now (thread-safe), so background work (the showcase render) can wait for the
    server to be idle instead of competing with visitors."""

    def __init__(self) -> None:
        self._running = 0
        self._idle = threading.Condition()

    @contextlib.contextmanager
    def running(self) -> Iterator[None]:
        """Counts the block as one running job."""
        with self._idle:
            self._running += 1
        try:
            yield
        finally:
            with self._idle:
                self._running -= 1
                self._idle.notify_all()

    @property
    def busy(self) -> bool:
        return self._running > 0

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block while a job runs; False if still busy after ``timeout`` seconds."""
        with self._idle:
            return self._idle.wait_for(lambda: self._running == 0, timeout)


def speed_text(frames: int, seconds: float, clip_fps: float) -> str:
    """The measured speed against the clip's own frame rate, e.g. ``rendered at 24.3 fps, faster than the clip's 20
    fps: real time`` or ``rendered at 6.1 fps, slower than the clip's 25 fps``: "real time" is said only when the
    render kept up with the clip."""
    if not (seconds > 0 and math.isfinite(seconds)):
        return "rendered (speed not measurable)"
    fps = frames / seconds
    shown = f"{fps:.2f}" if fps < 1 else f"{fps:.1f}"
    if 0 < clip_fps and fps < clip_fps <= float(shown):  # rounded up to the clip's rate: rounded down, it reads short
        shown = f"{math.floor(fps * 10 + 1e-9) / 10:.1f}"
    if not clip_fps > 0:
        return f"rendered at {shown} fps"
    clip = f"the clip's {round(clip_fps):d} fps" if abs(clip_fps - round(clip_fps)) < 0.005 else \
        f"the clip's {clip_fps:.2f} fps"
    if fps < clip_fps:
        return f"rendered at {shown} fps, slower than {clip}"
    if float(shown) > clip_fps:
        return f"rendered at {shown} fps, faster than {clip}: real time"
    return f"rendered at {shown} fps, as fast as {clip}: real time"


#: (network, baseline) pairs the blind vote can show: the same architecture trained with and without the temporal
#: loss.
FAIR_PAIRS: tuple[tuple[str, str], ...] = (("temporal", "framewise"), (FAST_VARIANT, FAST_FRAMEWISE_VARIANT))


def baseline_for(style: GalleryStyle, variant: str) -> str | None:
    """The variant a result of ``variant`` is compared with, like with like: the fast network's framewise twin for
    the fast network (the full-size framewise model when the style has no twin), the framewise model for the
    temporal one; ``None`` when the style has neither."""
    if variant == FAST_VARIANT and FAST_FRAMEWISE_VARIANT in style.variants:
        return FAST_FRAMEWISE_VARIANT
    return "framewise" if style.has_framewise else None


@dataclass(frozen=True)
class StylizeOutcome:
    """A stylize job as the visitor sees it: the delivered video, then (later) the comparison with its baseline.

    ``video`` is the main output, rendered by ``variant`` (``temporal`` or ``fast``); ``realtime``: the visitor asked
    for the fast network (so a fallback to the temporal model can be told). ``baseline`` is the comparison video,
    rendered by ``baseline_variant`` (:func:`baseline_for`). ``result``: what the render measured (in real-time mode,
    frames, size and flicker of the comparison pass once it is done). ``video_seconds``: how long the main video took
    to be ready; ``clip_fps``: the clip's frame rate; ``has_sound``: the upload has an audio track (kept in the
    output). ``pending``: the comparison is still being rendered; ``comparison_error``: the comparison failed (one
    line) while the delivered video stays.
    """

    job_id: str
    folder: Path
    style: str
    variant: str
    realtime: bool
    video: Path
    baseline: Path | None
    baseline_variant: str | None
    result: RenderResult
    video_seconds: float
    clip_fps: float = 0.0
    has_sound: bool = False
    pending: bool = False
    comparison_error: str | None = None
    digest: str = ""
    #: In real-time mode: the internal resolution chosen to keep up (:meth:`vst.realtime.ScaleChoice.describe`)
    scale_note: str = ""
    no_fast: str = NO_FAST
    about: str = ""

    @property
    def label(self) -> str:
        """The main network's name in the UI, e.g. ``fast``."""
        return VARIANT_LABELS[self.variant]

    @property
    def fell_back(self) -> bool:
        """Real-time was asked for, but the style has no fast network, so the temporal model rendered it."""
        return self.realtime and self.variant != FAST_VARIANT

    @property
    def twin_missing(self) -> bool:
        """The fast network had to be compared with the full-size framewise model: the style has no fast twin."""
        return self.variant == FAST_VARIANT and self.baseline_variant == "framewise"

    @property
    def compared(self) -> bool:
        """The comparison video exists (not pending, not failed, a baseline installed)."""
        return self.baseline is not None and not self.pending and self.comparison_error is None

    def comparison_html(self) -> str | None:
        if not self.compared or self.baseline_variant is None:
            return None
        assert self.baseline is not None
        return slider_html(self.video, self.baseline, width=self.result.width, height=self.result.height,
                           label=self.label, baseline_label=VARIANT_LABELS[self.baseline_variant], url=media_url)

    def flicker(self) -> pd.DataFrame:
        return flicker_frame(self.result) if self.compared else flicker_frame(RenderResult({}, 0, 0.0, 0, 0))

    def reading(self) -> str:
        """The flicker plot's one-line reading, e.g. ``58% less flicker than framewise``; empty without a plot."""
        if not self.compared or self.baseline_variant is None:
            return ""
        return flicker_reading(self.result, self.variant, self.baseline_variant)

    def pair_range(self) -> list[float]:
        """The flicker plot's x-axis: from the first frame pair to the last (1 … frames − 1)."""
        return [1, max(2, self.result.frames - 1)]

    def plot_caption(self) -> str:
        """The flicker plot's caption (Markdown): how to read it and, where a line has gaps, what they are."""
        errors = self.result.warping_errors.get(self.variant, [])
        gaps = int(np.isnan(np.asarray(errors, dtype=float)).sum()) if errors else 0
        caption = "**Flicker per frame pair**: the lower a line, the steadier that network's video."
        if gaps:
            pairs = "1 frame pair" if gaps == 1 else f"{gaps} frame pairs"
            caption += (f" The gaps are {pairs} whose motion could not be followed (a cut or very fast motion): "
                        f"they are left out of the figures above.")
        return caption

    def network_line(self) -> str:
        """Which network rendered the video (and why, after a fallback) and one plain speed figure."""
        fallback = f" · The fast network was asked for, but {self.no_fast}." if self.fell_back else ""
        frames = self.result.frames
        sound = " · its sound kept" if self.has_sound else ""
        together = (" (together with the framewise baseline)" if self.variant != FAST_VARIANT and self.baseline
                    else "")
        about = f" · {self.about}" if self.about else ""
        scale = f" · {self.scale_note[0].upper()}{self.scale_note[1:]}" if self.scale_note else ""
        return (f"Network: **{self.label}** · {speed_text(frames, self.video_seconds, self.clip_fps)}{together}"
                f"{scale}{sound}{fallback}{about}")

    def summary(self) -> str:
        """The result text (Markdown): :meth:`network_line`, then the comparison's state or reading."""
        size = f"{self.result.frames} frames · {self.result.width}×{self.result.height}"
        baseline = VARIANT_LABELS.get(self.baseline_variant or "framewise", "framewise")
        if self.baseline is None:
            stats = f"{size} · this style's framewise baseline is not installed, so there is nothing to compare with"
        elif self.comparison_error is not None:
            stats = f"Your video is ready; the flicker comparison was not made: {self.comparison_error}"
        elif self.pending:  # the status line above says what is being rendered now
            stats = f"{size} · the flicker comparison with the {baseline} baseline follows"
        else:
            stats = f"**{self.reading()}** · {size}"
            if self.twin_missing:
                stats += (" · compared with the full-size framewise model: this style has no fast framewise twin "
                          "yet")
        return f"{self.network_line()}\n\n{stats}"

    def pair(self) -> Pair | None:
        """This result as an A/B pair for its visitor only, once its comparison is rendered and fair (see
        :data:`FAIR_PAIRS`): the temporal model against the framewise baseline, or the fast network against its
        framewise twin; ``None`` otherwise (e.g. the fast network against the full-size framewise model)."""
        if not self.compared or (self.variant, self.baseline_variant) not in FAIR_PAIRS or not self.digest:
            return None
        assert self.baseline is not None
        return Pair(self.style, f"upload-{self.job_id}", self.video, self.baseline, own=True,
                    checkpoints=self.checkpoints, network="fast" if self.variant == FAST_VARIANT else "full-size")

    @property
    def checkpoints(self) -> str:
        """:func:`pair_digest` of the two models compared (what a vote on this result's pair judges)."""
        return self.digest


def pair_digest(style: GalleryStyle, main: str, baseline: str | None) -> str:
    """:func:`checkpoint_digest` of the two checkpoints a result compares, when they make a fair blind pair (the
    temporal model and the framewise baseline, or the fast network and its framewise twin); ``""`` otherwise."""
    if (main, baseline) in FAIR_PAIRS and all(v in style.variants for v in (main, baseline)):
        return checkpoint_digest(style.variants, (main, baseline))  # type: ignore[arg-type]
    return ""


def current_digests(styles: Sequence[GalleryStyle]) -> dict[str, list[str]]:
    """Per style, the :func:`pair_digest` of each fair pair it has installed now (what the vote results count)."""
    digests = {}
    for style in styles:
        found = [digest for main, baseline in FAIR_PAIRS if (digest := pair_digest(style, main, baseline))]
        if found:
            digests[style.slug] = found
    return digests


def video_seconds(info: VideoInfo) -> float | None:
    """The video's duration in seconds: the container's, else frames / fps; ``None`` if unknown."""
    if info.duration is not None:
        return info.duration
    if info.num_frames is not None and info.fps > 0:
        return info.num_frames / info.fps
    return None


class StylizeService:
    """Runs stylize jobs within the limits of an :class:`AppConfig`."""

    def __init__(self, config: AppConfig, styles: Sequence[GalleryStyle],
                 activity: JobActivity | None = None) -> None:
        self.config = config
        self.styles = {s.slug: s for s in styles}
        self.models = ModelCache(config.device, compile=config.compile)
        self.jobs = JobSpace(config.jobs_dir, config.cache_ttl_minutes * 60)
        self.activity = JobActivity() if activity is None else activity
        #: The jobs running and waiting, with their estimated waits (:meth:`watch`).
        self.line = JobLine(config.concurrency, config.queue_size)

    def check_style(self, style: str | GalleryStyle | None) -> GalleryStyle:
        """The installed style ``style`` names (or ``style`` itself, e.g. a visitor's painting);
        :class:`NoStyleSelectedError` otherwise."""
        if isinstance(style, GalleryStyle):
            return style
        if not style:
            raise NoStyleSelectedError("Pick a style in the gallery first.")
        if style not in self.styles:
            raise NoStyleSelectedError(f"The style '{style}' is not installed here; pick one from the gallery.")
        return self.styles[style]

    def check_video(self, video: str | os.PathLike[str] | None) -> VideoInfo:
        """Probe the upload and apply the duration and frame-size limits; :class:`VideoError` with a friendly line
        otherwise. Frames beyond ``max_input_pixels`` are refused before any is decoded (an 8K frame alone is
        50 MB, and the decoder holds several)."""
        if video is None or not str(video):
            raise NoVideoError("Upload a video (or pick an example clip) first.")
        try:
            info = probe(video)
        except VideoError as err:
            raise VideoError(f"This file cannot be used as a video: {_without_path(str(err), video)}") from None
        try:  # the library's frame-size check, before any network is loaded
            check_frame_size(Path(video).name, info.width, info.height, self.config.max_side)
        except VideoError as err:
            raise VideoError(f"This file cannot be used as a video: {err}") from None
        seconds = video_seconds(info)
        if seconds is not None and seconds > self.config.max_seconds + 0.05:
            raise VideoTooLongError(f"This video is {seconds:.1f} s long; this server stylizes videos of up to "
                                    f"{self.config.max_seconds:g} s. Please trim it and try again.")
        if info.width * info.height > self.config.max_input_pixels:
            raise FramesTooLargeError(f"This video's frames are {info.width}×{info.height}; this server takes frames "
                                      f"of up to {self.config.max_input_pixels / 1e6:.1f} megapixels. Please export it "
                                      f"at a smaller size (720p is plenty).")
        return info

    def plan(self, style: GalleryStyle, info: VideoInfo, realtime: bool) -> tuple[str, str | None, list[Stage]]:
        """The main variant (:func:`choose_network`), its baseline (:func:`baseline_for`) and the render stages a job
        on ``info`` will run (for the wait estimates): one pass of both with the temporal model; the fast video, then
        the baseline alone, in real-time mode."""
        main = choose_network(style, realtime)
        baseline = baseline_for(style, main)
        seconds = min(video_seconds(info) or self.config.max_seconds, self.config.max_seconds)
        frames = info.num_frames if info.num_frames else max(1, round(seconds * max(info.fps, 1.0)))
        scale = min(1.0, self.config.max_side / max(info.width, info.height))
        pixels = round(info.width * scale) * round(info.height * scale)
        if main == FAST_VARIANT and baseline is not None:
            stages = [Stage((main,), frames, pixels), Stage((baseline,), frames, pixels)]
        else:
            stages = [Stage(tuple([main] + ([baseline] if baseline else [])), frames, pixels)]
        return main, baseline, stages

    def run(self, video: str | os.PathLike[str] | None, style: str | GalleryStyle | None,
            progress: JobProgress | None = None,
            *, realtime: bool = False) -> StylizeOutcome:
        """The finished job of :meth:`stages` (its last outcome)."""
        outcome = None
        for outcome in self.stages(video, style, progress, realtime=realtime):
            pass
        assert outcome is not None  # stages() always yields
        return outcome

    def watch(self, video: str | os.PathLike[str] | None, style: str | GalleryStyle | None, *,
              realtime: bool = False, interval: float = 1.0) -> Iterator[JobStatus | StylizeOutcome]:
        """One visitor's job as it goes: checked at once (a :class:`VSTError` before anything else), then its place in
        this server's line (:class:`JobStatus` ``waiting``, every ``interval`` seconds, with the estimated wait),
        then :meth:`stages` in a worker thread: ``starting``, the render's progress (``video``, ``comparison``: at
        most one status per ``interval / 2``) and each :class:`StylizeOutcome` as soon as it exists. A failure of the
        job is raised here. Closing the iterator early (the visitor left) stops the job at its next frames."""
        chosen = self.check_style(style)
        info = self.check_video(video)
        main, baseline, planned = self.plan(chosen, info, realtime)
        ticket = self.line.join(planned)  # QueueFullError when the line is full
        cancel = threading.Event()
        worker: threading.Thread | None = None
        try:
            while not self.line.wait(ticket, interval):
                yield JobStatus(ticket.id, "waiting", place=self.line.place(ticket))
            yield JobStatus(ticket.id, "starting")
            events: queue.Queue[object] = queue.Queue()
            baseline_label = VARIANT_LABELS.get(baseline or "", "")
            stage = "video"

            def report(done: int, total: int | None, fps: float, left: float | None) -> None:
                rest = planned[1:] if stage == "video" else []
                later = self.line.speed.estimate(rest) if rest else 0.0
                if later is None and left is not None and fps > 0 and rest and rest[0].variants == (
                        FAST_FRAMEWISE_VARIANT,):  # the fast twin costs what the fast network did
                    later = (done / fps + left) if rest[0].frames else None
                self.line.report(ticket, None if left is None or later is None else left + later)
                events.put(JobStatus(ticket.id, stage, done, total, fps, left,  # type: ignore[arg-type]
                                     baseline=baseline_label))

            def work() -> None:
                nonlocal stage
                try:
                    for outcome in self._stages(chosen, info, Path(str(video)), realtime, report, cancel):
                        if outcome.pending:
                            stage = "comparison"
                        events.put(outcome)
                except BaseException as err:  # noqa: BLE001 (handed to the visitor's iterator, raised there)
                    events.put(err)
                finally:
                    self.line.leave(ticket)
                    events.put(_DONE)

            worker = threading.Thread(target=work, name=f"vst-job-{ticket.id[:8]}", daemon=True)
            worker.start()
            shown = 0.0
            latest: JobStatus | None = None
            while True:
                try:
                    item = events.get(timeout=interval / 2)
                except queue.Empty:
                    item = None
                if isinstance(item, JobStatus):
                    latest = item
                if latest is not None and time.monotonic() - shown >= interval / 2:
                    yield latest
                    latest, shown = None, time.monotonic()
                if item is _DONE:
                    return
                if isinstance(item, BaseException):
                    raise item
                if isinstance(item, StylizeOutcome):
                    latest = None
                    yield item
                    if item.pending:  # the status line moves on to the comparison at once
                        yield JobStatus(ticket.id, "comparison", 0, item.result.frames, baseline=baseline_label)
                        shown = time.monotonic()
        finally:
            cancel.set()  # the visitor left early: the worker stops at its next frames
            if worker is None:
                self.line.leave(ticket)

    def stages(self, video: str | os.PathLike[str] | None, style: str | GalleryStyle | None,
               progress: JobProgress | None = None,
               *, realtime: bool = False) -> Iterator[StylizeOutcome]:
        """Stylize ``video`` with ``style``'s main network (see :func:`choose_network`; ``realtime`` asks for the fast
        one) and its baseline (:func:`baseline_for`), within the size, length and time limits; yields each outcome as
        it is ready.

        With the temporal model both networks run from one decode, within ``job_timeout``: one outcome. In real-time
        mode the fast video is rendered alone first (within ``job_timeout``, its flicker measured on the way) and
        yielded as a ``pending`` outcome; then the comparison pass renders the baseline alone (same frames, same
        flicker meter: the fast network's framewise twin costs what the fast network did) within its own budget,
        ``comparison_timeout``. If that pass fails, times out or is stopped, the delivered video stays: the
        last outcome carries ``comparison_error`` and the failure is logged with the job id. This runs now, in this
        thread, outside the line (:meth:`watch` waits for a place first).
        """
        chosen = self.check_style(style)
        info = self.check_video(video)
        yield from self._stages(chosen, info, Path(str(video)), realtime, progress, None)

    def _stages(self, chosen: GalleryStyle, info: VideoInfo, source: Path, realtime: bool,
                progress: JobProgress | None, cancel: threading.Event | None) -> Iterator[StylizeOutcome]:
        """:meth:`stages` of a checked style and video; ``cancel`` stops the render at its next frames."""
        main, baseline, _ = self.plan(chosen, info, realtime)
        scale_note = ""
        if main == FAST_VARIANT and baseline == "framewise":
            log.warning("%s has no %s network: the fast network is compared with the full-size framewise model "
                        "(slower; train the twin with `python -m training distill --framewise`)", chosen.slug,
                        FAST_FRAMEWISE_VARIANT)
        variants = [main] + ([baseline] if baseline is not None else [])
        if chosen.networks is not None:  # built for this job (a visitor's painting), never shared
            stylizers = chosen.networks(variants, source, self.models.device)
        else:
            scale = 1.0
            if main == FAST_VARIANT:  # real time: the internal resolution that keeps up here, measured
                width, height = fit_size(info.width, info.height, self.config.max_side)
                choice = self.models.realtime_choice(chosen.slug, chosen.variants[main], width, height, info.fps)
                scale, scale_note = choice.scale, choice.describe(width, height)
            # the baseline at the same scale: the comparison shows what the temporal term did, nothing else
            stylizers = {variant: self.models.stylizer(chosen.slug, variant, chosen.variants[variant], scale)
                         for variant in variants}
        # a visitor's painting: the any-painting checkpoints' digest (public weights; nothing of the picture)
        digest = pair_digest(chosen, main, baseline)
        job_id, folder = self.jobs.new()
        outputs = {variant: folder / output_name(source, chosen.slug, variant) for variant in stylizers}

        def outcome(result: RenderResult, seconds: float, **state: object) -> StylizeOutcome:
            return StylizeOutcome(job_id, folder, chosen.slug, main, realtime, outputs[main],
                                  outputs.get(baseline or ""), baseline, result, seconds, clip_fps=info.fps,
                                  has_sound=info.has_audio, digest=digest, no_fast=chosen.no_fast,
                                  about=chosen.about, scale_note=scale_note, **state)  # type: ignore[arg-type]

        one_pass = main != FAST_VARIANT or baseline is None  # the temporal model: video and comparison together
        try:
            first = self._render(source, info, {v: (stylizers[v], outputs[v]) for v in (variants if one_pass
                                                                                        else [main])},
                                 budget=self.config.job_timeout, stage="video",
                                 measure_flicker=baseline is not None, progress=progress, cancel=cancel)
        except BaseException as err:
            self.jobs.remove(folder)
            if isinstance(err, VideoError) and not isinstance(err, VideoTooLongError):
                raise VideoError(f"This video could not be processed: {_without_path(str(err), source)}") from None
            raise
        log.info("job %s: %s (%s%s) delivered, %d frames at %.1f fps", job_id, chosen.slug, main,
                 ", no fast network" if realtime and main != FAST_VARIANT else "", first.frames, first.fps)
        if one_pass:
            yield outcome(first, first.seconds)
            return
        yield outcome(first, first.seconds, pending=True)
        # The delivered video is never taken back from here on: the comparison fails on its own.
        try:  # the baseline alone: the fast video's flicker was measured while it rendered (the meter is cheap)
            second = self._render(source, info, {baseline: (stylizers[baseline], outputs[baseline])},
                                  budget=self.config.comparison_timeout, stage="comparison",
                                  measure_flicker=True, progress=progress, cancel=cancel)
        except VSTError as err:
            log.warning("job %s: the comparison failed after the video was delivered: %s", job_id, err)
            yield outcome(first, first.seconds, comparison_error=str(err))
            return
        except Exception as err:  # noqa: BLE001 (any failure here must not take the delivered video back)
            log.exception("job %s: the comparison failed after the video was delivered", job_id)
            yield outcome(first, first.seconds, comparison_error=f"an internal error ({type(err).__name__})")
            return
        result = dataclasses.replace(second, outputs={**first.outputs, **second.outputs},
                                     warping_errors={**first.warping_errors, **second.warping_errors},
                                     network_seconds={**first.network_seconds, **second.network_seconds})
        log.info("job %s: comparison with %s ready in %.1f s", job_id, baseline, second.seconds)
        yield outcome(result, first.seconds)

    def _render(self, source: Path, info: VideoInfo, targets: Mapping[str, tuple[Stylizer, Path | None]], *,
                budget: float, stage: str, measure_flicker: bool, progress: JobProgress | None,
                cancel: threading.Event | None = None) -> RenderResult:
        """:func:`render_video` of ``source`` within ``budget`` seconds (counted from now) and this server's length
        limit, reporting to ``progress``; :class:`JobTimeoutError` naming the ``stage`` past its budget,
        :class:`JobCancelledError` once ``cancel`` is set. The time it took goes into the line's speed log."""
        max_frames = math.ceil(self.config.max_seconds * max(info.fps, 1.0) * 1.1) + 1
        started = time.monotonic()

        def on_frames(done: int, total: int | None) -> None:
            now = time.monotonic()
            if cancel is not None and cancel.is_set():
                raise JobCancelledError("The job was stopped: its page was closed.")
            if now - started > budget:
                if stage == "video":
                    raise JobTimeoutError(f"Stopped after {now - started:.0f} s: this server allows {budget:g} s per "
                                          f"video. Try a shorter or smaller clip.")
                raise JobTimeoutError(f"it stopped after {now - started:.0f} s (this server allows {budget:g} s "
                                      f"for it).")
            if done > max_frames:
                raise VideoTooLongError(f"This video is longer than this server's limit of "
                                        f"{self.config.max_seconds:g} s. Please trim it and try again.")
            if progress is not None:
                fps = done / (now - started) if now > started else 0.0
                left = (total - done) / fps if total and fps > 0 else None
                progress(done, total, fps, left)

        with self.activity.running():
            result = render_video(source, targets, max_side=self.config.max_side, measure_flicker=measure_flicker,
                                  progress=on_frames, meter=comparison_meter())
        self.line.speed.record(Stage(tuple(targets), result.frames, result.width * result.height), result.seconds)
        return result


#: The end of a job's events (:meth:`StylizeService.watch`).
_DONE = object()


def comparison_meter() -> WarpingErrorMeter:
    """The app's flicker meter: optical flow at most 360 px on the long side with DIS's ``fast`` preset (about 5 ms
    a pair instead of the ``medium`` preset's 27 ms at 640×360), shared by both videos of the comparison, so the
    comparison costs about what the video cost. The benchmarks measure with the default, finer meter."""
    return WarpingErrorMeter(flow_max_side=360, preset="fast")


def output_name(source: Path, style: str, variant: str) -> str:
    """E.g. ``holiday_starry-night.mp4`` (temporal), ``holiday_starry-night_fast.mp4`` and
    ``holiday_starry-night_framewise.mp4``: the download's name."""
    stem = "".join(c if c.isalnum() or c in "-_" else "-" for c in source.stem)[:60].strip("-_") or "video"
    return f"{stem}_{style}.mp4" if variant == "temporal" else f"{stem}_{style}_{variant}.mp4"


def _without_path(message: str, path: str | os.PathLike[str]) -> str:
    """A library message with the server-side path of the upload replaced by its file name."""
    return message.replace(str(path), Path(path).name) if str(path) in message else message


# ------------------------------------------------------------------------------------------------------ A/B votes


@dataclass(frozen=True)
class Pair:
    """One style on one clip, rendered by one network trained with the temporal loss (``temporal``) and the same
    network trained frame by frame (``framewise``). ``network``: which ones (:data:`vst.app.votes.NETWORKS`), the
    full-size models or the fast network and its framewise twin. ``own``: the visitor's own upload (shown only to
    them)."""

    style: str
    clip: str
    temporal: Path
    framewise: Path
    own: bool = False
    checkpoints: str = ""  # :func:`checkpoint_digest` of the two models (recorded with each vote)
    network: str = "full-size"

    def label(self, variant: str) -> str:
        """The name of the network that rendered ``variant`` (``temporal`` or ``framewise``), e.g. ``fast``."""
        if self.network == "fast":
            return VARIANT_LABELS[FAST_VARIANT if variant == "temporal" else FAST_FRAMEWISE_VARIANT]
        return VARIANT_LABELS[variant]

    @classmethod
    def from_showcase(cls, pair: ABPair) -> Pair:
        return cls(pair.style, pair.clip, pair.temporal, pair.framewise, checkpoints=pair.checkpoints)

    def path(self, variant: str) -> Path:
        return self.temporal if variant == "temporal" else self.framewise

    def available(self) -> bool:
        return self.temporal.is_file() and self.framewise.is_file()


@dataclass(frozen=True)
class Presentation:
    """A pair as shown: which variant is on the left (random, hidden until the visitor has voted)."""

    pair: Pair
    left_variant: str

    @property
    def right_variant(self) -> str:
        return VARIANTS[1 - VARIANTS.index(self.left_variant)]

    @property
    def left(self) -> Path:
        return self.pair.path(self.left_variant)

    @property
    def right(self) -> Path:
        return self.pair.path(self.right_variant)

    def caption(self) -> str:
        if self.pair.style == YOUR_PAINTING:  # a visitor's own painting: only ever offered to that visitor
            return ("**Your painting** on your own video (our steady network and the framewise teacher). Which one "
                    "flickers less and looks better?")
        style = STYLES[self.pair.style]
        what = "your own video" if self.pair.own else f"the clip “{self.pair.clip}”"
        networks = " (the fast network and its framewise twin)" if self.pair.network == "fast" else ""
        return f"**{style.title}** ({style.artist}) on {what}{networks}. Which one flickers less and looks better?"


@dataclass
class ABState:
    """One visitor's A/B state, kept in their Gradio session only: anonymous id and the pair on screen."""

    session: str | None = None
    current: Presentation | None = None
    voted: bool = False

    def ensure_session(self, browser_id: object = None) -> str:
        """The anonymous id: ``browser_id`` (kept in the visitor's browser) when it is a valid one, else a new one."""
        if self.session is None:
            self.session = browser_id if _valid_id(browser_id) else uuid.uuid4().hex
        return self.session


def _valid_id(value: object) -> bool:
    return isinstance(value, str) and 8 <= len(value) <= 64 and all(c in "0123456789abcdef-" for c in value)


#: Left/right coin flips and showcase picks (os.urandom based, thread-safe, never seeded).
_RANDOM = random.SystemRandom()


class Showcase:
    """The pre-rendered A/B pairs (see :mod:`vst.app.showcase`): where they are, how they are rendered, and a background
    render at start-up. ``reload_seconds``: how long :meth:`load` reuses the pairs it found."""

    def __init__(self, cache_dir: Path, clips: Mapping[str, Path] | None = None, *, max_side: int = MIN_LONG_SIDE,
                 max_seconds: float = 4.0, reload_seconds: float = 15.0) -> None:
        self.cache_dir = Path(cache_dir)
        self.clips = dict(CURATED_CLIPS if clips is None else clips)
        self.max_side = max_side
        self.max_seconds = max_seconds
        self.reload_seconds = reload_seconds
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._pairs: list[Pair] = []
        self._loaded_at: float | None = None  # time.monotonic() of the last look-up; None: look again

    def load(self) -> list[Pair]:
        """The pairs rendered so far for the installed styles' current checkpoints.

        Looking them up lists the styles, hashes the keys and reads every pair's ``pair.json`` (about 60 ms on a busy
        2-core machine, most of a "next pair" request), so the vote tab's requests share one look-up for
        ``reload_seconds`` (a render running elsewhere shows its new pairs that much later); this object's own render
        makes the next call look again."""
        with self._lock:
            now = time.monotonic()
            if self._loaded_at is None or now - self._loaded_at >= self.reload_seconds:
                pairs = load_pairs(self.cache_dir, clips=self.clips, max_side=self.max_side,
                                   max_seconds=self.max_seconds)
                self._pairs, self._loaded_at = [Pair.from_showcase(p) for p in pairs], now
            return list(self._pairs)

    def _reload(self) -> None:
        with self._lock:
            self._loaded_at = None

    def prerender(self, device: str | None = None, activity: JobActivity | None = None) -> list[Pair]:
        """Render the missing pairs now (blocking). With ``activity``, the render pauses between frame batches while
        a stylize job runs: visitors come first. The vote tab sees each pair as soon as it is rendered."""
        rendering = ""

        def yield_to_jobs(fraction: float, description: str) -> None:
            nonlocal rendering
            if description != rendering:  # the previous pair is finished
                rendering = description
                self._reload()
            if activity is not None and activity.busy:
                log.info("showcase render paused while a stylize job runs (%s, %.0f%% done)", description,
                         fraction * 100)
                activity.wait_idle()

        try:
            pairs = prerender_pairs(self.cache_dir, clips=self.clips, max_side=self.max_side,
                                    max_seconds=self.max_seconds, device=device, progress=yield_to_jobs)
        finally:
            self._reload()  # the vote tab sees the new pairs at once
        return [Pair.from_showcase(p) for p in pairs]

    def start_prerender(self, device: str | None = None, activity: JobActivity | None = None) -> threading.Thread:
        """Render the missing pairs in a daemon thread that yields to stylize jobs (see :meth:`prerender`); failures
        are logged (the vote tab shows what is ready)."""
        def work() -> None:
            try:
                pairs = self.prerender(device, activity)
            except (VSTError, ValueError, OSError) as err:
                log.error("could not pre-render the A/B showcase: %s", err)
            else:
                log.info("A/B showcase ready: %d pair(s) in %s", len(pairs), self.cache_dir)

        self._thread = threading.Thread(target=work, name="vst-showcase", daemon=True)
        self._thread.start()
        return self._thread

    @property
    def rendering(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class BlindCopies:
    """Copies of A/B videos under random names: the served file name (and a download) must not give the variant away.

    One copy per source file and process (``<root>/<random>.mp4``). A copy lives ``ttl_seconds`` (the session TTL)
    after it was last handed out, then it is deleted: whenever a copy is made, and every ``ttl_seconds / 4`` (at
    most a minute) by the thread :meth:`start_expiry` starts, so an idle server deletes them too.
    """

    def __init__(self, root: Path, ttl_seconds: float) -> None:
        self.root = Path(root)
        self.ttl_seconds = ttl_seconds
        self._lock = threading.Lock()
        self._names: dict[Path, Path] = {}
        self._expiry: threading.Thread | None = None

    def start_expiry(self) -> threading.Thread:
        """Delete expired copies in a daemon thread, every ``ttl_seconds / 4`` (between 1 s and 60 s)."""
        if self._expiry is None:
            self._expiry = expiry_thread("vst-blind-expiry", self.ttl_seconds, self._locked_prune,
                                         f"expired A/B copies in {self.root}")
        return self._expiry

    def _locked_prune(self) -> None:
        with self._lock:
            self._prune()

    def get(self, source: Path) -> Path:
        """The copy of ``source`` (made now if there is none). Handing out an existing copy touches only that file:
        listing the folder for expired copies, under the lock, made 50 concurrent voters wait for each other."""
        source = Path(source)
        with self._lock:
            copy = self._names.get(source)
            if copy is not None:
                with contextlib.suppress(FileNotFoundError):  # deleted meanwhile: a new copy below
                    if copy.stat().st_mtime >= time.time() - self.ttl_seconds:  # not expired (the thread may lag)
                        os.utime(copy)  # handed out again: it lives another TTL
                        return copy
            self._prune()
            self.root.mkdir(parents=True, exist_ok=True)
            copy = self.root / f"{uuid.uuid4().hex}{source.suffix}"
            shutil.copyfile(source, copy)
            self._names[source] = copy
            return copy

    def _prune(self) -> None:
        if not self.root.is_dir():
            return
        cutoff = time.time() - self.ttl_seconds
        for path in self.root.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if path.is_file() and path.stat().st_mtime < cutoff:
                    forget_served(path)  # Gradio's served copy stops working now, too
                    path.unlink()
        self._names = {src: dst for src, dst in self._names.items() if dst.is_file()}


def choose_next(state: ABState, own: Pair | None, showcase: Sequence[Pair], store: VoteStore,
                rng: random.Random = _RANDOM) -> Presentation | None:
    """The next pair for this visitor: their own latest result first, then a random showcase pair; never one this
    session has voted on, nor the one on screen (unless it is the last). Left/right is a fresh coin flip."""
    session = state.ensure_session()
    candidates = ([own] if own is not None else []) + list(showcase)
    unvoted = [p for p in candidates if p.available() and not store.has_voted(session, p.style, p.clip)]
    if not unvoted:
        return None
    if own is not None and own in unvoted:
        pair = own
    else:
        on_screen = state.current.pair if state.current else None
        pair = rng.choice([p for p in unvoted if p != on_screen] or unvoted)
    return Presentation(pair, rng.choice(VARIANTS))


def should_refresh(state: ABState, own: Pair | None, store: VoteStore) -> bool:
    """Whether opening the vote tab should bring a new pair: nothing on screen, already voted, or the visitor has a
    new own result that is not on screen yet."""
    if state.current is None or state.voted:
        return True
    return (own is not None and state.current.pair != own and own.available()
            and not store.has_voted(state.ensure_session(), own.style, own.clip))


def cast_vote(state: ABState, choice: str, store: VoteStore, *, client: str | None = None) -> str:
    """Record this visitor's vote on the pair on screen and return the reveal text (Markdown). ``client``: the
    salted hash of the visitor's address (:func:`vst.app.votes.client_of`), which the store rate-limits."""
    shown = state.current
    if shown is None:
        raise VSTError("There is no pair on screen to vote on; press “Next pair”.")
    if choice not in ("left", "right", "tie"):
        raise VSTError(f"Unknown choice '{choice}'.")
    counted = store.record(style=shown.pair.style, clip=shown.pair.clip, left_variant=shown.left_variant,
                           choice=choice, session=state.ensure_session(), checkpoints=shown.pair.checkpoints,
                           client=client, network=shown.pair.network)
    state.voted = True
    reveal = reveal_text(shown, choice)
    if not counted:
        reveal = f"You had already voted on this pair, so this vote was not counted. {reveal}"
    return reveal


def reveal_text(shown: Presentation, choice: str) -> str:
    """After a vote: which variant was where, and what the visitor's choice means."""
    left, right = shown.pair.label(shown.left_variant), shown.pair.label(shown.right_variant)
    if choice == "tie":
        verdict = "You couldn't tell them apart."
    else:
        winner = shown.left_variant if choice == "left" else shown.right_variant
        verdict = f"You preferred **{shown.pair.label(winner)}**."
    return f"Left was **{left}**, right was **{right}**. {verdict} Thanks for voting!"


def _votes(n: int) -> str:
    return "1 vote" if n == 1 else f"{n} votes"


def _percent(value: float) -> str:
    return "—" if math.isnan(value) else f"{value * 100:.0f}%"


def _interval(ci: tuple[float, float], n: int) -> str:
    return "—" if n == 0 else f"{ci[0] * 100:.0f}–{ci[1] * 100:.0f}%"


def results_markdown(results: Results, sync_status: str) -> str:
    """The vote results in a few lines: overall win rate with its 95% Wilson interval, counts, position bias."""
    overall: Tally = results.overall
    painting = results.your_painting
    if overall.total == 0 and painting.total == 0:
        return f"No votes yet: be the first! {sync_status}"
    side_n = results.left_wins + results.right_wins
    preference = (f"**Temporal (ours) preferred in {_percent(overall.win_rate)} of decisive votes** "
                  f"(95% CI {_interval(overall.ci95, overall.decisive)}): {overall.temporal_wins} for temporal, "
                  f"{overall.framewise_wins} for framewise, {overall.ties} can't tell ({_votes(overall.total)}).")
    position = (f"Position-bias check: the left video won {_percent(results.left_win_rate)} of decisive votes "
                f"(95% CI {_interval(results.left_ci95, side_n)}; near 50% means the side does not matter).")
    by_network = ""
    if "fast" in results.per_network:  # the fast network against its framewise twin, apart from the full-size ones
        by_network = "By network: " + "; ".join(
            f"{'fast network vs its framewise twin' if name == 'fast' else 'full-size models'}: temporal preferred "
            f"in {_percent(tally.win_rate)} of {_votes(tally.decisive).replace('vote', 'decisive vote')}"
            for name, tally in results.per_network.items()) + ".\n\n"
    if overall.total == 0:
        preference = "No votes on the bundled styles yet."
    yours = ""
    if painting.total:  # visitors' own pictures, apart: each vote judged a different painting
        yours = (f"Visitors' own paintings, counted apart (the any-painting network vs the framewise teacher): "
                 f"temporal preferred in {_percent(painting.win_rate)} of "
                 f"{_votes(painting.decisive).replace('vote', 'decisive vote')} "
                 f"(95% CI {_interval(painting.ci95, painting.decisive)}; {_votes(painting.total)}).\n\n")
    return f"{preference}\n\n{by_network}{yours}{position}\n\n{sync_status}"


#: The results table's row of the votes on visitors' own paintings (after ``all styles``, which leaves them out).
YOUR_PAINTING_ROW = "your painting (visitors' own, not in all styles)"
RESULT_COLUMNS = ["style", "temporal wins", "framewise wins", "can't tell", "temporal win rate", "95% CI"]


def results_table(results: Results) -> pd.DataFrame:
    """One row per style with votes, then ``all styles``, then (with votes) ``your painting (visitors' own)``, which
    ``all styles`` does not count."""
    rows = []
    yours = [(YOUR_PAINTING_ROW, results.your_painting)] if results.your_painting.total else []
    for slug, tally in [*results.per_style.items(), ("", results.overall), *yours]:
        name = STYLES[slug].title if slug in STYLES else (slug or "all styles")
        rows.append([name, tally.temporal_wins, tally.framewise_wins, tally.ties, _percent(tally.win_rate),
                     _interval(tally.ci95, tally.decisive)])
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)

"""Stylize jobs: :class:`StylizeService` runs one visitor's job within this server's limits (input checks, the main
network, :func:`choose_network`, and its baseline, :func:`baseline_for`, a time limit), in this server's line
(:mod:`vst.app.line`), and hands back each :class:`StylizeOutcome` as it is ready. Around it: the per-job output
folders that expire (:class:`JobSpace`), the networks loaded once and shared (:class:`ModelCache`), the count of
running jobs that background work yields to (:class:`JobActivity`), and the errors a visitor reads (each a
:class:`~vst.errors.VSTError` whose ``str()`` is one line)."""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import math
import os
import queue
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..catalog import FAST_FRAMEWISE_VARIANT, FAST_VARIANT
from ..checkpoint_check import load_network
from ..errors import CheckpointError, VideoError, VSTError
from ..files import PARTIAL_GLOB
from ..fingerprint import checkpoint_digest
from ..metrics import WarpingErrorMeter
from ..pipeline import RenderResult, Stylizer, check_frame_size, render_video, select_device
from ..realtime import ScaleChoice, choose_scale
from ..video import VideoInfo, fit_size, probe
from .ab_pair import ABPair
from .comparison import VARIANT_LABELS, flicker_frame, flicker_reading, slider_html
from .config import AppConfig
from .gallery import NO_FAST, GalleryStyle
from .line import JobLine, Stage
from .media import media_url
from .progress import JobStatus
from .served_copies import forget_served

log = logging.getLogger(__name__)

#: ``progress(frames_done, frames_total_or_None, frames_per_second, seconds_left_or_None)``.
JobProgress = Callable[[int, int | None, float, float | None], None]


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
    """Delete Gradio's served copies of a job folder's files (see :func:`vst.app.served_copies.forget_served`)."""
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


def choose_network(style: GalleryStyle, realtime: bool) -> str:
    """The variant that renders the main video: ``fast`` when real-time is asked for and installed, else temporal."""
    return FAST_VARIANT if realtime and style.has_fast else "temporal"


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

    def pair(self) -> ABPair | None:
        """This result as an A/B pair for its visitor only, once its comparison is rendered and fair (see
        :data:`FAIR_PAIRS`): the temporal model against the framewise baseline, or the fast network against its
        framewise twin; ``None`` otherwise (e.g. the fast network against the full-size framewise model)."""
        if not self.compared or (self.variant, self.baseline_variant) not in FAIR_PAIRS or not self.digest:
            return None
        assert self.baseline is not None
        return ABPair(self.style, f"upload-{self.job_id}", self.video, self.baseline, own=True,
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

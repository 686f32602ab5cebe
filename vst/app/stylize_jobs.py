"""Stylize jobs: :class:`StylizeService` runs one visitor's job within this server's limits (input checks, the main
network, :func:`choose_network`, and its baseline, :func:`baseline_for`, a time limit), in this server's line
(:mod:`vst.app.line`), and hands back each :class:`~vst.app.stylize_outcome.StylizeOutcome` as it is ready, with the
errors a visitor reads (each a :class:`~vst.errors.VSTError` whose ``str()`` is one line). What it uses around it:
the per-job output folders that expire (:mod:`vst.app.job_space`), the networks loaded once and shared
(:mod:`vst.app.model_cache`) and the count of running jobs that background work yields to
(:mod:`vst.app.job_activity`)."""

from __future__ import annotations

import dataclasses
import logging
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path

from ..catalog import Variant
from ..denoise import DenoiseOptions
from ..errors import VideoError, VSTError
from ..metrics import WarpingErrorMeter
from ..pipeline import RenderResult, Stylizer, check_frame_size, render_video
from ..smoothing import SmoothingOptions
from ..video import VideoInfo, fit_size, probe
from .comparison import VARIANT_LABELS
from .config import AppConfig
from .gallery import GalleryStyle
from .job_activity import JobActivity
from .job_space import JobSpace
from .line import JobLine, Stage
from .model_cache import ModelCache
from .progress import JobStatus
from .stylize_outcome import StylizeOutcome, pair_digest

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


def choose_network(style: GalleryStyle, realtime: bool) -> str:
    """The variant that renders the main video: ``fast`` when real-time is asked for and installed, else temporal."""
    return Variant.FAST if realtime and style.has_fast else Variant.TEMPORAL


def baseline_for(style: GalleryStyle, variant: str) -> str | None:
    """The variant a result of ``variant`` is compared with, like with like: the fast network's framewise twin for
    the fast network (the full-size framewise model when the style has no twin), the framewise model for the
    temporal one; ``None`` when the style has neither."""
    if variant == Variant.FAST and Variant.FAST_FRAMEWISE in style.variants:
        return Variant.FAST_FRAMEWISE
    return Variant.FRAMEWISE if style.has_framewise else None


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
        if main == Variant.FAST and baseline is not None:
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
                        Variant.FAST_FRAMEWISE,):  # the fast twin costs what the fast network did
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
        if main == Variant.FAST and baseline == Variant.FRAMEWISE:
            log.warning("%s has no %s network: the fast network is compared with the full-size framewise model "
                        "(slower; train the twin with `python -m training distill --framewise`)", chosen.slug,
                        Variant.FAST_FRAMEWISE)
        variants = [main] + ([baseline] if baseline is not None else [])
        if chosen.networks is not None:  # built for this job (a visitor's painting), never shared
            stylizers = chosen.networks(variants, source, self.models.device)
        else:
            scale = 1.0
            if main == Variant.FAST:  # real time: the internal resolution that keeps up here, measured
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
                                  about=chosen.about, scale_note=scale_note, smoothed=self.config.smoothing,
                                  denoised=self.config.denoise, **state)  # type: ignore[arg-type]

        one_pass = main != Variant.FAST or baseline is None  # the temporal model: video and comparison together
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
                 ", no fast network" if realtime and main != Variant.FAST else "", first.frames, first.fps)
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

        # both videos of a comparison alike: what differs between them is the networks
        smoothing = {name: SmoothingOptions() for name in targets} if self.config.smoothing else None
        denoise = DenoiseOptions() if self.config.denoise else None
        with self.activity.running():
            result = render_video(source, targets, max_side=self.config.max_side, measure_flicker=measure_flicker,
                                  progress=on_frames, meter=comparison_meter(), smoothing=smoothing,
                                  denoise=denoise)
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
    return f"{stem}_{style}.mp4" if variant == Variant.TEMPORAL else f"{stem}_{style}_{variant}.mp4"


def _without_path(message: str, path: str | os.PathLike[str]) -> str:
    """A library message with the server-side path of the upload replaced by its file name."""
    return message.replace(str(path), Path(path).name) if str(path) in message else message

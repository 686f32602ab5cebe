"""Streaming video reading with PyAV: probe a file and decode it to upright RGB batches.

:class:`VideoReader` decodes one frame at a time (memory does not grow with the video's length), applies the
container's rotation (display matrix) so frames come out upright, and optionally downscales them (swscale, area).
Encoding is :mod:`vst.video_writer`; the checks on a finished MP4 (fast start, browser-playable) are
:mod:`vst.mp4_checks`.

Every problem with an input file is raised as :class:`~vst.errors.VideoError` with a one-line message naming the file.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import av.error
import numpy as np

from .errors import VideoError
from .mp4_checks import _codec_name, mp4_top_level_boxes

log = logging.getLogger(__name__)

_FALLBACK_RATE = Fraction(25)
#: Frame-threaded decoding holds a frame per thread: large frames get fewer threads (see :func:`decode_threads`), e.g.
#: one for 1080p and 4K (a probe and a decode of a 4K clip took 67 MB instead of 140 MB with FFmpeg's own three
#: threads on two cores), up to four for 720p. One thread decodes 4K at about 16 fps, next to seconds per
#: 720p frame through the full-size network; the decoded pixels are the same whatever the thread count.
DECODE_PIXELS_IN_FLIGHT = 4_000_000


@dataclass(frozen=True)
class VideoInfo:
    """What :func:`probe` found out about a video file. Sizes are the displayed ones (after rotation), in stored
    pixels: a non-square sample aspect ratio is not applied."""

    path: Path
    width: int
    height: int
    #: Clockwise degrees (0, 90, 180, 270) by which decoded frames are rotated to display them upright.
    rotation: int
    #: Average frame rate (frames per second).
    fps: float
    #: Exact when the container stores it, else estimated from ``duration * fps``; ``None`` if unknown.
    num_frames: int | None
    #: Seconds, ``None`` if unknown.
    duration: float | None
    codec: str
    has_audio: bool
    audio_codec: str | None


@dataclass
class FrameBatch:
    """Consecutive decoded frames: ``images`` ``(N, H, W, 3)`` uint8 RGB, upright; ``pts`` in the stream's time
    base (``None`` where the file has none); ``times`` in seconds; ``denoised``: the same frames denoised for the
    networks (:mod:`vst.denoise`), ``None`` when they see ``images`` as decoded."""

    images: np.ndarray
    pts: list[int | None]
    times: list[float]
    denoised: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.pts)


# --------------------------------------------------------------------------------------------------------- reading


def _one_line(text: object) -> str:
    return " ".join(str(text).split())


def _reason(err: BaseException) -> str:
    """FFmpeg's own short explanation of ``err`` (``strerror``), without the file name PyAV appends."""
    strerror = getattr(err, "strerror", None)
    return _one_line(strerror or err)


def _looks_like_mp4_without_index(path: Path) -> bool:
    try:
        boxes = mp4_top_level_boxes(path)
    except OSError:
        return False
    return bool(boxes) and boxes[0] == "ftyp" and "moov" not in boxes


def _open_input(path: Path) -> av.container.InputContainer:
    """``av.open`` for reading, with every failure turned into a :class:`VideoError` naming ``path``."""
    try:
        if not path.exists():
            raise VideoError(f"video file not found: {path}")
        if path.is_dir():
            raise VideoError(f"{path} is a directory, not a video file")
    except OSError as err:  # e.g. a parent folder we may not enter
        raise VideoError(f"cannot open {path}: {_reason(err)}") from err
    try:
        return av.open(str(path), "r")
    except av.error.PermissionError as err:
        raise VideoError(f"cannot open {path}: permission denied") from err
    except av.error.FFmpegError as err:
        if _looks_like_mp4_without_index(path):
            raise VideoError(f"{path} is truncated or damaged: its MP4 index (moov atom) is missing") from err
        raise VideoError(f"{path} is not a readable video file ({_reason(err)})") from err
    except (OSError, UnicodeDecodeError) as err:
        raise VideoError(f"cannot open {path}: {_reason(err)}") from err


def _video_stream(container: av.container.InputContainer, path: Path) -> av.video.stream.VideoStream:
    """The main video stream, checked to be decodable; :class:`VideoError` otherwise."""
    streams = [s for s in container.streams.video if not s.disposition & av.stream.Disposition.attached_pic]
    if not streams:
        what = " (it contains audio only)" if container.streams.audio else ""
        raise VideoError(f"{path} has no video stream{what}")
    stream = container.streams.best("video") or streams[0]
    if stream not in streams:
        stream = streams[0]
    if stream.codec_context is None:
        raise VideoError(f"{path} uses an unknown or unsupported video codec that cannot be decoded")
    stream.thread_type = "AUTO"
    stream.codec_context.thread_count = decode_threads(stream.codec_context.width, stream.codec_context.height)
    return stream


def decode_threads(width: int, height: int) -> int:
    """Decoder threads for frames of ``width`` × ``height``: FFmpeg's own choice (one per core and one more, at most
    16), fewer for large frames so that the frames in flight (frame threading holds one per thread, besides the
    reference frames) take at most :data:`DECODE_PIXELS_IN_FLIGHT`; 0 (FFmpeg decides) when the size is unknown."""
    if width < 1 or height < 1:
        return 0
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return max(1, min(cores + 1, 16, DECODE_PIXELS_IN_FLIGHT // (width * height)))


def _audio_stream(container: av.container.InputContainer) -> av.audio.stream.AudioStream | None:
    if not container.streams.audio:
        return None
    return container.streams.best("audio") or container.streams.audio[0]


def _decoded_frames(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream, path: Path
) -> Iterator[av.VideoFrame]:
    """Decode ``stream`` frame by frame, in presentation order; FFmpeg errors become :class:`VideoError`."""
    count = 0
    try:
        for packet in container.demux(stream):
            if packet.is_corrupt:  # e.g. the demuxer read past the end of a cut-off file
                raise VideoError(f"{path} is corrupt or truncated: damaged video data after {count} frames")
            for frame in packet.decode():
                count += 1
                yield frame
    except av.error.FFmpegError as err:
        if count == 0 and isinstance(err, av.error.DecoderNotFoundError | av.error.PatchWelcomeError):
            raise VideoError(f"{path} uses a video codec that cannot be decoded ({_reason(err)})") from err
        raise VideoError(
            f"{path} is corrupt or truncated: decoding failed after {count} frames ({_reason(err)})"
        ) from err
    declared = stream.frames
    if declared and count < 0.9 * declared:
        log.warning("%s: decoded %d frames but the container announces %d; the file may be truncated",
                    path, count, declared)


def _check_not_truncated(stream: av.video.stream.VideoStream, path: Path) -> None:
    """:class:`VideoError` when the container's index (e.g. an MP4 ``moov``, an AVI ``idx1``) places video samples
    past the end of the file: a cut-off download or copy, caught before decoding anything."""
    try:
        size = path.stat().st_size
    except OSError:
        return
    entries = stream.index_entries
    count = len(entries)
    ends = [entry.pos + entry.size for entry in entries[max(0, count - 64):count] if entry.pos >= 0]
    if ends and max(ends) > size:
        raise VideoError(f"{path} is truncated: its index lists video data up to byte {max(ends)} "
                         f"but the file has only {size} bytes")


def _rotation_of(frame: av.VideoFrame) -> int:
    """Clockwise degrees (multiple of 90) that make ``frame`` upright, from its display matrix (flips are ignored)."""
    ccw = frame.rotation  # counter-clockwise degrees, FFmpeg's av_display_rotation_get()
    return round(-ccw / 90.0) * 90 % 360


def _frame_rate(stream: av.video.stream.VideoStream) -> Fraction | None:
    for rate in (stream.average_rate, stream.guessed_rate, stream.base_rate):
        if rate and rate > 0:
            return Fraction(rate)
    return None


def _duration(container: av.container.InputContainer, stream: av.video.stream.VideoStream) -> float | None:
    if stream.duration is not None and stream.duration > 0 and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration is not None and container.duration > 0:
        return container.duration / av.time_base
    return None


def _inspect(container: av.container.InputContainer, path: Path) -> tuple[VideoInfo, Fraction, Fraction]:
    """Describe an open container: :class:`VideoInfo`, the video stream's time base and its average frame rate.
    Decodes the first frame (the rotation is attached to frames, and it proves that the stream decodes)."""
    stream = _video_stream(container, path)
    _check_not_truncated(stream, path)
    frames = _decoded_frames(container, stream, path)
    first = next(frames, None)
    frames.close()
    if first is None:
        raise VideoError(f"{path} contains no video frames")
    rotation = _rotation_of(first)
    width, height = (first.height, first.width) if rotation % 180 else (first.width, first.height)
    duration = _duration(container, stream)
    rate = _frame_rate(stream)
    if rate is None:
        rate = Fraction(stream.frames / duration).limit_denominator(1001) if stream.frames and duration else None
    rate = rate or _FALLBACK_RATE
    if stream.frames and stream.frames > 0:
        num_frames: int | None = stream.frames
    elif duration is not None:
        num_frames = max(1, round(duration * float(rate)))
    else:
        num_frames = None
    audio = _audio_stream(container)
    audio_codec = None
    if audio is not None:
        audio_codec = _codec_name(audio) or "unknown"
    info = VideoInfo(
        path=path,
        width=width,
        height=height,
        rotation=rotation,
        fps=float(rate),
        num_frames=num_frames,
        duration=duration,
        codec=_codec_name(stream) or "unknown",
        has_audio=audio is not None,
        audio_codec=audio_codec,
    )
    time_base = Fraction(stream.time_base) if stream.time_base else 1 / rate
    return info, time_base, rate


def _probe(path: Path) -> tuple[VideoInfo, Fraction, Fraction]:
    container = _open_input(path)
    try:
        return _inspect(container, path)
    finally:
        container.close()


def probe(path: str | os.PathLike[str]) -> VideoInfo:
    """Open ``path``, decode its first frame and describe it; :class:`VideoError` on any unreadable input."""
    return _probe(Path(path))[0]


def fit_size(width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """``(width, height)`` scaled down (aspect kept, at least 1 px) so that neither exceeds ``max_side``; never up."""
    if max_side is None or max(width, height) <= max_side:
        return width, height
    if max_side < 1:
        raise ValueError(f"max_side must be positive, not {max_side}")
    scale = max_side / max(width, height)
    return max(1, min(max_side, round(width * scale))), max(1, min(max_side, round(height * scale)))


class VideoReader:
    """Decode a video to upright RGB frames, streaming (one decoded frame in memory at a time).

    ``max_side`` downscales (swscale area interpolation, aspect kept, never upscaled) so that
    ``max(width, height) <= max_side``. Each call of :meth:`frames` / :meth:`batches` decodes from the start.
    Raises :class:`VideoError` on open (bad file) or while iterating (corrupt data).
    """

    def __init__(self, path: str | os.PathLike[str], *, max_side: int | None = None) -> None:
        self.path = Path(path)
        self.info: VideoInfo
        self.time_base: Fraction  # of the video stream
        self.frame_rate: Fraction  # average, frames per second
        self.info, self.time_base, self.frame_rate = _probe(self.path)
        self.width, self.height = fit_size(self.info.width, self.info.height, max_side)
        self._containers: list[av.container.InputContainer] = []
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()

    def __len__(self) -> int:
        """The (possibly estimated) number of frames; 0 if unknown."""
        return self.info.num_frames or 0

    def _to_array(self, frame: av.VideoFrame) -> np.ndarray:
        """Decoded frame → ``(height, width, 3)`` uint8 RGB, scaled (area) and rotated upright."""
        rotation = self.info.rotation
        stored_w, stored_h = (self.height, self.width) if rotation % 180 else (self.width, self.height)
        try:
            if (frame.width, frame.height) == (stored_w, stored_h):
                image = frame.to_ndarray(format="rgb24")
            else:
                image = frame.to_ndarray(format="rgb24", width=stored_w, height=stored_h, interpolation="AREA")
        except (av.error.FFmpegError, ValueError) as err:
            pix_fmt = frame.format.name if frame.format is not None else "unknown"
            raise VideoError(f"{self.path}: cannot convert its {pix_fmt} frames to RGB ({_reason(err)})") from err
        if rotation:
            image = np.ascontiguousarray(np.rot90(image, k=-(rotation // 90)))  # np.rot90 turns counter-clockwise
        return image

    def frames(self) -> Iterator[tuple[np.ndarray, int | None, float]]:
        """Yield ``(image, pts, time)``: ``(H, W, 3)`` uint8 RGB upright, pts in :attr:`time_base` (``None`` if the
        file has none), time in seconds (extrapolated at :attr:`frame_rate` where pts is missing)."""
        if self._closed:
            raise ValueError("VideoReader is closed")
        container = _open_input(self.path)
        self._containers.append(container)
        try:
            stream = _video_stream(container, self.path)
            last_pts: int | None = None
            last_time: float | None = None
            step = 1.0 / float(self.frame_rate)
            for index, frame in enumerate(_decoded_frames(container, stream, self.path)):
                pts = frame.pts
                if pts is None and frame.dts is not None and (last_pts is None or frame.dts > last_pts):
                    pts = frame.dts
                if pts is not None:
                    time = float(pts * self.time_base)
                else:
                    time = last_time + step if last_time is not None else index * step
                last_pts, last_time = (pts if pts is not None else last_pts), time
                yield self._to_array(frame), pts, time
                if container not in self._containers:  # close() was called meanwhile: PyAV must not touch it
                    return
        finally:
            if container in self._containers:
                self._containers.remove(container)
                container.close()

    def batches(self, size: int) -> Iterator[FrameBatch]:
        """Yield :class:`FrameBatch` es of ``size`` frames (the last one may be shorter)."""
        if size < 1:
            raise ValueError(f"batch size must be at least 1, not {size}")
        images: list[np.ndarray] = []
        pts: list[int | None] = []
        times: list[float] = []
        for image, p, t in self.frames():
            images.append(image)
            pts.append(p)
            times.append(t)
            if len(images) == size:
                yield FrameBatch(np.stack(images), pts, times)
                images, pts, times = [], [], []
        if images:
            yield FrameBatch(np.stack(images), pts, times)

    def close(self) -> None:
        self._closed = True
        for container in self._containers:
            container.close()
        self._containers.clear()

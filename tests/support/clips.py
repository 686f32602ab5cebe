"""Small, deterministic, REAL video clips for the tests, written with PyAV (no ffmpeg binary needed).

Plain module (no pytest): ``from tests.support.clips import make_clip``. Every generator writes a file and returns
its path.

The pixel content is known exactly (:func:`pattern_frame`), so tests can compare decoded frames with the source, and
the ``"moving"`` pattern translates by :data:`MOTION_PER_FRAME` pixels per frame (a known optical flow).
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: ``(dx, dy)`` in pixels per frame by which the ``"moving"`` pattern's content translates (right, down).
MOTION_PER_FRAME: tuple[int, int] = (2, 1)
PATTERNS: tuple[str, ...] = ("moving", "static", "noise")

#: Default codec per file extension, and the audio codec that goes with it.
_VIDEO_CODECS: dict[str, str] = {
    ".mp4": "libx264", ".m4v": "libx264", ".mov": "libx264", ".mkv": "libx264",
    ".webm": "libvpx-vp9", ".avi": "mpeg4", ".gif": "gif",
    ".y4m": "rawvideo",  # YUV4MPEG2, 4:2:0: what Chromium's fake camera reads (--use-file-for-fake-video-capture)
}
_AUDIO_CODECS: dict[str, str] = {
    ".mp4": "aac", ".m4v": "aac", ".m4a": "aac", ".mov": "aac", ".mkv": "aac", ".webm": "libopus", ".avi": "pcm_s16le",
}
_CODEC_PIX_FMTS: dict[str, str] = {"gif": "rgb8", "mjpeg": "yuvj420p"}
_CODEC_OPTIONS: dict[str, dict[str, str]] = {
    "libx264": {"preset": "ultrafast", "crf": "18"},  # ultrafast: no B-frames (see make_clip(bframes=))
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "crf": "20", "b": "0"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8", "crf": "10", "b": "1M"},
}

#: name → (file name, make_clip keyword arguments) of one small clip per supported container / codec.
CONTAINER_CLIPS: dict[str, tuple[str, dict[str, object]]] = {
    "mp4-h264": ("c.mp4", {"audio": True}),
    "mov-h264": ("c.mov", {"audio": True}),
    "mkv-h264": ("c.mkv", {"audio": True}),
    "webm-vp9": ("c.webm", {"audio": True}),
    "webm-vp8": ("c8.webm", {"codec": "libvpx"}),
    "avi-mpeg4": ("c.avi", {"audio": True}),
    "avi-mjpeg": ("cj.avi", {"codec": "mjpeg"}),
    "gif": ("c.gif", {"fps": 10}),
}


def pattern_frame(index: int, width: int, height: int, pattern: str = "moving", *, seed: int = 0) -> np.ndarray:
    """The upright RGB image of frame ``index``: ``(height, width, 3)`` uint8.

    ``"moving"``: smooth sinusoids plus a soft checkerboard, shifted by ``index * MOTION_PER_FRAME``;
    ``"static"``: the same image for every frame; ``"noise"``: uniform noise, different for every frame (seeded).
    """
    if pattern == "noise":
        rng = np.random.default_rng([seed, index])
        return rng.integers(0, 256, size=(height, width, 3), dtype=np.uint8)
    if pattern not in PATTERNS:
        raise ValueError(f"unknown pattern {pattern!r}; choose one of {PATTERNS}")
    t = index if pattern == "moving" else 0
    dx, dy = MOTION_PER_FRAME
    y, x = np.mgrid[0:height, 0:width].astype(np.float64)
    x = x - dx * t
    y = y - dy * t
    r = 128 + 90 * np.sin(2 * np.pi * x / 23.0) * np.cos(2 * np.pi * y / 19.0)
    g = 128 + 90 * np.sin(2 * np.pi * (x + 2 * y) / 31.0 + seed)
    checker = np.sign(np.sin(2 * np.pi * x / 16.0) * np.sin(2 * np.pi * y / 16.0))
    b = 128 + 60 * checker + 30 * np.cos(2 * np.pi * (x - y) / 41.0)
    return np.clip(np.stack([r, g, b], axis=-1), 0, 255).round().astype(np.uint8)


def frame_times(num_frames: int, fps: float, *, vfr: bool = False, seed: int = 0) -> list[float]:
    """Presentation times in seconds: regular ``i / fps``, or (``vfr``) seeded irregular gaps of 0.4-2.5 frames."""
    if not vfr:
        return [i / fps for i in range(num_frames)]
    rng = np.random.default_rng(seed + 1234)
    gaps = rng.choice([0.4, 0.5, 1.0, 1.0, 1.5, 2.5], size=max(num_frames - 1, 0)) / fps
    return [0.0, *np.cumsum(gaps).tolist()]


def _sine(num_samples: int, start: int, rate: int, channels: int, freq: float = 440.0) -> np.ndarray:
    n = np.arange(start, start + num_samples)
    tone = (0.3 * np.sin(2 * np.pi * freq * n / rate)).astype(np.float32)
    return np.repeat(tone[None, :], channels, axis=0)  # planar (channels, samples)


def _add_audio_stream(out: av.container.OutputContainer, codec: str) -> av.audio.stream.AudioStream:
    rate = 48000 if codec in ("libopus", "opus") else 44100
    stream = out.add_stream(codec, rate=rate)
    stream.layout = "stereo" if codec == "pcm_s16le" else "mono"
    return stream


def _encode_audio(out: av.container.OutputContainer, stream: av.audio.stream.AudioStream, duration: float) -> None:
    rate = stream.codec_context.sample_rate
    channels = stream.codec_context.layout.nb_channels
    total = round(duration * rate)
    chunk = 1024
    for start in range(0, total, chunk):
        n = min(chunk, total - start)
        samples = _sine(n, start, rate, channels)
        frame = av.AudioFrame.from_ndarray(samples, format="fltp", layout=stream.codec_context.layout.name)
        frame.sample_rate = rate
        frame.pts = start
        frame.time_base = Fraction(1, rate)
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode(None):
        out.mux(packet)


def make_clip(
    path: str | os.PathLike[str],
    *,
    width: int = 64,
    height: int = 48,
    num_frames: int = 24,
    fps: float = 24,
    codec: str | None = None,
    audio: bool = False,
    audio_codec: str | None = None,
    rotation: int = 0,
    vfr: bool = False,
    pattern: str = "moving",
    pix_fmt: str | None = None,
    bframes: int = 0,
    seed: int = 0,
) -> Path:
    """Write a real clip whose *displayed* frames are ``pattern_frame(i, width, height, pattern)``.

    ``codec`` defaults from the extension (mp4/mov/mkv → H.264, webm → VP9, avi → MPEG-4 part 2, gif → GIF).
    An odd ``width``/``height`` with H.264 uses yuv444p unless ``pix_fmt`` says otherwise (4:2:0 needs even sizes).
    ``audio`` adds a 440 Hz sine of the clip's duration (AAC; Opus for webm; PCM for avi). ``rotation`` (clockwise
    degrees, 0/90/180/270) stores the frames rotated the other way with a display matrix saying how to rotate them
    back, as phones do (the stored size is then ``height × width`` for 90/270). ``vfr`` gives irregular timestamps
    (see :func:`frame_times`). ``bframes`` > 0 makes H.264 use B-frames (reordered, dts ≠ pts).
    """
    path = Path(path)
    ext = path.suffix.lower()
    codec = codec or _VIDEO_CODECS.get(ext)
    if codec is None:
        raise ValueError(f"no default codec for extension {ext!r}")
    if rotation % 90 or not 0 <= rotation < 360:
        raise ValueError(f"rotation must be 0, 90, 180 or 270, not {rotation}")
    if rotation and codec == "libx265":  # FFmpeg 8 + x265 4.2 corrupt the heap when given a display matrix
        raise ValueError("make_clip cannot write a rotated libx265 clip (heap corruption in libx265); use H.264")
    rate = Fraction(fps).limit_denominator(1001)
    times = frame_times(num_frames, float(rate), vfr=vfr, seed=seed)
    quarter_turns = rotation // 90
    stored_w, stored_h = (height, width) if quarter_turns % 2 else (width, height)

    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=rate, options=dict(_CODEC_OPTIONS.get(codec, {})))
        stream.width, stream.height = stored_w, stored_h
        if pix_fmt is None:  # 4:2:0 H.264 needs even sizes; 4:4:4 takes any
            odd = stored_w % 2 or stored_h % 2
            pix_fmt = "yuv444p" if odd and codec == "libx264" else _CODEC_PIX_FMTS.get(codec, "yuv420p")
        stream.pix_fmt = pix_fmt
        if codec == "libx264":
            stream.codec_context.max_b_frames = bframes
            if bframes:
                stream.options = {"preset": "veryfast", "crf": "18", "bf": str(bframes)}
        # A fine time base so that irregular (VFR) timestamps are exact; GIF can only count centiseconds.
        time_base = Fraction(1, 100) if codec == "gif" else (Fraction(1, 1000) if vfr else 1 / rate)
        stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(-rotation)  # PyAV's degrees are counter-clockwise
        audio_stream = None
        if audio:
            audio_stream = _add_audio_stream(out, audio_codec or _AUDIO_CODECS.get(ext, "aac"))

        for i, t in enumerate(times):
            image = np.ascontiguousarray(np.rot90(pattern_frame(i, width, height, pattern, seed=seed), quarter_turns))
            frame = av.VideoFrame.from_ndarray(image, format="rgb24")
            frame.pts = round(t / time_base)
            frame.time_base = time_base
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)

        if audio_stream is not None:
            duration = (times[-1] if times else 0.0) + 1 / float(rate)
            _encode_audio(out, audio_stream, duration)
    return path


def make_clip_of(path: str | os.PathLike[str], frames: np.ndarray, *, fps: float = 24, crf: int = 18) -> Path:
    """An H.264 MP4 of ``frames`` ``(N, H, W, 3)`` uint8 RGB (even sizes) at ``fps``, quality ``crf``."""
    path = Path(path)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=Fraction(fps).limit_denominator(1001),
                                options={"preset": "ultrafast", "crf": str(crf)})
        stream.height, stream.width = frames.shape[1:3]
        stream.pix_fmt = "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def make_rotated(path: str | os.PathLike[str], rotation: int = 90, **kwargs: object) -> Path:
    """:func:`make_clip` with a display-matrix rotation (clockwise degrees needed to show it upright)."""
    return make_clip(path, rotation=rotation, **kwargs)  # type: ignore[arg-type]


def make_audio_only(path: str | os.PathLike[str], *, duration: float = 1.0) -> Path:
    """An AAC-only file (e.g. ``.m4a`` or ``.mp4``) of ``duration`` seconds of sine tone: no video stream at all."""
    path = Path(path)
    with av.open(str(path), "w", format="mp4" if path.suffix.lower() in (".m4a", ".mp4") else None) as out:
        stream = _add_audio_stream(out, _AUDIO_CODECS.get(path.suffix.lower(), "aac"))
        _encode_audio(out, stream, duration)
    return path


def make_zero_frame_video(path: str | os.PathLike[str], *, width: int = 64, height: int = 48) -> Path:
    """A container with a video stream (header written) but no frames in it. Use ``.avi`` (MPEG-4 part 2): the MP4
    muxer drops a track without samples and an empty Matroska file does not even open."""
    path = Path(path)
    if path.suffix.lower() in (".mp4", ".m4v", ".mov", ".mkv", ".webm"):
        raise ValueError(f"cannot write an empty video stream into {path.suffix}; use .avi")
    with av.open(str(path), "w") as out:
        stream = out.add_stream(_VIDEO_CODECS.get(path.suffix.lower(), "mpeg4"), rate=24)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        out.start_encoding()
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def make_truncated(src: str | os.PathLike[str], dst: str | os.PathLike[str], *, keep: float = 0.5) -> Path:
    """Copy the first ``keep`` fraction of ``src``'s bytes to ``dst`` (a download cut short)."""
    data = Path(src).read_bytes()
    dst = Path(dst)
    dst.write_bytes(data[: int(len(data) * keep)])
    return dst


def make_faststart_copy(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> Path:
    """Remux an MP4 with ``movflags=+faststart`` (moov before mdat), packets copied."""
    dst = Path(dst)
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "+faststart"}) as out:
        mapping = {s.index: out.add_stream_from_template(s) for s in inp.streams if s.type in ("video", "audio")}
        for packet in inp.demux(*[inp.streams[i] for i in mapping]):
            if packet.dts is None:
                continue
            packet.stream = mapping[packet.stream.index]
            out.mux(packet)
    return dst


def patch_fourcc(src: str | os.PathLike[str], dst: str | os.PathLike[str], old: bytes = b"avc1",
                 new: bytes = b"zzzz") -> Path:
    """Copy ``src`` replacing every ``old`` four-character code with ``new``: an MP4 whose codec nobody knows."""
    data = Path(src).read_bytes()
    if old not in data:
        raise ValueError(f"{old!r} not found in {src}")
    dst = Path(dst)
    dst.write_bytes(data.replace(old, new))
    return dst


def top_level_boxes(path: str | os.PathLike[str]) -> list[str]:
    """The types of an MP4/MOV file's top-level boxes in file order, e.g. ``['ftyp', 'moov', 'mdat']``."""
    from vst.mp4_checks import mp4_top_level_boxes

    return mp4_top_level_boxes(path)


def make_painting(path: str | os.PathLike[str], *, seed: int = 0, size: tuple[int, int] = (96, 72)) -> Path:
    """A small colourful picture (8×8-pixel blocks of random colours) saved in ``path``'s format: a style picture."""
    from PIL import Image

    rng = np.random.default_rng(seed)
    blocks = rng.integers(0, 256, (size[1] // 8, size[0] // 8, 3), dtype=np.uint8)
    Image.fromarray(blocks).resize(size, Image.NEAREST).save(path)
    return Path(path)

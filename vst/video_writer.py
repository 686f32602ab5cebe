"""Encode RGB frames with PyAV into a browser-playable MP4 that carries the source's audio.

:class:`VideoWriter` encodes H.264 (libx264, yuv420p, BT.709 tags) into an MP4 whose ``moov`` atom precedes ``mdat``
(``movflags=+faststart``), with the input's time base and timestamps, so variable frame rate survives. The original
audio stream is copied packet for packet, read from the source a second time (:mod:`vst.video`) and interleaved with
the video as it is written (re-encoded to AAC, with a warning, only when its codec cannot go into MP4).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from fractions import Fraction
from pathlib import Path
from types import TracebackType
from typing import Self

import av
import av.error
import numpy as np

from .errors import VideoError
from .mp4_checks import BROWSER_AUDIO_CODECS, _codec_name
from .video import _FALLBACK_RATE, _audio_stream, _open_input, _reason

#: The reader's logger: reading and writing log as ``vst.video``, as they did when they shared one module.
log = logging.getLogger("vst.video")

#: Audio codecs copied into the MP4 as they are (MP4 can hold them and browsers play them); others become AAC.
MP4_AUDIO_CODECS: frozenset[str] = BROWSER_AUDIO_CODECS
#: libx264's preset, for every frame size. Encoding runs beside the network on the same two cores, so its time is the
#: network's. The same 60 stylized 1280×720 frames at CRF 20 (``python benchmarks/encoder_presets.py``): veryfast
#: 18.9 ms a frame, 1316 KiB, 39.7 dB PSNR to the frames given; superfast 10.9 ms, 1771 KiB, 40.3 dB; ultrafast 5.7 ms,
#: 2304 KiB, 38.9 dB; end to end the fast network at a quarter of 1280×720 ran 1.16× as fast with superfast (session
#: 19). Smaller frames kept veryfast until session 23, where on a faster CPU superfast took a third less time at
#: 640×360 and below (the temporal networks' frames of five clips: 2.8–3.4 against 4.2–5.2 ms; files 7–58% larger at
#: the same or up to 0.9 dB better PSNR; ``--variant temporal``) and end to end, alternating runs, the command line
#: with a visitor's painting ran 21.1–21.3 fps against 19.9–20.1 (300 frames of 640×360).
PRESET = "superfast"


class VideoWriter:
    """Encode RGB frames to a browser-playable MP4 (H.264 libx264, yuv420p, BT.709, ``+faststart``).

    Frames keep the timestamps given (``pts`` in ``time_base``; ``None`` continues at ``frame_rate``), so the output
    has the input's frame count, timing and variable frame rate. Timestamps that do not increase are bumped by one
    tick (the encoder needs strictly increasing pts). ``audio_from`` copies that file's audio stream packet for
    packet, interleaved as the video is written (only codecs outside :data:`MP4_AUDIO_CODECS` are re-encoded to AAC,
    with a warning); whatever audio is left when the video ends is muxed by :meth:`close`. The MP4 muxer may refine
    the time base (1/24 is stored as 1/12288); timestamps in seconds are unchanged.

    yuv420p needs even dimensions: an odd ``width`` / ``height`` is padded to the next even number by repeating the
    last column / row (logged once at INFO), so the output is ``width + width % 2`` × ``height + height % 2``.
    ``preset``: libx264's (:data:`PRESET`). ``metadata``: container tags (e.g.
    ``{"comment": ...}``). Call :meth:`close` (or use ``with``) to finish the file;
    it is safe to call twice.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        width: int,
        height: int,
        *,
        time_base: Fraction,
        frame_rate: Fraction,
        audio_from: str | os.PathLike[str] | None = None,
        crf: int = 20,
        preset: str = PRESET,
        metadata: Mapping[str, str] | None = None,
    ) -> None:
        if width < 1 or height < 1:
            raise ValueError(f"invalid frame size {width}x{height}")
        self.path = Path(path)
        self.width, self.height = width, height
        self.encoded_width, self.encoded_height = width + width % 2, height + height % 2
        if (self.encoded_width, self.encoded_height) != (width, height):
            log.info("padding %dx%d frames to %dx%d: H.264 yuv420p needs even dimensions",
                     width, height, self.encoded_width, self.encoded_height)
        self.time_base = Fraction(time_base)
        self.frame_rate = Fraction(frame_rate) if frame_rate and frame_rate > 0 else _FALLBACK_RATE
        self._step = max(1, round(1 / (self.frame_rate * self.time_base)))
        self._last_pts: int | None = None
        self._count = 0
        self._closed = False
        self._audio_source: av.container.InputContainer | None = None
        self._audio_packets: Iterator[av.Packet] | None = None
        self._pending_audio: av.Packet | None = None
        self._dropped_audio = 0
        self.audio_mode: str | None = None  # "copy", "aac" or None

        self._out = av.open(str(self.path), "w", format="mp4", container_options={"movflags": "+faststart"})
        try:
            stream = self._out.add_stream("libx264", rate=self.frame_rate, options={"crf": str(crf), "preset": preset})
            stream.width, stream.height, stream.pix_fmt = self.encoded_width, self.encoded_height, "yuv420p"
            stream.codec_context.time_base = self.time_base
            stream.time_base = self.time_base
            ctx = stream.codec_context
            ctx.colorspace, ctx.color_primaries, ctx.color_trc = 1, 1, 1  # AVCOL_*_BT709
            ctx.color_range = 1  # limited ("tv") range
            self._video = stream
            if audio_from is not None:
                self._setup_audio(Path(audio_from))
            self._out.metadata.update(metadata or {})  # container tags, e.g. "comment"; written with the header
            self._out.start_encoding()  # opens the encoders and writes the header
        except BaseException:
            self._abort()
            raise

    # -- audio -------------------------------------------------------------------------------------------------

    def _setup_audio(self, source: Path) -> None:
        container = _open_input(source)
        self._audio_source = container
        in_audio = _audio_stream(container)
        if in_audio is None:
            return
        if in_audio.codec_context is None:
            log.warning("%s: audio codec unknown, the output has no audio", source)
            return
        codec = _codec_name(in_audio)
        if codec in MP4_AUDIO_CODECS:
            out_audio = self._out.add_stream_from_template(in_audio)
            self.audio_mode = "copy"
            self._audio_packets = self._copied_audio(container, in_audio, out_audio, source)
        else:
            log.warning("%s: audio codec %s cannot go into MP4, re-encoding it to AAC", source, codec)
            rate = in_audio.codec_context.sample_rate or 48000
            aac_rates = av.codec.Codec("aac", "w").audio_rates or ()
            if aac_rates and rate not in aac_rates:
                rate = 48000
            out_audio = self._out.add_stream("aac", rate=rate)
            channels = in_audio.codec_context.layout.nb_channels
            out_audio.layout = "mono" if channels == 1 else "stereo"  # AAC wants a named layout; downmix others
            out_audio.format = "fltp"
            out_audio.codec_context.time_base = Fraction(1, rate)
            self.audio_mode = "aac"
            self._audio_packets = self._reencoded_audio(container, in_audio, out_audio, source)

    @staticmethod
    def _copied_audio(container: av.container.InputContainer, in_audio: av.audio.stream.AudioStream,
                      out_audio: av.stream.Stream, source: Path) -> Iterator[av.Packet]:
        try:
            for packet in container.demux(in_audio):
                if packet.size == 0 or (packet.dts is None and packet.pts is None):
                    continue  # the demuxer's end-of-stream marker, or a packet that cannot be placed
                if packet.dts is None:
                    packet.dts = packet.pts
                packet.stream = out_audio
                yield packet
        except av.error.FFmpegError as err:
            raise VideoError(f"{source}: cannot read its audio ({_reason(err)})") from err

    @staticmethod
    def _reencoded_audio(container: av.container.InputContainer, in_audio: av.audio.stream.AudioStream,
                         out_audio: av.audio.stream.AudioStream, source: Path) -> Iterator[av.Packet]:
        try:
            for packet in container.demux(in_audio):
                for frame in packet.decode():
                    yield from out_audio.encode(frame)
            yield from out_audio.encode(None)
        except av.error.FFmpegError as err:
            raise VideoError(f"{source}: cannot re-encode its audio ({_reason(err)})") from err

    @staticmethod
    def _packet_time(packet: av.Packet) -> float:
        ts = packet.dts if packet.dts is not None else packet.pts
        return float(ts * packet.time_base) if ts is not None and packet.time_base else -math.inf

    def _mux_audio_until(self, time: float) -> None:
        """Mux source audio packets whose timestamp is at most ``time`` seconds (all of them for ``inf``)."""
        if self._audio_packets is None:
            return
        while True:
            if self._pending_audio is None:
                self._pending_audio = next(self._audio_packets, None)
                if self._pending_audio is None:
                    self._audio_packets = None
                    return
            packet, self._pending_audio = self._pending_audio, None
            if self._packet_time(packet) > time:
                self._pending_audio = packet
                return
            try:
                self._out.mux(packet)
            except av.error.ArgumentError as err:  # e.g. a source packet whose dts goes backwards: drop it
                self._dropped_audio += 1
                if self._dropped_audio == 1:
                    log.warning("%s: dropping audio packet(s) the MP4 muxer refuses (%s)", self.path, _reason(err))

    def _mux_video(self, packets: Sequence[av.Packet]) -> None:
        for packet in packets:
            self._mux_audio_until(self._packet_time(packet))
            self._out.mux(packet)

    # -- video -------------------------------------------------------------------------------------------------

    def write(self, image: np.ndarray, pts: int | None) -> None:
        """Encode one ``(height, width, 3)`` uint8 RGB frame shown at ``pts`` (in ``time_base``)."""
        if self._closed:
            raise ValueError("VideoWriter is closed")
        if image.shape != (self.height, self.width, 3) or image.dtype != np.uint8:
            raise ValueError(
                f"expected a ({self.height}, {self.width}, 3) uint8 image, got {image.shape} {image.dtype}"
            )
        pad_h, pad_w = self.encoded_height - self.height, self.encoded_width - self.width
        if pad_h or pad_w:
            image = np.pad(image, ((0, pad_h), (0, pad_w), (0, 0)), mode="edge")
        if pts is None:
            pts = self._last_pts + self._step if self._last_pts is not None else self._count * self._step
        pts = int(pts)
        if self._last_pts is not None and pts <= self._last_pts:
            log.debug("pts %d after %d is not increasing; using %d", pts, self._last_pts, self._last_pts + 1)
            pts = self._last_pts + 1
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
        frame = frame.reformat(format="yuv420p", dst_colorspace="itu709", dst_color_range="MPEG")
        frame.pts = pts
        frame.duration = self._step  # only the last frame's duration is not implied by the next pts
        frame.time_base = self.time_base
        self._mux_video(self._video.encode(frame))
        self._last_pts = pts
        self._count += 1

    def write_batch(self, batch_images: np.ndarray, pts: Sequence[int | None]) -> None:
        """:meth:`write` each of ``(N, H, W, 3)`` uint8 RGB images with its pts."""
        if len(batch_images) != len(pts):
            raise ValueError(f"{len(batch_images)} images but {len(pts)} timestamps")
        for image, p in zip(batch_images, pts, strict=True):
            self.write(image, p)

    @property
    def frames_written(self) -> int:
        return self._count

    def close(self) -> None:
        """Flush the encoder, mux the remaining audio and finalize the MP4 (moves ``moov`` to the front)."""
        if self._closed:
            return
        self._closed = True
        try:
            self._mux_video(self._video.encode(None))
            self._mux_audio_until(math.inf)
        finally:
            self._close_containers()

    def _close_containers(self) -> None:
        try:
            self._out.close()
        finally:
            if self._audio_source is not None:
                self._audio_source.close()
                self._audio_source = None

    def _abort(self) -> None:
        """Close without flushing (after an error); secondary FFmpeg errors are logged, not raised."""
        self._closed = True
        try:
            self._close_containers()
        except av.error.FFmpegError as err:
            log.debug("while closing %s after an error: %s", self.path, err)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is None:
            self.close()
        else:
            self._abort()

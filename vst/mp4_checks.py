"""Checks on a finished MP4 file: its top-level boxes, whether ``moov`` precedes ``mdat`` (fast start) and whether a
browser plays it (H.264 yuv420p video, browser-playable audio, fast start). Nothing here raises on a bad file."""

from __future__ import annotations

import os

import av
import av.error

#: Audio codecs that a browser plays from an MP4 (checked by :func:`is_browser_playable`).
BROWSER_AUDIO_CODECS: frozenset[str] = frozenset({"aac", "mp3", "opus", "flac"})


def _codec_name(stream: av.stream.Stream) -> str | None:
    """The codec's canonical name (``"mp3"``, ``"av1"``), not the decoder's (``"mp3float"``, ``"libdav1d"``)."""
    if stream.codec_context is None:
        return None
    return stream.codec_context.codec.canonical_name


def mp4_top_level_boxes(path: str | os.PathLike[str]) -> list[str]:
    """The four-character types of an MP4/MOV file's top-level boxes in file order, e.g. ``['ftyp', 'moov', 'mdat']``.
    Stops at the first malformed box header."""
    boxes: list[str] = []
    with open(path, "rb") as f:
        f.seek(0, os.SEEK_END)
        end = f.tell()
        pos = 0
        while pos + 8 <= end:
            f.seek(pos)
            header = f.read(8)
            size, kind = int.from_bytes(header[:4], "big"), header[4:8]
            if size == 1:
                size = int.from_bytes(f.read(8), "big")
            elif size == 0:
                size = end - pos
            if size < 8 or not all(32 <= b < 127 for b in kind):
                break
            boxes.append(kind.decode("ascii"))
            pos += size
    return boxes


def is_faststart(path: str | os.PathLike[str]) -> bool:
    """True when the file's ``moov`` box comes before its ``mdat`` (playback can start before the download ends)."""
    boxes = mp4_top_level_boxes(path)
    return "moov" in boxes and "mdat" in boxes and boxes.index("moov") < boxes.index("mdat")


def is_browser_playable(path: str | os.PathLike[str]) -> bool:
    """True for an MP4/MOV with H.264 yuv420p video, browser-playable audio (if any) and ``moov`` before ``mdat``."""
    try:
        with av.open(str(path), "r") as container:
            if not container.streams.video:
                return False
            video = container.streams.video[0]
            if _codec_name(video) != "h264":
                return False
            if video.codec_context.pix_fmt != "yuv420p":
                return False
            for audio in container.streams.audio:
                if _codec_name(audio) not in BROWSER_AUDIO_CODECS:
                    return False
            if "mp4" not in container.format.name.split(","):
                return False
    except (av.error.FFmpegError, OSError):
        return False
    return is_faststart(path)

"""Exceptions whose message is a one-line explanation meant for the user (CLI and app show it as is)."""

from __future__ import annotations


def first_line(err: BaseException) -> str:
    """The first line of ``err``'s message (some libraries' run over several lines), or its type's name when the
    message is empty."""
    return str(err).splitlines()[0] if str(err).strip() else type(err).__name__


class VSTError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing, one-line message."""


class VideoError(VSTError):
    """The input is not a readable video: missing, not a video, corrupt, empty or an unsupported codec."""


class StyleNotFoundError(VSTError):
    """A style slug is unknown, or its checkpoint was found nowhere (the message names what was tried)."""


class OutputExistsError(VSTError):
    """The output path exists and overwriting was not asked for."""


class OutputError(VSTError):
    """The output cannot be written: its folder is read-only or missing, its name is a folder, the disk is full."""


class FrameSizeError(VideoError):
    """The video's frames (after any downscaling) are smaller than the networks can take."""


class CheckpointError(VSTError):
    """A checkpoint folder is missing a file, or a file is damaged, malformed, oversized or does not fit its config."""


class StylePictureError(VSTError):
    """A style picture cannot be used: missing, not a JPEG/PNG/WebP, damaged, too large or too small."""

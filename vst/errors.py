"""Exceptions whose message is a one-line explanation meant for the user (CLI and app show it as is)."""

from __future__ import annotations


class VSTError(Exception):
    """Base class: ``str(err)`` is a complete, user-facing, one-line message."""


class VideoError(VSTError):
    """The input is not a readable video: missing, not a video, corrupt, empty or an unsupported codec."""


class StyleNotFoundError(VSTError):
    """A style slug is unknown, or its checkpoint was found nowhere (the message names what was tried)."""


class OutputExistsError(VSTError):
    """The output path exists and overwriting was not asked for."""

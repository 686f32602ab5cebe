"""vst: real-time, flicker-free video neural style transfer (Huang et al. 2017)."""

from .catalog import STYLES, VARIANTS, Style, get_style
from .errors import (
    CheckpointError,
    FrameSizeError,
    OutputError,
    OutputExistsError,
    StyleNotFoundError,
    VideoError,
    VSTError,
)
from .hub import load_model, resolve_checkpoint
from .model import StyleNet
from .pipeline import RenderResult, Stylizer, render_video, stylize_video

__all__ = [
    "STYLES", "VARIANTS", "Style", "get_style", "CheckpointError", "FrameSizeError", "OutputError", "OutputExistsError",
    "StyleNotFoundError", "VideoError", "VSTError",
    "load_model", "resolve_checkpoint", "StyleNet", "RenderResult", "Stylizer", "render_video", "stylize_video",
]
__version__ = "0.1.0"

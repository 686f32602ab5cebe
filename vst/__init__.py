"""vst: real-time, flicker-free video neural style transfer (Huang et al. 2017)."""

from .catalog import VARIANTS, Catalog, Style, Variant, get_style, load_catalog
from .denoise import DenoiseOptions, InputDenoiser
from .errors import (
    CheckpointError,
    FrameSizeError,
    OutputError,
    OutputExistsError,
    StyleNotFoundError,
    StylePictureError,
    VideoError,
    VSTError,
)
from .hub import load_model, resolve_checkpoint
from .model import StyleNet
from .pipeline import RenderResult, Stylizer, render_video, stylize_video
from .smoothing import FlowSmoother, SmoothingOptions
from .style_picture import StylePicture, open_style_picture

__all__ = [
    "Catalog", "VARIANTS", "Variant", "Style", "get_style", "load_catalog", "CheckpointError", "FrameSizeError", "OutputError",
    "OutputExistsError", "StyleNotFoundError", "StylePictureError", "VideoError", "VSTError",
    "load_model", "resolve_checkpoint", "StyleNet", "RenderResult", "Stylizer", "render_video", "stylize_video",
    "StylePicture", "open_style_picture", "FlowSmoother", "SmoothingOptions",
    "DenoiseOptions", "InputDenoiser",
]
__version__ = "0.1.0"

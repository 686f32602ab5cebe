"""Opening a visitor's style picture safely: any file in, an RGB picture or one line saying why not.

:func:`open_style_picture` reads the file once into memory (at most :data:`MAX_PICTURE_BYTES`, checked before reading)
and decodes it with Pillow's JPEG, PNG and WebP decoders only (:data:`ACCEPTED_FORMATS`; no other parser sees the
bytes). Before any pixel is decoded it checks, from the header, the format, the size (at most
:data:`MAX_PICTURE_PIXELS`: a decompression bomb, e.g. a 30000×30000 PNG of a few kilobytes, is refused unread) and
the smallest side (at least :data:`MIN_PICTURE_SIDE`). Then it decodes the first frame, applies the EXIF rotation and
converts any mode to 8-bit RGB: CMYK, greyscale, 16-bit (scaled, not clipped), palette; transparency is composited on
white. A picture with a short side above :data:`MAX_STYLE_SIDE` is shrunk to it (the style network sees 256×256; a
large JPEG is decoded at a reduced scale to begin with).

Animated PNG and WebP: the **first frame** is the style, and :attr:`StylePicture.note` says so (one line the command
line prints and the app can show). GIF is refused like every format outside :data:`ACCEPTED_FORMATS` — BMP, TIFF,
HEIC/AVIF, SVG, PDF, ICO … — with a line naming the format when it is recognised. Every refusal is a
:class:`~vst.errors.StylePictureError` with a one-line message; nothing is written to disk.
"""

from __future__ import annotations

import hashlib
import io
import logging
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import StylePictureError, first_line

log = logging.getLogger(__name__)

#: Largest file accepted, in bytes (checked before reading).
MAX_PICTURE_BYTES = 30_000_000
#: Largest picture accepted, in pixels (from the header, before decoding): 40 MP, e.g. 8000×5000.
MAX_PICTURE_PIXELS = 40_000_000
#: Smallest side accepted, in pixels: below it a picture holds no brush strokes to speak of.
MIN_PICTURE_SIDE = 32
#: The returned picture's short side is at most this (the style network sees a 256×256 centre square).
MAX_STYLE_SIDE = 1024
#: Pillow's decoders that may read a style picture (the JPEG one also opens a camera's MPO: a JPEG with extra
#: pictures after the first, of which only the first is read).
ACCEPTED_FORMATS = ("JPEG", "PNG", "WEBP")
ACCEPTED_NAMES = "JPEG, PNG or WebP"
#: Leading bytes of common formats refused, to name them in the message.
_REFUSED_SIGNATURES = (
    (b"GIF87a", "a GIF"), (b"GIF89a", "a GIF"), (b"BM", "a BMP"), (b"II*\x00", "a TIFF"), (b"MM\x00*", "a TIFF"),
    (b"%PDF", "a PDF"), (b"\x00\x00\x01\x00", "an ICO"), (b"8BPS", "a Photoshop (PSD)"), (b"\xff\x0a", "a JPEG XL"),
    (b"\x00\x00\x00\x0cJXL ", "a JPEG XL"), (b"<?xml", "an XML/SVG"), (b"<svg", "an SVG"),
)
#: Pillow's decoding errors for damaged data (a truncated file, a broken stream, bad EXIF).
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, IndexError, KeyError)


@dataclass(frozen=True)
class StylePicture:
    """A style picture as :func:`open_style_picture` returns it."""

    image: Image.Image  #: 8-bit RGB, rotated upright; short side at most :data:`MAX_STYLE_SIDE`
    sha256: str  #: of the file's bytes, hex
    name: str  #: the file's name, for messages
    note: str | None = None  #: one line to show the user (an animation reduced to its first frame), else None


def _refused_format(data: bytes) -> str:
    """What the leading bytes say the file is, e.g. ``"a GIF"``; ``"not a picture"`` when nothing is recognised."""
    head = data[:16].lstrip()
    for signature, what in _REFUSED_SIGNATURES:
        if head.startswith(signature):
            return what
    if data[4:8] == b"ftyp":  # ISO media: HEIC/AVIF pictures, or a video
        return f"an ISO media file ({data[8:12].decode('ascii', 'replace').strip()})"
    return "not a picture"


def _read_capped(path: Path) -> bytes:
    """The file's bytes, refusing a missing, unreadable or oversized file before reading it."""
    try:
        size = path.stat().st_size
        if not path.is_file():
            raise StylePictureError(f"{path} is not a file")
        if size > MAX_PICTURE_BYTES:
            raise StylePictureError(f"{path.name} is {size / 1e6:.1f} MB; style pictures may be at most "
                                    f"{MAX_PICTURE_BYTES / 1e6:.0f} MB")
        with path.open("rb") as f:
            data = f.read(MAX_PICTURE_BYTES + 1)  # the file may have grown since stat()
    except FileNotFoundError:
        raise StylePictureError(f"style picture {path} not found") from None
    except OSError as err:
        raise StylePictureError(f"cannot read {path} ({err.strerror or err})") from None
    if len(data) > MAX_PICTURE_BYTES:
        raise StylePictureError(f"{path.name} is over {MAX_PICTURE_BYTES / 1e6:.0f} MB; style pictures may be at "
                                f"most that")
    if not data:
        raise StylePictureError(f"{path.name} is empty")
    return data


def _to_rgb(image: Image.Image) -> Image.Image:
    """Any decoded mode as 8-bit RGB: 16-bit and 32-bit greyscale scaled to 8 bits, transparency over white."""
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode != "F" else max(1.0, float(values.max()))
        image = Image.fromarray(np.clip(values / top * 255.0 + 0.5, 0, 255).astype(np.uint8), "L")
    has_alpha = image.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in image.info
    if not has_alpha:
        return image.convert("RGB")
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    return Image.alpha_composite(white, rgba).convert("RGB")


def _shrunk(image: Image.Image) -> Image.Image:
    """``image`` with its short side at most :data:`MAX_STYLE_SIDE` (aspect ratio kept)."""
    short = min(image.size)
    if short <= MAX_STYLE_SIDE:
        return image
    scale = MAX_STYLE_SIDE / short
    size = (max(1, round(image.width * scale)), max(1, round(image.height * scale)))
    return image.resize(size, Image.LANCZOS, reducing_gap=3.0)


def open_style_picture(path: str | Path) -> StylePicture:
    """Open a style picture (see the module docstring for what is checked and converted).

    Returns its RGB image, the file's sha256 and a note for an animation; :class:`StylePictureError` (one line)
    otherwise."""
    path = Path(path)
    data = _read_capped(path)
    name = path.name
    with warnings.catch_warnings():  # the size is checked below, against a lower limit than Pillow's warning
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data), formats=ACCEPTED_FORMATS)
        except UnidentifiedImageError:
            raise StylePictureError(f"{name} is {_refused_format(data)}; a style picture must be a "
                                    f"{ACCEPTED_NAMES} file") from None
        except Image.DecompressionBombError:
            raise StylePictureError(f"{name} declares over {MAX_PICTURE_PIXELS / 1e6:.0f} megapixels (a "
                                    f"decompression bomb?); style pictures may have at most that") from None
        except _DECODE_ERRORS as err:
            raise StylePictureError(f"{name} is a damaged picture ({err})") from None
    width, height = image.size
    if width * height > MAX_PICTURE_PIXELS:
        raise StylePictureError(f"{name} is {width}×{height} pixels ({width * height / 1e6:.0f} MP); style pictures "
                                f"may have at most {MAX_PICTURE_PIXELS / 1e6:.0f} MP")
    if min(width, height) < MIN_PICTURE_SIDE:
        raise StylePictureError(f"{name} is {width}×{height} pixels; a style picture needs at least "
                                f"{MIN_PICTURE_SIDE} pixels on each side")
    frames = getattr(image, "n_frames", 1) if image.format in ("PNG", "WEBP") else 1
    note = f"{name} is an animated {image.format} ({frames} frames): its first frame is the style" \
        if frames > 1 else None
    if image.format in ("JPEG", "MPO"):
        scale = max(1.0, min(width, height) / MAX_STYLE_SIDE)
        image.draft("RGB", (int(width / scale), int(height / scale)))  # ½, ¼ or ⅛ scale where that suffices
    try:
        image.load()  # the first frame
        upright = ImageOps.exif_transpose(image)
        rgb = _shrunk(_to_rgb(upright))
    except _DECODE_ERRORS as err:
        raise StylePictureError(f"{name} is a damaged or truncated picture ({first_line(err)})") from None
    if note:
        log.info("%s", note)
    return StylePicture(rgb, hashlib.sha256(data).hexdigest(), name, note)

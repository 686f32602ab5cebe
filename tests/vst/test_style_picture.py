"""Opening a visitor's style picture: real files written by Pillow, read back by the real decoders."""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from vst.errors import StylePictureError, VSTError
from vst.style_picture import (
    MAX_PICTURE_BYTES,
    MAX_STYLE_SIDE,
    MIN_PICTURE_SIDE,
    StylePicture,
    open_style_picture,
)


def refused(path: Path, *needles: str) -> str:
    """The one-line message of opening ``path``, checked to contain ``needles``."""
    with pytest.raises(StylePictureError) as info:
        open_style_picture(path)
    message = str(info.value)
    assert isinstance(info.value, VSTError) and "\n" not in message and message, message
    for needle in needles:
        assert needle in message, message
    return message


def pixel(picture: StylePicture, xy: tuple[int, int]) -> tuple[int, ...]:
    assert picture.image.mode == "RGB"
    return tuple(picture.image.getpixel(xy))  # type: ignore[arg-type]


def blank_png(path: Path, width: int, height: int) -> Path:
    """A valid black 1-bit greyscale PNG of ``width``×``height``, written row by row: the file is small (zeros compress
    about 1000:1) and writing it never holds the picture in memory, as decoding it would."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    compressor = zlib.compressobj(9)
    row = bytes(1 + (width + 7) // 8)  # filter byte 0, then the packed pixels
    data = b"".join(compressor.compress(row * 1000) for _ in range(height // 1000))
    data += compressor.compress(row * (height % 1000)) + compressor.flush()
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                     + chunk(b"IDAT", data) + chunk(b"IEND", b""))
    return path


def near(got: tuple[int, ...], want: tuple[int, ...], tolerance: int = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(got, want, strict=True))


# -- accepted pictures ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt, suffix", [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_accepted_formats_open_as_rgb_with_the_files_sha256(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"painting{suffix}"
    Image.new("RGB", (120, 80), (200, 40, 30)).save(path, fmt, quality=95)
    picture = open_style_picture(path)
    assert picture.image.size == (120, 80) and picture.note is None and picture.name == path.name
    assert near(pixel(picture, (60, 40)), (200, 40, 30))
    assert picture.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()


def test_cmyk_jpeg_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "print.jpg"
    Image.new("CMYK", (64, 64), (0, 255, 255, 0)).save(path, "JPEG", quality=95)  # pure red in print inks
    assert Image.open(path).mode == "CMYK"
    assert near(pixel(open_style_picture(path), (32, 32)), (255, 0, 0))


def test_greyscale_becomes_rgb(tmp_path: Path) -> None:
    path = tmp_path / "grey.png"
    Image.new("L", (64, 64), 90).save(path)
    assert pixel(open_style_picture(path), (5, 5)) == (90, 90, 90)


def test_16_bit_greyscale_is_scaled_not_clipped(tmp_path: Path) -> None:
    path = tmp_path / "deep.png"
    ramp = np.tile(np.linspace(0, 65535, 64), (64, 1)).astype(np.uint16)
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    picture = open_style_picture(path)
    assert pixel(picture, (0, 10)) == (0, 0, 0) and pixel(picture, (63, 10)) == (255, 255, 255)
    assert near(pixel(picture, (32, 10)), (132, 132, 132), 2)  # mid-grey, not clipped to white


def test_palette_with_transparency_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "palette.png"
    image = Image.new("P", (64, 64), 0)
    image.putpalette([0, 0, 255] + [255, 0, 0] * 255)  # index 0 blue, the rest red
    image.paste(1, (32, 0, 64, 64))
    image.save(path, transparency=0)  # the blue half is transparent
    picture = open_style_picture(path)
    assert pixel(picture, (5, 5)) == (255, 255, 255) and pixel(picture, (50, 5)) == (255, 0, 0)


def test_alpha_is_composited_on_white(tmp_path: Path) -> None:
    path = tmp_path / "alpha.png"
    Image.new("RGBA", (64, 64), (255, 0, 0, 128)).save(path)
    assert near(pixel(open_style_picture(path), (5, 5)), (255, 127, 127), 1)
    grey_alpha = tmp_path / "la.png"
    Image.new("LA", (64, 64), (0, 0)).save(grey_alpha)  # fully transparent black
    assert pixel(open_style_picture(grey_alpha), (5, 5)) == (255, 255, 255)


def test_exif_rotation_is_applied(tmp_path: Path) -> None:
    """Stored 80 wide and 40 high, red on the left; EXIF orientation 6 (rotate 90° clockwise to display): upright it
    is 40 wide and 80 high, red at the top."""
    path = tmp_path / "phone.jpg"
    image = Image.new("RGB", (80, 40), (0, 0, 255))
    image.paste((255, 0, 0), (0, 0, 40, 40))
    exif = Image.Exif()
    exif[0x0112] = 6
    image.save(path, "JPEG", quality=95, exif=exif)
    picture = open_style_picture(path)
    assert picture.image.size == (40, 80)
    assert near(pixel(picture, (20, 10)), (255, 0, 0), 12) and near(pixel(picture, (20, 70)), (0, 0, 255), 12)


@pytest.mark.parametrize("fmt, suffix", [("PNG", ".png"), ("WEBP", ".webp")])
def test_animated_picture_gives_its_first_frame_and_says_so(tmp_path: Path, fmt: str, suffix: str) -> None:
    path = tmp_path / f"animated{suffix}"
    frames = [Image.new("RGB", (64, 48), colour) for colour in ((250, 0, 0), (0, 250, 0), (0, 0, 250))]
    frames[0].save(path, fmt, save_all=True, append_images=frames[1:], duration=100, lossless=True)
    picture = open_style_picture(path)
    assert near(pixel(picture, (30, 20)), (250, 0, 0))
    assert picture.note is not None and "animated" in picture.note and "3 frames" in picture.note
    assert "first frame" in picture.note and "\n" not in picture.note


def test_large_pictures_are_shrunk_to_the_style_side(tmp_path: Path) -> None:
    for fmt, suffix in (("PNG", ".png"), ("JPEG", ".jpg")):  # JPEG: decoded at a reduced scale first
        path = tmp_path / f"large{suffix}"
        Image.new("RGB", (3000, 2250), (10, 120, 200)).save(path, fmt)
        picture = open_style_picture(path)
        assert picture.image.size == (MAX_STYLE_SIDE * 4 // 3, MAX_STYLE_SIDE)
        assert near(pixel(picture, (100, 100)), (10, 120, 200))


def test_a_hand_written_png_decodes(tmp_path: Path) -> None:
    """The writer of the oversized test pictures makes valid PNGs: a small one opens, black."""
    picture = open_style_picture(blank_png(tmp_path / "blank.png", 100, 2500))
    assert picture.image.size == (100, 2500) and pixel(picture, (50, 2400)) == (0, 0, 0)


def test_the_smallest_side_accepted(tmp_path: Path) -> None:
    path = tmp_path / "small.png"
    Image.new("RGB", (MIN_PICTURE_SIDE, MIN_PICTURE_SIDE), (1, 2, 3)).save(path)
    assert open_style_picture(path).image.size == (MIN_PICTURE_SIDE, MIN_PICTURE_SIDE)


# -- refused pictures ----------------------------------------------------------------------------------------------


def test_tiny_picture_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "icon.png"
    Image.new("RGB", (MIN_PICTURE_SIDE - 1, 200)).save(path)
    refused(path, "icon.png", f"{MIN_PICTURE_SIDE - 1}×200", f"at least {MIN_PICTURE_SIDE} pixels")


@pytest.mark.parametrize("content", [b"these are my holiday notes\n" * 50, os.urandom(5000)])
def test_not_a_picture_is_refused(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "painting.jpg"
    path.write_bytes(content)
    refused(path, "painting.jpg is not a picture", "JPEG, PNG or WebP")


def test_empty_and_missing_files_and_folders_are_refused(tmp_path: Path) -> None:
    (tmp_path / "empty.png").write_bytes(b"")
    refused(tmp_path / "empty.png", "empty")
    refused(tmp_path / "nowhere.png", "not found")
    refused(tmp_path, "not a file")


@pytest.mark.parametrize("fmt, suffix, what", [("GIF", ".gif", "a GIF"), ("BMP", ".bmp", "a BMP"),
                                               ("TIFF", ".tif", "a TIFF")])
def test_other_formats_are_refused_by_name(tmp_path: Path, fmt: str, suffix: str, what: str) -> None:
    path = tmp_path / f"painting{suffix}"
    Image.new("RGB", (64, 64), (9, 9, 9)).save(path, fmt)
    refused(path, f"painting{suffix} is {what}", "JPEG, PNG or WebP")


def test_animated_gif_is_refused_as_a_gif(tmp_path: Path) -> None:
    path = tmp_path / "loop.gif"
    frames = [Image.new("RGB", (64, 48), colour) for colour in ((250, 0, 0), (0, 250, 0))]
    frames[0].save(path, "GIF", save_all=True, append_images=frames[1:], duration=100)
    refused(path, "loop.gif is a GIF")


@pytest.mark.parametrize("fmt, suffix", [("JPEG", ".jpg"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_truncated_picture_is_refused(tmp_path: Path, fmt: str, suffix: str) -> None:
    full = tmp_path / f"full{suffix}"
    noise = np.random.default_rng(0).integers(0, 256, (256, 256, 3), dtype=np.uint8)
    Image.fromarray(noise).save(full, fmt)
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])
    refused(cut, f"cut{suffix} is a damaged")


def test_decompression_bomb_is_refused_from_its_header(tmp_path: Path) -> None:
    """A 30000×30000 PNG of about 100 KB would decode into 900 MP (2.7 GB as RGB)."""
    path = blank_png(tmp_path / "bomb.png", 30000, 30000)
    assert path.stat().st_size < 200_000
    refused(path, "bomb.png", "megapixels")


def test_picture_over_the_pixel_cap_is_refused_with_its_size(tmp_path: Path) -> None:
    path = blank_png(tmp_path / "mural.png", 7000, 7000)  # 49 MP: under Pillow's own limit, over ours
    refused(path, "mural.png is 7000×7000 pixels", "at most 40 MP")


def test_huge_file_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "huge.png"
    Image.new("RGB", (64, 64)).save(path)
    with path.open("r+b") as f:
        f.truncate(MAX_PICTURE_BYTES + 1)  # a valid PNG header followed by zeros (sparse: nothing written)
    refused(path, "huge.png", "MB", "at most")

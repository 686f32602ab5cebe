"""The look test's trials: which held-out frames are shown (seeded, spread in time) on which side, and the sheet a
judge sees for each, ``painting | photo`` over ``A | B``, with ``QUESTIONS.md``'s text."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

from benchmarks.look_common import SIDES, UserError
from vst.pipeline import check_frame_size
from vst.video import VideoReader

#: Sheet layout in pixels: margin around and between the panels, and the caption band above them.
PAD = 8
CAPTION_HEIGHT = 20
CAPTIONS = ("painting", "photo", "A", "B")
#: The panels' grid: painting | photo on the first row, A | B on the second.
COLUMNS, ROWS = 2, 2
BACKGROUND = (255, 255, 255)
LETTERBOX = (232, 232, 232)
#: A frame picked for a trial is at least this many frames away from the clip's other picks (never adjacent).
MIN_SEGMENT = 3


# ----------------------------------------------------------------------------------------------- frames


@dataclass(frozen=True)
class PickedFrame:
    """One trial's photo: ``image`` ``(H, W, 3)`` uint8 RGB, frame ``index`` (0-based, decode order) of ``clip``."""

    clip: Path
    index: int
    time: float
    image: np.ndarray = field(repr=False)


def count_frames(clip: Path, max_side: int) -> int:
    """How many frames ``clip`` decodes to (frame size checked against what the networks take)."""
    with VideoReader(clip, max_side=max_side) as reader:
        check_frame_size(clip, reader.info.width, reader.info.height, max_side)
        return sum(1 for _ in reader.frames())


def trials_per_clip(num_clips: int, trials: int, rng: np.random.Generator) -> list[int]:
    """Trials spread evenly over the clips; the remainder goes to clips drawn at random."""
    counts = [trials // num_clips] * num_clips
    for k in rng.permutation(num_clips)[: trials % num_clips]:
        counts[int(k)] += 1
    return counts


def spread_indices(num_frames: int, picks: int, rng: np.random.Generator) -> list[int]:
    """``picks`` frame indices of a clip of ``num_frames``: one per equal segment, drawn in its middle half, so
    they are spread over the clip and never adjacent."""
    if picks and num_frames < MIN_SEGMENT * picks:
        raise UserError(f"a clip of {num_frames} frames is too short for {picks} trials spread in time (it needs "
                        f"{MIN_SEGMENT * picks}): use fewer --trials or more --clips")
    bounds = np.linspace(0, num_frames, picks + 1).round().astype(int)
    indices = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        margin = max(1, (hi - lo) // 4)
        indices.append(int(lo + rng.integers(margin, hi - lo - margin)))  # segments of 3 or more frames
    return indices


def pick_frames(counts: Sequence[int], trials: int, seed: int) -> list[tuple[int, int]]:
    """``(clip number, frame index)`` of each trial, in trial order (clips interleaved at random), from the clips'
    frame ``counts``; deterministic in ``seed``."""
    rng = np.random.default_rng([seed, 1])
    picks = [(c, i) for c, (n, m) in enumerate(zip(counts, trials_per_clip(len(counts), trials, rng), strict=True))
             for i in spread_indices(n, m, rng)]
    return [picks[int(j)] for j in rng.permutation(len(picks))]


def assign_sides(trials: int, seed: int) -> list[bool]:
    """Per trial, whether the first system (``--a``) is shown as A: each system is A in half the trials (an odd
    trial drawn at random), in a seeded random order."""
    rng = np.random.default_rng([seed, 2])
    first_is_a = [i < trials // 2 for i in range(trials)]
    if trials % 2:
        first_is_a[-1] = bool(rng.integers(2))
    return [first_is_a[int(j)] for j in rng.permutation(trials)]


def enlarged(image: np.ndarray, min_side: int) -> np.ndarray:
    """``image`` ``(H, W, 3)`` uint8 enlarged (bicubic, by a whole factor) until its short side is at least
    ``min_side``, as the contact sheets do with the 176×144 carphone clip: a judge cannot see strokes at that size."""
    factor = -(-min_side // min(image.shape[:2]))
    if factor <= 1:
        return image
    picture = Image.fromarray(image)
    return np.asarray(picture.resize((picture.width * factor, picture.height * factor), Image.BICUBIC))


def read_frames(clips: Sequence[Path], trials: int, seed: int, max_side: int, min_side: int = 0) -> list[PickedFrame]:
    """The trials' photos, in trial order (see :func:`pick_frames`); small ones enlarged (:func:`enlarged`)."""
    counts = [count_frames(clip, max_side) for clip in clips]
    picked = pick_frames(counts, trials, seed)
    found: dict[tuple[int, int], PickedFrame] = {}
    for c, clip in enumerate(clips):
        wanted = {i for cc, i in picked if cc == c}
        with VideoReader(clip, max_side=max_side) as reader:
            for index, (image, _, time) in enumerate(reader.frames()):
                if index in wanted:
                    found[(c, index)] = PickedFrame(clip, index, time, enlarged(image, min_side))
    missing = [f"{clips[c]} frame {i}" for c, i in picked if (c, i) not in found]
    if missing:
        raise UserError(f"could not decode {', '.join(missing)} a second time")
    return [found[p] for p in picked]


# ----------------------------------------------------------------------------------------------- sheets


def sheet_size(width: int, height: int) -> tuple[int, int]:
    """``(width, height)`` of a sheet for frames of ``width``×``height``: four panels in two rows (painting | photo
    over A | B, so a judge's viewer shows them large), margins, captions."""
    return PAD + COLUMNS * (width + PAD), ROWS * (CAPTION_HEIGHT + height) + PAD


def panel_box(panel: int, width: int, height: int) -> tuple[int, int, int, int]:
    """``(left, top, right, bottom)`` of panel ``panel`` (0: painting, 1: photo, 2: A, 3: B; reading order) on a
    sheet for ``width``×``height``."""
    row, column = divmod(panel, COLUMNS)
    left = PAD + column * (width + PAD)
    top = CAPTION_HEIGHT + row * (CAPTION_HEIGHT + height)
    return left, top, left + width, top + height


def load_painting(path: Path) -> Image.Image:
    """The painting file as upright RGB; :class:`UserError` when it is missing or not an image."""
    try:
        with Image.open(path) as image:
            return ImageOps.exif_transpose(image).convert("RGB")
    except (OSError, UnidentifiedImageError) as err:
        raise UserError(f"--style-image {path}: cannot read it as an image ({err})") from None


def fitted_painting(painting: Image.Image, width: int, height: int) -> Image.Image:
    """The painting fitted inside ``width``×``height`` (aspect kept), letterboxed on a light grey panel."""
    panel = Image.new("RGB", (width, height), LETTERBOX)
    fitted = ImageOps.contain(painting, (width, height), Image.Resampling.LANCZOS)
    panel.paste(fitted, ((width - fitted.width) // 2, (height - fitted.height) // 2))
    return panel


def compose_sheet(painting: Image.Image, photo: np.ndarray, a: np.ndarray, b: np.ndarray) -> Image.Image:
    """``painting | photo`` over ``A | B``: ``photo``, ``a``, ``b`` ``(H, W, 3)`` uint8; captions only, nothing
    else."""
    height, width = photo.shape[:2]
    sheet = Image.new("RGB", sheet_size(width, height), BACKGROUND)
    draw = ImageDraw.Draw(sheet)
    panels = [fitted_painting(painting, width, height), *(Image.fromarray(x) for x in (photo, a, b))]
    for column, (caption, panel) in enumerate(zip(CAPTIONS, panels, strict=True)):
        left, top, right, _ = panel_box(column, width, height)
        text_left, _, text_right, text_bottom = draw.textbbox((0, 0), caption)
        x = left + max(0, (right - left - (text_right - text_left)) // 2)
        draw.text((x, top - CAPTION_HEIGHT + max(0, (CAPTION_HEIGHT - text_bottom) // 2)), caption, fill="black")
        sheet.paste(panel, (left, top))
    return sheet


def save_sheet(sheet: Image.Image, path: Path) -> str:
    """Write ``sheet`` as a plain PNG (lossless: the strokes as rendered; no metadata); returns the file's SHA-256."""
    sheet.save(path, "PNG")
    return hashlib.sha256(path.read_bytes()).hexdigest()


def questions_text(title: str, trial_ids: Sequence[str]) -> str:
    """``QUESTIONS.md``: what the judge is asked and the exact answer format (no system names)."""
    example = ", ".join(f'"{t}": "{SIDES[i % 2]}"' for i, t in enumerate(trial_ids[:2]))
    more = ", ..." if len(trial_ids) > 2 else ""
    return f"""# Look test: {title}

Each sheet `trial_XX.png` shows, on the top row, **painting** ({title}) and **photo** (a frame of a video); on the bottom row, two
renderings of that photo in the painting's style, **A** and **B**.

**For each trial, which would a visitor prefer as this photo painted in this style: A or B?**

Judge each sheet on its own; answer every trial with "A" or "B" (no ties). Trials: {', '.join(trial_ids)}.

Answer with one JSON object, one entry per trial:

```json
{{{example}{more}}}
```

Optionally add a short reason per trial in a separate `"reasons"` object:

```json
{{{example}{more}, "reasons": {{"{trial_ids[0]}": "one short sentence"}}}}
```
"""


def trial_id(number: int) -> str:
    """``trial_01`` … for 1-based ``number``."""
    return f"trial_{number:02d}"

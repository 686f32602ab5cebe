"""Quality of the bundled styles on held-out clips: flicker and style distance of every variant, plus a contact sheet.

    python benchmarks/quality.py [--data-dir data] [--styles starry-night ...] [--frames 60]

Needs `python -m training prepare` (for the held-out clips bikes.mp4 and carphone.mp4, never used in training) and the
painting files (default: ../shared/styles, not part of the repository). The variants of a style are evaluated in the
same process on the same frames; the figures to quote are ratios: temporal / framewise (warping error ≤ 0.6, style
distance ≤ 1.15), and for the real-time network fast / framewise warping error (≤ 0.6) and fast / temporal style
distance (≤ 1.25). Writes benchmarks/results/quality.json and docs/contact_sheet.png (per style: input, framewise,
temporal, fast).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.__main__ import held_out_clips  # noqa: E402
from training.evaluate import evaluate, load_clip  # noqa: E402
from vst.catalog import FAST_VARIANT  # noqa: E402
from vst.hub import installed_styles, load_model  # noqa: E402
from vst.pipeline import Stylizer  # noqa: E402

PAINTING_FILES = {
    "starry-night": "starry_night.jpg", "great-wave": "great_wave.jpg", "the-scream": "the_scream.jpg",
    "composition-vii": "composition_vii.jpg", "udnie": "udnie.jpg",
    "shipwreck-of-the-minotaur": "shipwreck_of_the_minotaur.jpg",
}


def contact_sheet(rows: list[tuple[str, list[np.ndarray]]], labels: list[str], path: Path) -> None:
    """A grid of frames: one row per style, one column per label, with captions."""
    h, w = rows[0][1][0].shape[:2]
    pad, top, left = 4, 22, 150
    sheet = Image.new("RGB", (left + len(labels) * (w + pad), top + len(rows) * (h + pad)), "white")
    draw = ImageDraw.Draw(sheet)
    for j, label in enumerate(labels):
        draw.text((left + j * (w + pad) + 4, 4), label, fill="black")
    for i, (name, images) in enumerate(rows):
        draw.text((4, top + i * (h + pad) + h // 2), name, fill="black")
        for j, image in enumerate(images):
            sheet.paste(Image.fromarray(image), (left + j * (w + pad), top + i * (h + pad)))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)


def markdown_table(results: dict[str, dict[str, dict[str, float]]]) -> str:
    """One row per style: the ratios that the quality bar is about, with the raw figures."""
    from vst.catalog import get_style

    lines = ["| style | temporal: warping error ÷ framewise | temporal: style distance ÷ framewise "
             "| fast: warping error ÷ framewise | fast: style distance ÷ temporal |",
             "| --- | --- | --- | --- | --- |"]
    for slug, r in results.items():
        t, f, q = r["temporal"], r["framewise"], r.get(FAST_VARIANT)
        cells = [get_style(slug).title,
                 f"{t['warping_error'] / f['warping_error']:.2f} ({t['warping_error']:.5f} vs {f['warping_error']:.5f})",
                 f"{t['style_distance'] / f['style_distance']:.2f} ({t['style_distance']:.3f} vs {f['style_distance']:.3f})"]
        if isinstance(q, dict):
            cells += [f"{q['warping_error'] / f['warping_error']:.2f}",
                      f"{q['style_distance'] / t['style_distance']:.2f} ({q['style_distance']:.3f})"]
        else:
            cells += ["—", "—"]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--paintings", type=Path, default=ROOT.parent / "shared" / "styles")
    parser.add_argument("--styles", nargs="+", help="default: every style with both variants installed")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--max-side", type=int, default=360)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "quality.json")
    parser.add_argument("--sheet", type=Path, default=ROOT / "docs" / "contact_sheet.png")
    parser.add_argument("--sheet-only", action="store_true",
                        help="draw the contact sheet and print the table from each style's exported metrics.json "
                             "(measured by `python -m training export`/`distill` the same way) instead of re-measuring")
    args = parser.parse_args()
    clips = held_out_clips(args.data_dir)
    styles = args.styles or [s.slug for s in installed_styles() if {"temporal", "framewise"} <= set(s.variants)]
    if not styles:
        sys.exit("no style with both variants is installed")
    sample = load_clip(clips[0], max_side=320, max_frames=120)[-1]  # cyclists in the street
    results, rows = {}, []
    installed = {s.slug: s for s in installed_styles()}
    for slug in styles:
        variants = ["framewise", "temporal"] + ([FAST_VARIANT] if FAST_VARIANT in installed[slug].variants else [])
        models = {v: load_model(slug, v) for v in variants}
        blank = np.full_like(sample, 255)
        rows.append((slug, [sample] + [Stylizer(models[v])(sample[None])[0] if v in models else blank
                                       for v in ("framewise", "temporal", FAST_VARIANT)]))
        if args.sheet_only:
            exported = installed[slug].variants["temporal"].parent / "metrics.json"
            if exported.is_file():
                results[slug] = {k: v for k, v in json.loads(exported.read_text()).items() if k != "eval"}
            continue
        metrics = evaluate(models, clips, args.paintings / PAINTING_FILES[slug], max_side=args.max_side,
                           max_frames=args.frames)
        t, f = metrics["temporal"], metrics["framewise"]
        results[slug] = {v: m.as_dict() for v, m in metrics.items()} | {
            "warping_error_ratio": t.warping_error / f.warping_error,
            "style_distance_ratio": t.style_distance / f.style_distance,
        }
        print(f"{slug:<28} temporal: warping error ×{results[slug]['warping_error_ratio']:.2f} "
              f"({t.warping_error:.5f} vs framewise {f.warping_error:.5f}), "
              f"style distance ×{results[slug]['style_distance_ratio']:.2f}, "
              f"content {t.content_distance:.3f} vs {f.content_distance:.3f}, {t.fps_640x360:.1f} fps at 640×360")
        if FAST_VARIANT in metrics:
            q = metrics[FAST_VARIANT]
            results[slug] |= {"fast_warping_error_ratio": q.warping_error / f.warping_error,
                              "fast_style_distance_ratio_vs_temporal": q.style_distance / t.style_distance}
            print(f"{'':<28} fast: warping error ×{results[slug]['fast_warping_error_ratio']:.2f} vs framewise, "
                  f"style distance ×{results[slug]['fast_style_distance_ratio_vs_temporal']:.2f} vs temporal, "
                  f"{q.fps_640x360:.1f} fps at 640×360")
    if not args.sheet_only:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"clips": [c.name for c in clips], "frames": args.frames,
                                         "max_side": args.max_side, "styles": results}, indent=2))
        print(f"wrote {args.json}")
    print(markdown_table(results))
    contact_sheet(rows, ["input (held-out clip)", "framewise baseline", "temporal (ours)", "fast (real-time)"],
                  args.sheet)
    print(f"wrote {args.sheet}")


if __name__ == "__main__":
    main()

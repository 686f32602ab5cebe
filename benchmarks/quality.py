"""Quality of the bundled styles on held-out clips, beside the classic networks: flicker, style and content distance.

    python benchmarks/quality.py --reference ../shared/reference [--styles great-wave ...] [--frames 60]
    python benchmarks/quality.py --sheet-only [--reference ../shared/reference]

Needs `python -m training prepare` (for the held-out clips bikes.mp4 and carphone.mp4, never used in training) and the
painting files (default: ../shared/styles, not part of the repository). Every network of a style is evaluated in the
same process on the same frames: the unstylized input, Johnson et al.'s classic framewise network where
``--reference`` has one (``training.classic``; benchmarks only, never bundled), the teacher (Magenta's arbitrary-style
network for the painting, ported: ``vst.teacher``; framewise, what visitors get elsewhere), our framewise baseline, our
temporal model, our real-time (fast) network and the Live tab's in-browser network distilled from it (live). Per clip
and as a mean over the clips:

* warping error (Lai et al. 2018; lower is steadier),
* style distance to the painting file (Gram matrices of VGG16 relu1_2…relu4_3, each relative to the painting's Gram
  energy; lower is closer to the painting's textures and colours),
* content distance to the input (VGG16 relu3_3, relative; lower keeps more of the scene).

Prints the figures with their ratios to the classic network and the flicker bars against the teacher and the classic
network; writes benchmarks/results/quality.json, one contact sheet per style (docs/contact_sheets/<slug>.jpg: input |
classic | teacher | framewise | temporal | fast | live on two held-out clips, frames large enough to judge strokes) and
the overview docs/contact_sheet.jpg. ``--clips`` scores other footage (the clips kept out of training and of every
choice) without touching the committed figures when ``--json`` and the sheets point elsewhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.__main__ import held_out_clips  # noqa: E402
from training.classic import classic_networks  # noqa: E402
from training.evaluate import StyleMetrics, evaluate, load_clip  # noqa: E402
from vst.catalog import VARIANTS, Catalog, Variant, load_catalog  # noqa: E402
from vst.checkpoint_check import load_network  # noqa: E402
from vst.hub import installed_styles, load_model  # noqa: E402
from vst.pipeline import Stylizer  # noqa: E402
from vst.teacher import teacher_for_painting  # noqa: E402

PAINTING_FILES = {
    "starry-night": "starry_night.jpg", "great-wave": "great_wave.jpg", "the-scream": "the_scream.jpg",
    "composition-vii": "composition_vii.jpg", "udnie": "udnie.jpg",
    "shipwreck-of-the-minotaur": "shipwreck_of_the_minotaur.jpg",
}
#: Column order of the tables and contact sheets; ``input`` is the unstylized frame, ``classic`` Johnson et al.'s.
NETWORKS = ("input", "classic", "teacher", Variant.FRAMEWISE, Variant.TEMPORAL, Variant.FAST, Variant.LIVE)
LABELS = {"input": "input (held-out clip)", "classic": "classic (Johnson et al.)",
          "teacher": "teacher (Magenta, framewise)", Variant.FRAMEWISE: "framewise baseline",
          Variant.TEMPORAL: "temporal (ours)", Variant.FAST: "fast (ours, real-time)",
          Variant.LIVE: "live (ours, in the browser)"}


class Unstylized(torch.nn.Module):
    """The identity: scores the input itself (its style distance is the yardstick of styles without a classic net)."""

    size_multiple = 1

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


# ----------------------------------------------------------------------------------------------- contact sheets


def sheet_frames(clips: list[Path]) -> list[np.ndarray]:
    """One frame per held-out clip: bikes' cyclists at 640×272, carphone's driver (176×144) enlarged 2×."""
    frames = []
    for clip in clips:
        frame = load_clip(clip, max_side=640, max_frames=120)[-1]
        if frame.shape[0] < 200:
            scale = -(-288 // frame.shape[0])
            image = Image.fromarray(frame)
            frame = np.asarray(image.resize((image.width * scale, image.height * scale), Image.BICUBIC))
        frames.append(frame)
    return frames


def draw_grid(rows: list[tuple[str, list[np.ndarray | None]]], labels: list[str], path: Path, *, left: int = 150,
              quality: int | None = None) -> None:
    """A grid of frames: one row per name, one column per label (a missing frame leaves its cell blank)."""
    pad, top = 6, 24
    first = max(imgs[0].shape[1] for _, imgs in rows if imgs[0] is not None)
    widths = [max((img.shape[1] for _, imgs in rows for img in imgs[j:j + 1] if img is not None), default=first)
              for j in range(len(labels))]  # an empty column (no classic network) keeps the input's width
    heights = [max(img.shape[0] for img in imgs if img is not None) for _, imgs in rows]
    sheet = Image.new("RGB", (left + sum(widths) + pad * len(labels), top + sum(heights) + pad * len(rows)), "white")
    draw = ImageDraw.Draw(sheet)
    xs = np.cumsum([left] + [w + pad for w in widths]).tolist()
    ys = np.cumsum([top] + [h + pad for h in heights]).tolist()
    for j, label in enumerate(labels):
        draw.text((xs[j] + 4, 6), label, fill="black")
    for i, (name, images) in enumerate(rows):
        draw.text((4, ys[i] + heights[i] // 2), name, fill="black")
        for j, image in enumerate(images):
            if image is not None:
                sheet.paste(Image.fromarray(image), (xs[j], ys[i]))
    path.parent.mkdir(parents=True, exist_ok=True)
    if quality is None:
        sheet.save(path)
    else:
        sheet.save(path, quality=quality, optimize=True)


# ----------------------------------------------------------------------------------------------- tables


def ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}" if b and np.isfinite(a) and np.isfinite(b) else "—"


def figures_table(results: dict[str, dict[str, StyleMetrics]], catalog: Catalog) -> str:
    """Per style (by its title in ``catalog``) and network: the three means, each with its ratio to the classic
    network (``÷ classic``)."""
    lines = ["| style | network | warping error | ÷ classic | style distance | ÷ classic | ÷ input | content distance "
             "| ÷ classic |", "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for slug, metrics in results.items():
        classic, unstyled = metrics.get("classic"), metrics["input"]
        for name in dict.fromkeys([*NETWORKS, *metrics]):
            m = metrics.get(name)
            if m is None:
                continue
            c = classic or m
            lines.append(
                f"| {catalog[slug].title} | {name} | {m.warping_error:.5f} | "
                f"{ratio(m.warping_error, c.warping_error) if classic else '—'} | {m.style_distance:.3f} | "
                f"{ratio(m.style_distance, c.style_distance) if classic else '—'} | "
                f"{ratio(m.style_distance, unstyled.style_distance)} | {m.content_distance:.3f} | "
                f"{ratio(m.content_distance, c.content_distance) if classic else '—'} |")
    return "\n".join(lines)


def bars(results: dict[str, dict[str, StyleMetrics]]) -> list[tuple[str, str, float, float, bool]]:
    """The flicker bars of issue 25: ``(style, what, value, limit, met)`` per check. Style distance (Gram) is
    reported, not a bar: it rewards painting the whole frame in the painting's palette, and lost to the look test."""
    checks: list[tuple[str, str, float, float, bool]] = []

    def check(slug: str, what: str, value: float, limit: float) -> None:
        checks.append((slug, what, value, limit, bool(value <= limit)))

    for slug, m in results.items():
        t, f, q, live = m[Variant.TEMPORAL], m[Variant.FRAMEWISE], m.get(Variant.FAST), m.get(Variant.LIVE)
        check(slug, "temporal ÷ framewise: warping error", t.warping_error / f.warping_error, 0.5)
        if "teacher" in m:  # issue 25: the look from the teacher, the steadiness ours
            w = m["teacher"].warping_error
            check(slug, "temporal ÷ teacher: warping error", t.warping_error / w, 0.35)
            if q is not None:
                check(slug, "fast ÷ teacher: warping error", q.warping_error / w, 0.45)
            if live is not None:
                check(slug, "live ÷ teacher: warping error", live.warping_error / w, 0.55)
        if "classic" in m:
            check(slug, "temporal ÷ classic: warping error", t.warping_error / m["classic"].warping_error, 0.45)
    return checks


def recorded_metrics(folder: Path) -> dict[str, StyleMetrics]:
    """The figures ``python -m training export`` recorded in a style folder's metrics.json."""
    recorded = json.loads((folder / "metrics.json").read_text())
    return {name: StyleMetrics(**{k: v for k, v in values.items() if k in StyleMetrics.__dataclass_fields__})
            for name, values in recorded.items() if isinstance(values, dict) and "warping_error" in values}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reference", type=Path, help="folder of the classic networks (../shared/reference); without "
                                                        "it the classic column is left out")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--paintings", type=Path, default=ROOT.parent / "shared" / "styles")
    parser.add_argument("--styles", nargs="+", help="default: every style with both variants installed")
    parser.add_argument("--extra", nargs="+", default=[], metavar="NAME=FOLDER",
                        help="also score these checkpoint folders (e.g. a training run's model/) beside the style's "
                             "networks; needs a single --styles")
    parser.add_argument("--no-teacher", dest="teacher", action="store_false",
                        help="leave out the teacher column (Magenta's arbitrary-style network for the painting)")
    parser.add_argument("--clips", nargs="+", type=Path,
                        help="score on these clips instead of the held-out bikes and carphone (e.g. the clips kept "
                             "out of training and of every choice: data/raw/diver.mov data/raw/cityCC0.mpg)")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--max-side", type=int, default=360)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "quality.json")
    parser.add_argument("--sheets", type=Path, default=ROOT / "docs" / "contact_sheets")
    parser.add_argument("--sheet", type=Path, default=ROOT / "docs" / "contact_sheet.jpg")
    parser.add_argument("--sheet-only", action="store_true",
                        help="draw the contact sheets and print the ratios to the framewise baseline from each style's "
                             "metrics.json (recorded by `python -m training export`/`distill`) instead of measuring")
    args = parser.parse_args()
    torch.set_grad_enabled(False)
    clips = args.clips or held_out_clips(args.data_dir)
    catalog = load_catalog()
    installed = {s.slug: s for s in installed_styles(catalog=catalog)}
    styles = args.styles or [s for s, i in installed.items() if set(VARIANTS) <= set(i.variants)]
    if not styles:
        sys.exit("no style with both variants is installed")
    extras = dict(item.split("=", 1) for item in args.extra)
    if extras and len(styles) != 1:
        sys.exit("--extra needs exactly one --styles")
    classics = classic_networks(args.reference) if args.reference else {}
    if args.reference and not classics:
        sys.exit(f"no classic network found under {args.reference}")
    frames = sheet_frames(clips)
    overview = load_clip(clips[0], max_side=320, max_frames=120)[-1]
    results: dict[str, dict[str, StyleMetrics]] = {}
    overview_rows: list[tuple[str, list[np.ndarray | None]]] = []
    for slug in styles:
        models: dict[str, torch.nn.Module] = {"input": Unstylized()}
        if slug in classics:
            models["classic"] = classics[slug]
        if args.teacher:
            models["teacher"] = teacher_for_painting(args.paintings / PAINTING_FILES[slug])
        models |= {v: load_model(slug, v, catalog=catalog)
                   for v in (Variant.FRAMEWISE, Variant.TEMPORAL, Variant.FAST, Variant.LIVE)
                   if v in installed[slug].variants}
        models |= {name: load_network(Path(folder)) for name, folder in extras.items()}
        stylizers = {name: Stylizer(model) for name, model in models.items()}  # type: ignore[arg-type]
        columns = list(NETWORKS) + list(extras)
        rows = [(clip.stem, [stylizers[n](frame[None])[0] if n in stylizers else None for n in columns])
                for clip, frame in zip(clips, frames, strict=True)]
        draw_grid(rows, [LABELS.get(n, n) for n in columns], args.sheets / f"{slug}.jpg", left=90, quality=88)
        overview_rows.append((slug, [stylizers[n](overview[None])[0] if n in stylizers else None for n in NETWORKS]))
        print(f"wrote {args.sheets / f'{slug}.jpg'}")
        if args.sheet_only:
            results[slug] = recorded_metrics(installed[slug].variants[Variant.TEMPORAL].parent)
            continue
        results[slug] = evaluate(models, clips, args.paintings / PAINTING_FILES[slug], max_side=args.max_side,
                                 max_frames=args.frames, with_speed=False)
        print("\n".join(figures_table({slug: results[slug]}, catalog).splitlines()[2:]), flush=True)
    draw_grid(overview_rows, [LABELS[n] for n in NETWORKS], args.sheet, quality=88)
    print(f"wrote {args.sheet}")
    if args.sheet_only:
        for slug, m in results.items():
            t, f = m[Variant.TEMPORAL], m[Variant.FRAMEWISE]
            print(f"{slug}: temporal ÷ framewise warping {ratio(t.warping_error, f.warping_error)}, style "
                  f"{ratio(t.style_distance, f.style_distance)} (recorded in metrics.json)")
        return
    print(figures_table(results, catalog))
    checks = bars(results)
    print("\n| style | bar | value | limit | met |\n| --- | --- | --- | --- | --- |")
    for slug, what, value, limit, met in checks:
        print(f"| {slug} | {what} | {value:.2f} | {limit:.2f} | {'yes' if met else '**no**'} |")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({
        "clips": [c.name for c in clips], "frames": args.frames, "max_side": args.max_side,
        "reference": str(args.reference) if args.reference else None,
        "styles": {slug: {name: m.as_dict() | {"per_clip": m.per_clip} for name, m in metrics.items()}
                   for slug, metrics in results.items()},
        "bars": [{"style": s, "bar": w, "value": v, "limit": lim, "met": ok} for s, w, v, lim, ok in checks],
    }, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""How much a network's output changes when its input moves by a few pixels: the flicker that aliasing causes.

    python benchmarks/shift.py [--styles great-wave ...] [--variants framewise temporal fast] [--frames 4]
                               [--json benchmarks/results/shift.json] [--data-dir data] [--reference ../shared/reference]

A network made of stride-2 convolutions and ×2 upsampling is equivariant only to shifts by multiples of 4 pixels: a
1–3 pixel move of the camera changes the texture it paints, even where the scene is the same. This measures that on
real frames of the held-out clips (bikes, carphone): each frame and the same frame shifted left by 1, 2, 3 and 4
pixels go through the network (crops of equal size), the second output is shifted back, and the mean squared
difference over the interior (16-pixel margin: padding differs at the border) is reported, in the units of the
warping error (RGB in [0, 1]). Every bundled variant of each style (and, with ``--reference``, the classic network)
runs in the same process on the same frames; the per-shift figures and their 1–3 pixel mean are printed and written as
JSON. ``antialias`` in the table says whether the network blurs before downsampling and upsamples bilinearly
(:mod:`vst.model`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from training.__main__ import held_out_clips  # noqa: E402
from training.classic import classic_networks  # noqa: E402
from training.evaluate import load_clip, to_tensor  # noqa: E402
from vst.checkpoint_check import load_network  # noqa: E402
from vst.style_folder import Variant

SHIFTS = (1, 2, 3, 4)
MARGIN = 16


def shift_error(net: torch.nn.Module, frame: torch.Tensor, shift: int) -> float:
    """``frame`` ``(1, 3, H, W)`` in [0, 1]; mean squared difference between ``net`` of a crop and ``net`` of the same
    crop moved ``shift`` pixels right in the frame, aligned back (W − 8 columns wide, multiples of 4 kept)."""
    height = frame.shape[-2] // 4 * 4
    width = (frame.shape[-1] - 8) // 4 * 4
    with torch.no_grad():
        base = net(frame[..., :height, :width])
        moved = net(frame[..., :height, shift:shift + width])
    a = base[..., MARGIN:-MARGIN, MARGIN + shift:-MARGIN]
    b = moved[..., MARGIN:-MARGIN, MARGIN:-MARGIN - shift]
    return float((a - b).square().mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--styles", nargs="+", default=None, help="(default: every bundled style)")
    parser.add_argument("--variants", nargs="+", default=[Variant.FRAMEWISE, Variant.TEMPORAL, Variant.FAST])
    parser.add_argument("--frames", type=int, default=4, help="frames per held-out clip (evenly spaced in its first 60)")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--reference", type=Path, default=None, help="the classic networks' folder (optional)")
    parser.add_argument("--checkpoints", type=Path, default=ROOT / "vst" / "checkpoints")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "shift.json")
    args = parser.parse_args()
    torch.set_grad_enabled(False)

    frames = []
    for clip in held_out_clips(args.data_dir):
        images = load_clip(clip, max_side=360, max_frames=60)
        picks = np.linspace(0, len(images) - 1, args.frames).round().astype(int)
        frames += [to_tensor(images[i:i + 1]) for i in picks]
    styles = args.styles or sorted(p.parent.name for p in args.checkpoints.glob("*/style.json"))
    classic = classic_networks(args.reference) if args.reference else {}
    results: dict[str, dict[str, dict[str, object]]] = {}
    print(f"| style | network | antialias | {' | '.join(f'{s} px' for s in SHIFTS)} | mean of 1–3 px |")
    print("| --- | --- | --- |" + " --- |" * (len(SHIFTS) + 1))
    for slug in styles:
        networks: dict[str, torch.nn.Module] = {}
        if slug in classic:
            networks["classic"] = classic[slug].eval()
        networks |= {v: load_network(args.checkpoints / slug / v).eval() for v in args.variants
                     if (args.checkpoints / slug / v / "config.json").is_file()}
        results[slug] = {}
        for name, net in networks.items():
            per_shift = {s: float(np.mean([shift_error(net, f, s) for f in frames])) for s in SHIFTS}
            antialias = bool(getattr(net, "antialias", False))
            mean_13 = float(np.mean([per_shift[s] for s in (1, 2, 3)]))
            results[slug][name] = {"antialias": antialias, "shift_error": {str(s): e for s, e in per_shift.items()},
                                   "mean_1_to_3": mean_13}
            cells = " | ".join(f"{per_shift[s]:.5f}" for s in SHIFTS)
            print(f"| {slug} | {name} | {'yes' if antialias else 'no'} | {cells} | {mean_13:.5f} |", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"frames_per_clip": args.frames, "shifts": list(SHIFTS), "margin": MARGIN,
                                     "styles": results}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""Flicker and speed of a network run at a lower internal scale (guided upsampling back, :mod:`vst.guided`) against
the same network at full resolution, on real clips.

    python benchmarks/internal_scale.py --clips data/raw/cockatoo.mp4 CLIP2 … [--styles great-wave udnie …] \\
        [--variant fast] [--scales 1 0.75 0.5] [--max-side 1280] [--frames 60] [--json …]

For each style, one decode of each clip feeds every scale's :class:`vst.pipeline.Stylizer` (the app's path), and the
flicker meter (:class:`vst.metrics.WarpingErrorMeter`: the warping error between consecutive stylized frames where
the flow is reliable) measures each. Speed: each scale's network-stage seconds per frame in the same run. Prints, per
style and scale, the mean warping error and its ratio to scale 1, and the network's frames per second and speed-up;
writes JSON.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vst.catalog import bundled_dir  # noqa: E402
from vst.checkpoint_check import load_network  # noqa: E402
from vst.pipeline import Stylizer, render_video  # noqa: E402
from vst.style_folder import Variant
from vst.video import VideoReader  # noqa: E402
from vst.video_writer import VideoWriter  # noqa: E402

DEFAULT_STYLES = ("great-wave", "the-scream", "udnie", "shipwreck-of-the-minotaur", "starry-night", "composition-vii")


def first_frames(clip: Path, out: Path, frames: int, max_side: int) -> Path:
    """The first ``frames`` frames of ``clip``, downscaled to ``max_side``, as an MP4 (so every scale sees the same
    frames and the decode is cheap)."""
    reader = VideoReader(clip, max_side=max_side)
    with VideoWriter(out, reader.width, reader.height, time_base=Fraction(1, 25), frame_rate=Fraction(25),
                     crf=12) as writer:
        written = 0
        for batch in reader.batches(8):
            keep = batch.images[: frames - written]
            writer.write_batch(keep, [None] * len(keep))
            written += len(keep)
            if written >= frames:
                break
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, nargs="+", required=True)
    parser.add_argument("--styles", nargs="+", default=list(DEFAULT_STYLES))
    parser.add_argument("--variant", default=Variant.FAST)
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 0.75, 0.5])
    parser.add_argument("--max-side", type=int, default=1280)
    parser.add_argument("--frames", type=int, default=60, help="frames from the start of each clip")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "internal-scale.json")
    args = parser.parse_args()
    if 1.0 not in args.scales:
        parser.error("--scales must include 1 (the baseline)")
    torch.set_num_threads(max(1, torch.get_num_threads()))
    work = tempfile.TemporaryDirectory()
    clips = [first_frames(c, Path(work.name) / f"{c.stem}-{args.max_side}.mp4", args.frames, args.max_side)
             for c in args.clips]
    rows = []
    for slug in args.styles:
        network = load_network(bundled_dir() / slug / args.variant)
        errors: dict[str, list[float]] = {f"{s:g}": [] for s in args.scales}
        seconds: dict[str, float] = dict.fromkeys(errors, 0.0)
        frames = 0
        for clip in clips:
            targets = {f"{s:g}": (Stylizer(network, "cpu", scale=s), None) for s in args.scales}
            result = render_video(clip, targets, measure_flicker=True, max_side=None)
            frames += result.frames
            for name in errors:
                errors[name] += result.warping_errors[name]
                seconds[name] += result.network_seconds[name]
        base_error = float(np.nanmean(errors["1"]))
        for name in errors:
            error = float(np.nanmean(errors[name]))
            row = {"style": slug, "variant": args.variant, "scale": float(name), "warping_error": round(error, 6),
                   "warping_error_vs_full": round(error / base_error, 3),
                   "network_fps": round(frames / seconds[name], 2),
                   "network_speedup": round(seconds["1"] / seconds[name], 2)}
            rows.append(row)
            print(f"{slug:<28}{args.variant:<8} scale {name:<5} warping error {error:.5f} "
                  f"({row['warping_error_vs_full']:.2f}× full)  network {row['network_fps']:6.2f} fps "
                  f"({row['network_speedup']:.2f}×)", flush=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"clips": [str(c) for c in args.clips], "max_side": args.max_side,
                                     "frames_per_clip": args.frames, "rows": rows}, indent=2))
    print(f"wrote {args.json}")
    work.cleanup()


if __name__ == "__main__":
    main()

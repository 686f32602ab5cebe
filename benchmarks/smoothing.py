"""Flow-guided smoothing (:mod:`vst.smoothing`): flicker with and without it, measured two ways, its sharpness and cost.

    python benchmarks/smoothing.py [--styles udnie the-scream] [--variants temporal fast] [--reference ../shared/reference]
                                   [--clips data/raw/bikes.mp4 ...] [--frames 60] [--max-side 360]

For each style and clip (the held-out bikes and carphone unless ``--clips``), the same frames through: the teacher
(the style's framewise network), the classic network where ``--reference`` has one, and each of ``--variants``
plain and smoothed (:class:`vst.smoothing.FlowSmoother`, default options), and the classic network smoothed too (the
smoothing is not ours alone: this shows what it does for a peer). Per network:

- **warping error** as everywhere else (:class:`vst.metrics.WarpingErrorMeter`: DIS ``medium`` flow of the input,
  forward-backward and motion-boundary masks), ÷ the teacher's and ÷ the classic network's;
- the same error with **Farnebäck's flow** instead of DIS (forward-backward mask): the smoothing follows a DIS flow,
  so this checks that the steadiness is not an artefact of measuring with the flow it used;
- the error on a clip of **known motion** (:func:`synthetic_clip.write_panning_clip`: a photo panning 2 px a frame,
  H.264-coded, so its noise changes from frame to frame): each output against the next shifted back by exactly 2 px,
  no optical flow at all;
- **sharpness**: the Laplacian energy of its frames (:func:`vst.detail.detail_energy`, from the tenth frame on) ÷ the
  plain network's, so a smoothing that blurs shows here;
- the smoother's **milliseconds per frame** at the clip's size, and on 640×360 frames (same machine, same run).

Writes ``benchmarks/results/smoothing.json``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_description  # noqa: E402
from synthetic_clip import write_panning_clip  # noqa: E402
from training.__main__ import held_out_clips  # noqa: E402
from training.classic import classic_networks  # noqa: E402
from training.evaluate import load_clip  # noqa: E402
from vst.detail import detail_energy  # noqa: E402
from vst.flow import occlusion_mask, to_gray_u8, warp  # noqa: E402
from vst.hub import load_model  # noqa: E402
from vst.metrics import WarpingErrorMeter  # noqa: E402
from vst.pipeline import Stylizer  # noqa: E402
from vst.smoothing import FlowSmoother, SmoothingOptions  # noqa: E402


def farneback_error(frames: np.ndarray, outputs: np.ndarray) -> float:
    """Mean warping error of ``outputs`` ``(N, H, W, 3)`` uint8 with Farnebäck's flow of ``frames`` (same shape) and
    its forward-backward occlusion mask (:func:`vst.flow.occlusion_mask`)."""
    errors = []
    for i in range(len(frames) - 1):
        a, b = to_gray_u8(frames[i]), to_gray_u8(frames[i + 1])
        forward = cv2.calcOpticalFlowFarneback(a, b, None, 0.5, 4, 15, 3, 5, 1.2, 0)
        backward = cv2.calcOpticalFlowFarneback(b, a, None, 0.5, 4, 15, 3, 5, 1.2, 0)
        valid = ~occlusion_mask(forward, backward)
        x = outputs[i].astype(np.float32) / 255.0
        y = warp(outputs[i + 1].astype(np.float32) / 255.0, forward)
        errors.append(float(np.square(x - y).sum(axis=2)[valid].mean()))
    return float(np.mean(errors))


def known_motion_error(outputs: np.ndarray, shift: int = 2, margin: int = 16) -> float:
    """Mean squared change (summed over RGB, in [0, 1]) between each output ``(N, H, W, 3)`` uint8 of the panning clip
    and the next one moved back by ``shift`` pixels (``frame_{t+1}(x) = frame_t(x + shift)``), ``margin`` pixels
    from every border left out."""
    x = outputs.astype(np.float32) / 255.0
    a, b = x[:-1, margin:-margin, margin + shift:-margin], x[1:, margin:-margin, margin:-margin - shift]
    return float(np.square(a - b).sum(axis=3).mean())


def sharpness(outputs: np.ndarray) -> float:
    """:func:`vst.detail.detail_energy` of ``outputs`` ``(N, H, W, 3)`` uint8 from the tenth frame on (the smoothing
    has reached its steady state there)."""
    tensor = torch.from_numpy(outputs[10:].astype(np.float32) / 255.0).permute(0, 3, 1, 2)
    return detail_energy(tensor)


def smoothed(frames: np.ndarray, outputs: np.ndarray, options: SmoothingOptions) -> tuple[np.ndarray, float]:
    """``outputs`` through a fresh :class:`FlowSmoother`, and its milliseconds per frame."""
    smoother = FlowSmoother(options)
    started = time.perf_counter()
    result = smoother.run(frames, outputs)
    return result, (time.perf_counter() - started) * 1000.0 / len(frames)


def cost_at_640(frames: np.ndarray, outputs: np.ndarray, options: SmoothingOptions) -> float:
    """Milliseconds per frame of the smoother on the clip's frames and outputs resized to 640×360."""
    big_in = np.stack([cv2.resize(f, (640, 360), interpolation=cv2.INTER_LINEAR) for f in frames])
    big_out = np.stack([cv2.resize(o, (640, 360), interpolation=cv2.INTER_LINEAR) for o in outputs])
    smoothed(big_in[:3], big_out[:3], options)  # warm-up
    return smoothed(big_in, big_out, options)[1]


def style_clip_arguments(description: str, *, frames: int, out: Path) -> argparse.ArgumentParser:
    """The options this benchmark and ``benchmarks/denoise.py`` share: styles, variants, the classic networks'
    folder, clips, frames per clip, their size and the JSON written."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--styles", nargs="+", default=["udnie", "the-scream"])
    parser.add_argument("--variants", nargs="+", default=["temporal", "fast"])
    parser.add_argument("--reference", type=Path, help="the classic networks' folder (../shared/reference)")
    parser.add_argument("--clips", nargs="+", type=Path, help="default: the held-out bikes and carphone")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "data")
    parser.add_argument("--frames", type=int, default=frames)
    parser.add_argument("--max-side", type=int, default=360)
    parser.add_argument("--out", type=Path, default=out)
    return parser


def main() -> None:
    args = style_clip_arguments(__doc__.split("\n\n")[0], frames=60,
                                out=ROOT / "benchmarks" / "results" / "smoothing.json").parse_args()
    torch.set_grad_enabled(False)
    options = SmoothingOptions()
    clips = args.clips or held_out_clips(args.data_dir)
    classics = classic_networks(args.reference) if args.reference else {}
    panning = write_panning_clip(Path(tempfile.mkdtemp()) / "panning.mp4", width=360, height=240, frames=40)
    results: dict[str, dict] = {}
    for slug in args.styles:
        networks = {"teacher": load_model(slug, "framewise")} | {v: load_model(slug, v) for v in args.variants}
        if slug in classics:
            networks["classic"] = classics[slug]
        stylizers = {name: Stylizer(net) for name, net in networks.items()}  # type: ignore[arg-type]
        smoothed_names = [*args.variants, *(["classic"] if "classic" in networks else [])]
        per_clip = {}
        frames = load_clip(panning, max_side=360, max_frames=40)
        outputs = {name: np.concatenate([s(frames[i:i + 8]) for i in range(0, len(frames), 8)])
                   for name, s in stylizers.items()}
        for v in smoothed_names:
            outputs[f"{v}+smoothing"] = smoothed(frames, outputs[v], options)[0]
        known = {name: known_motion_error(out) for name, out in outputs.items()}
        per_clip["known motion (panning)"] = {name: {"error": e, "vs_teacher": e / known["teacher"]}
                                              for name, e in known.items()}
        print(f"{slug} known motion:", " ".join(f"{n} {e / known['teacher']:.3f}" for n, e in known.items()))
        for clip in clips:
            frames = load_clip(clip, max_side=args.max_side, max_frames=args.frames)
            outputs = {name: np.concatenate([s(frames[i:i + 8]) for i in range(0, len(frames), 8)])
                       for name, s in stylizers.items()}
            costs = {}
            for v in smoothed_names:
                outputs[f"{v}+smoothing"], costs[v] = smoothed(frames, outputs[v], options)
            meter = WarpingErrorMeter()
            for i, frame in enumerate(frames):
                meter.update(frame, {name: out[i] for name, out in outputs.items()})
            dis = meter.mean()
            farneback = {name: farneback_error(frames, out) for name, out in outputs.items()}
            row: dict[str, dict[str, float]] = {}
            for name in outputs:
                base = name.split("+")[0]
                row[name] = {"warping_error": dis[name], "farneback_error": farneback[name],
                             "vs_teacher": dis[name] / dis["teacher"],
                             "farneback_vs_teacher": farneback[name] / farneback["teacher"],
                             "sharpness_vs_plain": sharpness(outputs[name]) / sharpness(outputs[base])}
                if "classic" in outputs:
                    row[name]["vs_classic"] = dis[name] / dis["classic"]
                if base in costs and name != base:
                    row[name]["ms_per_frame"] = costs[base]
            row["cost_640x360_ms"] = {"ms_per_frame": cost_at_640(frames, outputs[args.variants[0]], options)}
            per_clip[clip.name] = row
            print(f"{slug} {clip.name} ({frames.shape[2]}×{frames.shape[1]}, {len(frames)} frames)")
            for name, r in row.items():
                print("   ", name, " ".join(f"{k} {v:.3f}" for k, v in r.items()))
        results[slug] = per_clip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": cpu_description(), "options": options.__dict__, "clips": [c.name for c in clips],
        "frames": args.frames, "max_side": args.max_side, "styles": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

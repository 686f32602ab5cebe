"""Flow-guided denoising of the networks' input (:mod:`vst.denoise`): flicker with and without it, its sharpness and
cost.

    python benchmarks/denoise.py [--styles udnie the-scream] [--variants temporal fast] [--reference ../shared/reference]
                                 [--clips data/raw/bikes.mp4 ...] [--frames 30] [--max-side 360]

For each style and clip (the held-out bikes and carphone unless ``--clips``), the same frames through the teacher
(the style's framewise network), the classic network where ``--reference`` has one, and each of ``--variants``:
as decoded, denoised (:class:`vst.denoise.InputDenoiser`, default options; the frame's detail from the decoded
frames, as the pipeline does), each of those smoothed too (:class:`vst.smoothing.FlowSmoother`, as the app does),
and the teacher and the classic network denoised as well (like for like: the denoising is not ours alone). Per network:

- **warping error** (:class:`vst.metrics.WarpingErrorMeter`, the DIS flow of the decoded input) ÷ the teacher's (as
  decoded) and ÷ the classic network's (as decoded);
- the same error with **Farnebäck's flow** (``farneback_vs_teacher``): the denoiser follows a DIS flow, so this
  checks that the steadiness is not an artefact of measuring with the same kind of flow;
- the error on three clips of **known motion** (:func:`synthetic_clip.write_panning_clip`: a photo panning 2 px a
  frame, H.264 at quality 23; the same with Gaussian grain of 4 levels at quality 18; and that photo with that grain
  under a still camera): each output against the next shifted back by exactly the motion, no optical flow at all;
- **sharpness**: the Laplacian energy of its frames (:func:`vst.detail.detail_energy`) ÷ the same network's as decoded;
- the denoiser's **milliseconds per frame** on 640×360 frames (same machine, same run).

Writes ``benchmarks/results/denoise.json``.
"""

from __future__ import annotations

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
from smoothing import farneback_error, known_motion_error, sharpness, style_clip_arguments  # noqa: E402
from synthetic_clip import write_panning_clip  # noqa: E402
from training.__main__ import held_out_clips  # noqa: E402
from training.classic import classic_networks  # noqa: E402
from training.evaluate import load_clip  # noqa: E402
from vst.denoise import DenoiseOptions, InputDenoiser  # noqa: E402
from vst.hub import load_model  # noqa: E402
from vst.metrics import WarpingErrorMeter  # noqa: E402
from vst.pipeline import Stylizer  # noqa: E402
from vst.smoothing import FlowSmoother, SmoothingOptions  # noqa: E402


def stylized(stylizer: Stylizer, frames: np.ndarray, denoised: np.ndarray | None) -> np.ndarray:
    """``frames`` ``(N, H, W, 3)`` uint8 through ``stylizer`` eight at a time; the network sees ``denoised`` (when
    given) and adds the decoded frames' detail, as :func:`vst.pipeline.render_video` does."""
    return np.concatenate([stylizer(frames[i:i + 8]) if denoised is None
                           else stylizer(denoised[i:i + 8], detail=frames[i:i + 8])
                           for i in range(0, len(frames), 8)])


def denoiser_cost(frames: np.ndarray, options: DenoiseOptions) -> float:
    """Milliseconds per frame of the denoiser on ``frames`` resized to 640×360 (after a warm-up)."""
    big = np.stack([cv2.resize(f, (640, 360), interpolation=cv2.INTER_LINEAR) for f in frames])
    InputDenoiser(options).run(big[:3])
    started = time.perf_counter()
    InputDenoiser(options).run(big)
    return (time.perf_counter() - started) * 1000.0 / len(big)


def main() -> None:
    args = style_clip_arguments(__doc__.split("\n\n")[0], frames=30,
                                out=ROOT / "benchmarks" / "results" / "denoise.json").parse_args()
    torch.set_grad_enabled(False)
    options, smoothing = DenoiseOptions(), SmoothingOptions()
    clips = args.clips or held_out_clips(args.data_dir)
    classics = classic_networks(args.reference) if args.reference else {}
    scratch = Path(tempfile.mkdtemp())
    # name → (clip, its motion in pixels a frame)
    panning = {"known motion (panning)": (write_panning_clip(scratch / "pan.mp4", width=360, height=240, frames=40),
                                          2),
               "known motion (panning, grain 4)": (write_panning_clip(scratch / "grain.mp4", width=360, height=240,
                                                                      frames=40, grain=4.0, crf=18), 2),
               "known motion (still, grain 4)": (write_panning_clip(scratch / "still.mp4", width=360, height=240,
                                                                    frames=40, grain=4.0, crf=18, step=0), 0)}
    results: dict[str, dict] = {}
    cost = None
    for slug in args.styles:
        networks = {"teacher": load_model(slug, "framewise")} | {v: load_model(slug, v) for v in args.variants}
        if slug in classics:
            networks["classic"] = classics[slug]
        stylizers = {name: Stylizer(net) for name, net in networks.items()}  # type: ignore[arg-type]
        per_clip: dict[str, dict] = {}
        for clip_name, path in [*((name, clip) for name, (clip, _) in panning.items()), *((c.name, c) for c in clips)]:
            known = clip_name in panning
            frames = load_clip(path, max_side=args.max_side, max_frames=40 if known else args.frames)
            denoised = InputDenoiser(options).run(frames)
            outputs = {}
            for name, stylizer in stylizers.items():
                outputs[name] = stylized(stylizer, frames, None)
                outputs[f"{name}+denoise"] = stylized(stylizer, frames, denoised)
                if name in args.variants:
                    for base in (name, f"{name}+denoise"):
                        outputs[f"{base}+smoothing"] = FlowSmoother(smoothing).run(frames, outputs[base])
            farneback: dict[str, float] = {}
            if known:
                errors = {name: known_motion_error(out, shift=panning[clip_name][1]) for name, out in outputs.items()}
            else:
                meter = WarpingErrorMeter()
                for i, frame in enumerate(frames):
                    meter.update(frame, {name: out[i] for name, out in outputs.items()})
                errors = meter.mean()
                farneback = {name: farneback_error(frames, out) for name, out in outputs.items()}
            row = {}
            for name, out in outputs.items():
                base = name.split("+")[0]
                row[name] = {"warping_error": errors[name], "vs_teacher": errors[name] / errors["teacher"],
                             "sharpness_vs_decoded": sharpness(out) / sharpness(outputs[base])}
                if farneback:
                    row[name]["farneback_vs_teacher"] = farneback[name] / farneback["teacher"]
                if "classic" in outputs:
                    row[name]["vs_classic"] = errors[name] / errors["classic"]
            per_clip[clip_name] = row
            print(f"{slug} {clip_name} ({frames.shape[2]}×{frames.shape[1]}, {len(frames)} frames)", flush=True)
            for name, r in row.items():
                print("   ", name, " ".join(f"{k} {v:.3f}" for k, v in r.items() if k != "warping_error"), flush=True)
            if cost is None and not known:
                cost = denoiser_cost(frames, options)
        results[slug] = per_clip
    print(f"denoiser: {cost:.1f} ms a 640×360 frame")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({
        "machine": cpu_description(), "options": options.__dict__, "smoothing": smoothing.__dict__,
        "clips": [c.name for c in clips], "frames": args.frames, "max_side": args.max_side,
        "denoise_ms_640x360": cost, "styles": results}, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""What the frame's detail costs in steadiness on clean and on noisy footage, cored (vst.detail.core) and not.

For each style's networks with a ``frame_detail``, the same frames three ways — the network's own output (no
detail), the detail added as it is, and the detail cored at the frame's noise level (what the networks do now) —
beside the teacher (the style's framewise network): each one's warping error over the teacher's, its Laplacian
energy over the uncored one's, and each clip's noise level (:func:`vst.detail.noise_level`, in 1/255 steps).

    python benchmarks/detail_noise.py --clips data/raw/vtest.avi data/raw/tree.avi data/raw/cup.mp4 [--styles …]
    python benchmarks/detail_noise.py --speed     # what the coring costs: the detail's ms a 640×360 frame, one thread

Writes benchmarks/results/detail-noise.json (after each style, so a stopped run keeps what it measured).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from training.evaluate import load_clip, to_tensor  # noqa: E402
from vst.checkpoint_check import load_network  # noqa: E402
from vst.detail import CORING, add_frame_detail, detail_energy, fine_detail, noise_level  # noqa: E402
from vst.guided import luma  # noqa: E402
from vst.memory import tune_malloc  # noqa: E402
from vst.metrics import WarpingErrorMeter  # noqa: E402
from vst.model import StyleNet  # noqa: E402
from vst.style_folder import Variant  # noqa: E402

STYLES = ("great-wave", "the-scream", "udnie", "shipwreck-of-the-minotaur", "starry-night", "composition-vii")
#: Frames a forward pass (memory).
BATCH = 8


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """``(N, 3, H, W)`` in [0, 1] → ``(N, H, W, 3)`` uint8."""
    return images.mul(255).add_(0.5).clamp_(0, 255).byte().permute(0, 2, 3, 1).numpy()


@torch.no_grad()
def renderings(network: StyleNet, frames: np.ndarray) -> dict[str, np.ndarray]:
    """``network``'s frames without its detail, with it uncored and with it cored: name → ``(N, H, W, 3)`` uint8."""
    strength, network.frame_detail = network.frame_detail, 0.0
    try:
        out: dict[str, list[np.ndarray]] = {"no detail": [], "detail": [], "cored": []}
        for i in range(0, len(frames), BATCH):
            x = to_tensor(frames[i:i + BATCH])
            plain = network(x)
            out["no detail"].append(to_uint8(plain))
            out["detail"].append(to_uint8(add_frame_detail(plain, x, strength, coring=0.0)))
            out["cored"].append(to_uint8(add_frame_detail(plain, x, strength)))
    finally:
        network.frame_detail = strength
    return {name: np.concatenate(parts) for name, parts in out.items()}


def crop4(frames: np.ndarray) -> np.ndarray:
    """``(N, H, W, 3)`` cropped to multiples of 4 (the networks' size multiple)."""
    h, w = frames.shape[1] // 4 * 4, frames.shape[2] // 4 * 4
    return np.ascontiguousarray(frames[:, :h, :w])


def detail_speed(rounds: int = 3, calls: int = 50) -> dict[str, float]:
    """Milliseconds of :func:`add_frame_detail` on a 640×360 frame, uncored and cored, on one thread (as frames run
    side by side) with the app's allocator settings: the best of ``rounds`` interleaved rounds of ``calls`` calls."""
    tune_malloc()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    frame, stylized = torch.rand(1, 3, 360, 640, generator=g), torch.rand(1, 3, 360, 640, generator=g)
    best = {"uncored": float("inf"), "cored": float("inf")}
    for _ in range(rounds):
        for name, coring in (("uncored", 0.0), ("cored", CORING)):
            add_frame_detail(stylized, frame, 1.0, coring=coring)
            start = time.perf_counter()
            for _ in range(calls):
                add_frame_detail(stylized, frame, 1.0, coring=coring)
            best[name] = min(best[name], (time.perf_counter() - start) / calls * 1000)
    return {name: round(ms, 2) for name, ms in best.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clips", type=Path, nargs="+")
    parser.add_argument("--speed", action="store_true", help="time the detail cored and uncored, then stop")
    parser.add_argument("--styles", nargs="+", default=list(STYLES))
    parser.add_argument("--networks", nargs="+", default=[Variant.TEMPORAL, Variant.FAST])
    parser.add_argument("--frames", type=int, default=40, help="frames per clip (default 40)")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/detail-noise.json"))
    args = parser.parse_args()
    if args.speed:
        print("the detail, ms a 640×360 frame on one thread:", detail_speed())
        return
    if not args.clips:
        parser.error("--clips is needed (or --speed)")
    clips = {clip.name: crop4(load_clip(clip, max_side=360, max_frames=args.frames)) for clip in args.clips}
    results: dict[str, object] = {"noise_level": {
        name: round(float(noise_level(fine_detail(luma(to_tensor(frames)))).mean()) * 255, 2)
        for name, frames in clips.items()}}
    print("noise level (1/255):", results["noise_level"], flush=True)
    for slug in args.styles:
        folder = Path("vst/checkpoints") / slug
        teacher = load_network(folder / Variant.FRAMEWISE).eval()
        with torch.no_grad():
            taught_clips = {clip: np.concatenate([to_uint8(teacher(to_tensor(frames[i:i + BATCH])))
                                                  for i in range(0, len(frames), BATCH)])
                            for clip, frames in clips.items()}
        for variant in args.networks:
            network = load_network(folder / variant).eval()
            if not network.frame_detail:
                continue
            for clip, frames in clips.items():
                taught = taught_clips[clip]
                ours = renderings(network, frames)
                meter = WarpingErrorMeter()
                for i, frame in enumerate(frames):
                    meter.update(frame, {"teacher": taught[i], **{name: out[i] for name, out in ours.items()}})
                errors = meter.mean()
                energy = {name: detail_energy(to_tensor(out)) for name, out in ours.items()}
                row = {name: {"warping_error_over_teacher": round(errors[name] / errors["teacher"], 3),
                              "energy_over_uncored": round(energy[name] / energy["detail"], 3)} for name in ours}
                results[f"{slug}/{variant}/{clip}"] = {"strength": network.frame_detail, **row}
                print(slug, variant, clip, {name: (v["warping_error_over_teacher"], v["energy_over_uncored"])
                                            for name, v in row.items()}, flush=True)
        args.json.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()

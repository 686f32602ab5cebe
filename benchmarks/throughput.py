"""End-to-end throughput (decode + stylize + encode) of the default network and the Johnson-size reference.

    python benchmarks/throughput.py [--width 640 --height 360 --frames 32] [--json benchmarks/results/throughput.json]

Both networks run in the same process on the same clip; the figure to quote is the ratio. Weights are random (speed
does not depend on them). Prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_clip import write_panning_clip  # noqa: E402

from vst.model import DEFAULT_CONFIG, JOHNSON_CONFIG, StyleNet  # noqa: E402
from vst.pipeline import Stylizer, render_video, select_device  # noqa: E402

NETWORKS = {"default": DEFAULT_CONFIG, "johnson-reference": JOHNSON_CONFIG}


def network_fps(stylizer: Stylizer, width: int, height: int, batch: int, repeats: int) -> float:
    images = np.random.default_rng(0).integers(0, 256, (batch, height, width, 3), dtype=np.uint8)
    stylizer(images)  # warm-up
    start = time.perf_counter()
    for _ in range(repeats):
        stylizer(images)
    return repeats * batch / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--frames", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--device", default=None)
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/throughput.json"))
    args = parser.parse_args()
    device = select_device(args.device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_panning_clip(Path(tmp) / "clip.mp4", width=args.width, height=args.height, frames=args.frames)
        for name, config in NETWORKS.items():
            torch.manual_seed(0)
            model = StyleNet(**config)
            stylizer = Stylizer(model, device)
            net = network_fps(stylizer, args.width, args.height, args.batch_size, repeats=2)
            result = render_video(clip, {name: (stylizer, Path(tmp) / f"{name}.mp4")}, batch_size=args.batch_size)
            rows.append({"network": name, "config": config, "parameters": model.num_parameters(),
                         "end_to_end_fps": result.fps, "network_fps": net})
    base = rows[-1]["end_to_end_fps"]
    print(f"\n{args.width}×{args.height}, {args.frames} frames, device {device}, {torch.get_num_threads()} threads")
    print(f"{'network':<20}{'params':>10}{'end-to-end fps':>16}{'network fps':>14}{'× reference':>13}")
    for row in rows:
        row["speedup_vs_reference"] = row["end_to_end_fps"] / base
        print(f"{row['network']:<20}{row['parameters']:>10,}{row['end_to_end_fps']:>16.2f}{row['network_fps']:>14.2f}"
              f"{row['speedup_vs_reference']:>13.2f}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    meta = {"width": args.width, "height": args.height, "frames": args.frames, "device": str(device),
            "threads": torch.get_num_threads(), "torch": torch.__version__, "machine": platform.processor()}
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

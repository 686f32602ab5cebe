"""What libx264's preset costs and gives: the same stylized frames encoded by :class:`vst.video_writer.VideoWriter`
with each preset, in one process, round-robin.

    python benchmarks/encoder_presets.py [--clip data/raw/cockatoo.mp4] [--frames 60] [--style the-scream]
                                         [--variant fast] [--max-side N] [--presets veryfast superfast ultrafast]
                                         [--rounds 2]

The clip's first ``--frames`` frames (downscaled to a long side of ``--max-side`` first, as the app and the command
line do) are stylized once by the style's ``--variant`` network (the fast one at a quarter of each side for frames
at least 1280 px long, as real time runs them there), then encoded with each preset at the writer's CRF.
Reported per preset: milliseconds per frame (the best round), the file's size, and the PSNR of the decoded frames to
the frames given (what the encoder lost). Writes JSON.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vst.hub import load_model  # noqa: E402
from vst.memory import tune_malloc  # noqa: E402
from vst.pipeline import Stylizer, select_device  # noqa: E402
from vst.video import VideoReader  # noqa: E402
from vst.video_writer import VideoWriter  # noqa: E402


def first_frames(clip: Path, count: int, max_side: int | None = None) -> list[np.ndarray]:
    """The first ``count`` frames of ``clip``, ``(H, W, 3)`` uint8 RGB, as the pipeline decodes them."""
    with VideoReader(clip, max_side=max_side) as reader:
        return [image for image, _, _ in itertools.islice(reader.frames(), count)]


def psnr(decoded: list[np.ndarray], given: list[np.ndarray]) -> float:
    """PSNR in dB of ``decoded`` against ``given`` (uint8 frames), over all frames."""
    mse = np.mean([np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2) for a, b in zip(decoded, given)])
    return float(10 * np.log10(255.0**2 / mse))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clip", type=Path, default=ROOT / "data" / "raw" / "cockatoo.mp4")
    parser.add_argument("--frames", type=int, default=60)
    parser.add_argument("--style", default="the-scream")
    parser.add_argument("--variant", default="fast", help="the style's network that renders the frames")
    parser.add_argument("--max-side", type=int, help="downscale the clip to this long side first")
    parser.add_argument("--presets", nargs="+", default=["veryfast", "superfast", "ultrafast"])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "encoder-presets.json")
    args = parser.parse_args()
    tune_malloc()  # as the command line and the app run (vst.memory)
    frames = first_frames(args.clip, args.frames, args.max_side)
    height, width = frames[0].shape[:2]
    stylizer = Stylizer(load_model(args.style, args.variant), select_device("cpu"),
                        scale=0.25 if args.variant == "fast" and max(width, height) >= 1280 else 1.0)
    stylized = [stylizer(frame[None])[0] for frame in frames]
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            for preset in args.presets:
                out = Path(tmp) / f"{preset}.mp4"
                started = time.perf_counter()
                with VideoWriter(out, width, height, time_base=Fraction(1, 25), frame_rate=Fraction(25),
                                 preset=preset) as writer:
                    for index, image in enumerate(stylized):
                        writer.write(image, index)
                ms = 1000 * (time.perf_counter() - started) / len(stylized)
                decoded = [image[:height, :width] for image in first_frames(out, len(stylized))]  # even-sized
                row = rows.setdefault(preset, {"ms_per_frame": ms})
                row.update(ms_per_frame=round(min(row["ms_per_frame"], ms), 2), kib=round(out.stat().st_size / 1024),
                           psnr_db=round(psnr(decoded, stylized), 2))
                print(f"round {round_ + 1} {preset:<10} {ms:6.1f} ms a frame  {row['kib']:6d} KiB  "
                      f"PSNR {row['psnr_db']:.2f} dB", flush=True)
    print(f"\n{args.clip.name}, {len(stylized)} frames of {width}×{height} (best round):")
    for preset, row in rows.items():
        print(f"{preset:<10} {row['ms_per_frame']:6.1f} ms a frame  {row['kib']:6d} KiB  PSNR {row['psnr_db']:.2f} dB")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"clip": str(args.clip), "frames": len(stylized), "width": width,
                                     "height": height, "style": args.style, "variant": args.variant,
                                     "presets": rows}, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

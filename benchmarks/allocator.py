"""What glibc's malloc settings (:mod:`vst.memory`) do to speed and memory: the same work in fresh processes, each
with one setting, alternated round after round.

    python benchmarks/allocator.py [--style the-scream] [--rounds 3] [--seconds 4] [--json benchmarks/results/allocator.json]

Settings (one child process each, order rotated every round):

- ``system``: glibc's defaults (``VST_MALLOC=system``);
- ``arenas``: the arenas capped only (:data:`vst.memory.MALLOC_ARENAS`), as the command line and the app ran before
  freed memory was kept;
- ``tuned``: :func:`vst.memory.tune_malloc` as it is now (arenas capped, blocks up to 32 MiB from the heaps, no trimming).

Each child measures, with the style's bundled ``fast`` and ``temporal`` networks (:class:`vst.pipeline.Stylizer`, the
app's and the command line's path): the network alone at 640×360 and 1280×720 (the median of ``--seconds`` of single
frames after a warm-up), end to end at 640×360 (a synthetic panning clip decoded, stylized by the fast network and
encoded, overlapped, as the app runs it; the median of three renders), and its peak resident memory. Each figure's median over the rounds is
reported, with ``tuned`` over each other setting: speed ratios above 1 are faster.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

SETTINGS = ("system", "arenas", "tuned")
SIZES = ((640, 360), (1280, 720))
VARIANTS = ("fast", "temporal")


def apply_setting(setting: str) -> None:
    """Set this process's malloc as ``setting`` says (see the module docstring)."""
    if setting == "tuned":
        from vst.memory import tune_malloc

        if not tune_malloc():
            raise SystemExit("tune_malloc() did not apply (not glibc?): nothing to compare")
    elif setting == "arenas":
        import ctypes

        from vst.memory import _M_ARENA_MAX, MALLOC_ARENAS

        if ctypes.CDLL("libc.so.6").mallopt(_M_ARENA_MAX, MALLOC_ARENAS) != 1:
            raise SystemExit("glibc refused the arena cap")


def child(setting: str, style: str, seconds: float, clip: Path) -> dict[str, float]:
    """One setting's figures, measured in this (fresh) process."""
    apply_setting(setting)
    import resource

    import numpy as np
    import torch

    from vst.hub import load_model
    from vst.pipeline import Stylizer, render_video, select_device

    device = select_device("cpu")
    figures: dict[str, float] = {}
    # End to end first, as a fresh command line or app job runs it: the passes below leave the heap grown, and what
    # an earlier, larger frame left behind hides part of the difference.
    stylizer = Stylizer(load_model(style, "fast"), device)
    with tempfile.TemporaryDirectory() as tmp, torch.inference_mode():
        rates = [render_video(clip, {"out": (stylizer, Path(tmp) / "out.mp4")}, overwrite=True).fps for _ in range(3)]
    figures["fast end-to-end fps 640x360"] = statistics.median(rates)
    for variant in VARIANTS:
        stylizer = Stylizer(load_model(style, variant), device)
        for width, height in SIZES:
            image = np.random.default_rng(0).integers(0, 256, (1, height, width, 3), dtype=np.uint8)
            for _ in range(3):
                stylizer(image)
            times: list[float] = []
            start = time.perf_counter()
            while len(times) < 5 or time.perf_counter() - start < seconds:
                tick = time.perf_counter()
                stylizer(image)
                times.append(time.perf_counter() - tick)
            figures[f"{variant} network ms {width}x{height}"] = 1000 * statistics.median(times)
    figures["peak RSS MB"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style", default="the-scream")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0, help="seconds of single frames per network and size")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "allocator.json")
    parser.add_argument("--child", choices=SETTINGS, help=argparse.SUPPRESS)
    parser.add_argument("--clip", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.style, args.seconds, args.clip)))
        return

    from synthetic_clip import write_panning_clip

    runs: dict[str, list[dict[str, float]]] = {setting: [] for setting in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        clip = Path(tmp) / "clip.mp4"
        write_panning_clip(clip, width=640, height=360, frames=150)
        for round_ in range(args.rounds):
            order = SETTINGS[round_ % 3:] + SETTINGS[:round_ % 3]
            for setting in order:
                env = dict(os.environ, VST_MALLOC="system" if setting != "tuned" else "tuned")
                out = subprocess.run([sys.executable, __file__, "--child", setting, "--style", args.style,
                                      "--seconds", str(args.seconds), "--clip", str(clip)],
                                     capture_output=True, text=True, env=env, check=True)
                figures = json.loads(out.stdout.strip().splitlines()[-1])
                runs[setting].append(figures)
                print(f"round {round_ + 1} {setting:<7} " + "  ".join(f"{k} {v:.1f}" for k, v in figures.items()),
                      flush=True)
    medians = {setting: {key: statistics.median(run[key] for run in runs[setting]) for key in runs[setting][0]}
               for setting in SETTINGS}
    print(f"\nmedians over {args.rounds} rounds ({args.style}); tuned ÷ each other setting (speed: above 1 is faster)")
    keys = list(medians["tuned"])
    print(f"{'':34}" + "".join(f"{s:>10}" for s in SETTINGS) + f"{'÷system':>10}{'÷arenas':>10}")
    ratios: dict[str, dict[str, float]] = {}
    for key in keys:
        # times (ms): other ÷ tuned, so above 1 is faster; rates (fps) and memory (MB): tuned ÷ other
        ratio = {other: (medians[other][key] / medians["tuned"][key] if " ms " in key
                         else medians["tuned"][key] / medians[other][key]) for other in ("system", "arenas")}
        ratios[key] = {k: round(v, 3) for k, v in ratio.items()}
        print(f"{key:34}" + "".join(f"{medians[s][key]:10.1f}" for s in SETTINGS)
              + f"{ratio['system']:10.2f}{ratio['arenas']:10.2f}")
    print("(peak RSS: tuned ÷ other, below 1 is less memory)")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"style": args.style, "rounds": args.rounds, "runs": runs, "medians": medians,
                                     "tuned_over": ratios}, indent=1) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

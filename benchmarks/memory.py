"""Peak memory of the streaming pipeline on a long clip (default: 5 minutes of 1280×720 at 25 fps, fast network).

    python benchmarks/memory.py [--network fast|full-size|johnson-reference|tiny] [--compile] [--seconds 300]
                                [--width 1280 --height 720] [--max-side N] [--json benchmarks/results/memory.json]
    python benchmarks/memory.py --app [--real-time] [--style starry-night] [--seconds 0.4 --width 3840 --height 2160]

The clip is generated first; then ``python -m vst stylize`` runs in a child process on the chosen network and its
peak resident memory (ru_maxrss) is reported, next to a run on a clip a quarter as long, to show that memory does not
grow with length. ``--max-side`` is passed to the command (by default its own default, 1280, applies: a larger clip
is downscaled; ``--max-side 0`` keeps the full size).

``--app`` measures the web app's job instead: a child process imports ``app.py`` (Gradio included), sets up memory as
``app.main()`` does and runs one stylize job of the bundled ``--style`` with the app's default limits
(:class:`vst.app.config.AppConfig`: long side 720, the temporal model and the framewise baseline from one decode, the
flicker meter), as :meth:`vst.app.stylize_jobs.StylizeService.run` does for a visitor; no server is started.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from synthetic_clip import write_panning_clip  # noqa: E402

from vst.model import NAMED_CONFIGS, build_network  # noqa: E402

#: tiny: to measure the streaming pipeline itself on long clips quickly
NETWORKS = NAMED_CONFIGS | {"tiny": {"channels": [4, 8, 8], "num_residual_blocks": 1, "outer_kernel": 3}}


def peak_rss_mb(cmd: list[str]) -> tuple[float, float]:
    """Run ``cmd`` in a fresh child; returns (its peak RSS in MB, seconds)."""
    start = time.perf_counter()
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    return int(out.stdout.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


#: The ``--app`` child: ``sys.argv[1:]`` = clip, style, cache folder, ``realtime`` or ``temporal``.
APP_JOB = """
import importlib.util, os, sys
os.environ.setdefault("HF_HUB_OFFLINE", "1")
import app
if importlib.util.find_spec("vst.memory"):  # as app.main() does (trees before it had no vst.memory)
    from vst.memory import tune_malloc
    tune_malloc()
from pathlib import Path
from vst.app.config import AppConfig
from vst.app.gallery import gallery_styles
from vst.app.stylize_jobs import StylizeService
config = AppConfig(cache_dir=Path(sys.argv[3]), showcase=False)
service = StylizeService(config, gallery_styles(config))
outcome = service.run(sys.argv[1], sys.argv[2], realtime=sys.argv[4] == "realtime")
assert outcome.result.frames > 0 and not outcome.pending
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=300)
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--network", choices=list(NETWORKS), default="fast",
                        help="fast: the real-time network; full-size: the temporal/framewise one; tiny: a 4/8/8-channel 3×3 "
                             "network, to measure the streaming pipeline itself")
    parser.add_argument("--compile", action="store_true",
                        help="run the network through torch.compile (whole frames, no strips; see vst.rewrites.InferenceOptions)")
    parser.add_argument("--max-side", type=int, help="passed to `python -m vst stylize` (default: its default)")
    parser.add_argument("--app", action="store_true",
                        help="measure the app's stylize job (its limits, both variants) instead of the command line")
    parser.add_argument("--real-time", action="store_true",
                        help="with --app: the app's real-time mode (the fast network, then its framewise twin)")
    parser.add_argument("--style", default="starry-night", help="with --app: the bundled style to run")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/memory.json"))
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        checkpoint = Path(tmp) / "net"
        torch.manual_seed(0)
        build_network(dict(NETWORKS[args.network])).save_pretrained(checkpoint)
        for seconds in (args.seconds / 4, args.seconds):
            frames = round(seconds * 25)
            clip = write_panning_clip(Path(tmp) / f"clip{frames}.mp4", width=args.width, height=args.height,
                                      frames=frames)
            if args.app:
                peak, took = peak_rss_mb([sys.executable, "-c", APP_JOB, str(clip), args.style,
                                          str(Path(tmp) / f"cache{frames}"),
                                          "realtime" if args.real_time else "temporal"])
            else:
                peak, took = peak_rss_mb([sys.executable, "-m", "vst", "stylize", str(clip), "--style",
                                          str(checkpoint), "-o", str(Path(tmp) / f"out{frames}.mp4"), "--quiet",
                                          *(["--compile"] if args.compile else []),
                                          *(["--max-side", str(args.max_side)] if args.max_side is not None else [])])
            rows.append({"seconds": seconds, "frames": frames, "peak_rss_mb": round(peak, 1), "wall_s": round(took, 1)})
            mode = "real-time mode" if args.real_time else "both variants"
            what = (f"app job ({args.style}, {mode})" if args.app else
                    f"{args.network} network{' (compiled)' if args.compile else ''}")
            print(f"{what}, {args.width}×{args.height}, {seconds:g} s ({frames} frames): peak RSS {peak:.0f} MB, "
                  f"{took:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"width": args.width, "height": args.height, "max_side": args.max_side,
                                     "network": (f"app:{args.style}" + (":realtime" if args.real_time else "")
                                                 if args.app else args.network),
                                     "compile": args.compile, "rows": rows,
                                     "self_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

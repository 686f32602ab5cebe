"""Peak memory of the streaming pipeline on a long clip (default: 5 minutes of 1280×720 at 25 fps, fast network).

    python benchmarks/memory.py [--network fast|full-size|johnson-reference|tiny] [--compile] [--seconds 300]
                                [--width 1280 --height 720] [--max-side N] [--json benchmarks/results/memory.json]
    python benchmarks/memory.py --app [--real-time] [--style starry-night] [--seconds 0.4 --width 3840 --height 2160]
    python benchmarks/memory.py --app --style-image painting.jpg [--strength 0.8] --seconds 2

The clip is generated first; then ``python -m vst stylize`` runs in a child process on the chosen network and its
peak resident memory (ru_maxrss) while it works is reported, next to a run on a clip a quarter as long, to show that
memory does not grow with length. The child reports its own peak just before it exits: seen from outside, the peak
also counts the interpreter's exit, where PyTorch's CUDA build (what pip installs on Linux, on a CPU-only machine too)
touches about 125 MB more, tearing its libraries down (``python -c "import torch"``: 508 MB once imported, 633 MB
with the exit; the CPU-only build 218 MB either way). That figure is kept too (``peak_rss_at_exit_mb``); figures in
results written before session 23 are that one. ``--max-side`` is passed to the command (by default its own
default, 1280, applies: a larger clip is downscaled; ``--max-side 0`` keeps the full size).

``--app`` measures the web app's job instead: a child process imports ``app.py`` (Gradio included), sets up memory as
``app.main()`` does and runs one stylize job of the bundled ``--style`` with the app's default limits
(:class:`vst.app.config.AppConfig`: long side 720, the temporal model and the framewise baseline from one decode, the
flicker meter), as :meth:`vst.app.stylize_jobs.StylizeService.run` does for a visitor; no server is started.
``--style-image`` makes it a visitor's painting instead (the *Your painting* card: the picture opened and previewed
by :class:`vst.app.your_painting.PaintingStudio`, the any-painting network and its framewise baseline, the teacher).
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


#: The last thing a measured child does: print its own peak RSS (KiB) on stderr, before the interpreter's exit.
REPORT_PEAK = ("import resource, sys; "
               "print(f'peak_rss_kib={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}', file=sys.stderr)")
#: ``python -m vst`` with :data:`REPORT_PEAK` after it (``sys.argv[1:]``: the command line's arguments).
CLI_CHILD = f"""
import runpy, sys
sys.argv[0] = "vst"
try:
    runpy.run_module("vst", run_name="__main__", alter_sys=True)
finally:
    {REPORT_PEAK}
"""


def peak_rss_mb(cmd: list[str]) -> tuple[float, float, float]:
    """Run ``cmd`` (a Python child that ends with :data:`REPORT_PEAK`) in a fresh process; returns (its peak RSS in
    MB while it worked, its peak RSS in MB with its exit, seconds)."""
    start = time.perf_counter()
    code = ("import resource, subprocess, sys; r = subprocess.run(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)")
    out = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if out.returncode != 0:
        raise RuntimeError(f"the measured child failed ({out.returncode}):\n{out.stderr[-3000:]}")
    reported = [line for line in out.stderr.splitlines() if line.startswith("peak_rss_kib=")]
    if not reported:
        raise RuntimeError(f"the measured child reported no peak:\n{out.stderr[-3000:]}")
    working = int(reported[-1].removeprefix("peak_rss_kib=")) / 1024
    return working, int(out.stdout.strip().splitlines()[-1]) / 1024, time.perf_counter() - start


#: The ``--app`` child: ``sys.argv[1:]`` = clip, style, cache folder, ``realtime`` or ``temporal``, and for a
#: visitor's painting the picture and the strength.
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
style = sys.argv[2]
if len(sys.argv) > 5:  # a visitor's painting, through the card's own path (a copy: the upload is deleted)
    import shutil
    from vst.app.your_painting import YOUR_PAINTING, PaintingStudio
    studio = PaintingStudio.load(service.jobs)
    upload = Path(sys.argv[3]) / ("upload" + Path(sys.argv[5]).suffix)
    upload.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(sys.argv[5], upload)
    strength = float(sys.argv[6])
    style = studio.job_style(YOUR_PAINTING, studio.open(upload, strength), strength)
outcome = service.run(sys.argv[1], style, realtime=sys.argv[4] == "realtime")
assert outcome.result.frames > 0 and not outcome.pending
""" + REPORT_PEAK


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
    parser.add_argument("--style-image", type=Path,
                        help="with --app: a visitor's painting (JPEG, PNG or WebP) instead of a bundled style")
    parser.add_argument("--strength", type=float, default=1.0, help="with --style-image: the style strength")
    parser.add_argument("--json", type=Path, default=Path("benchmarks/results/memory.json"))
    args = parser.parse_args()
    if args.style_image is not None and not args.app:
        parser.error("--style-image needs --app (the command line takes --style-image itself)")
    style = f"your painting {args.style_image.name}" if args.style_image is not None else args.style
    painting = [str(args.style_image.resolve()), str(args.strength)] if args.style_image is not None else []
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
                child = [APP_JOB, str(clip), args.style, str(Path(tmp) / f"cache{frames}"),
                         "realtime" if args.real_time else "temporal", *painting]
            else:
                child = [CLI_CHILD, "stylize", str(clip), "--style", str(checkpoint), "-o",
                         str(Path(tmp) / f"out{frames}.mp4"), "--quiet", *(["--compile"] if args.compile else []),
                         *(["--max-side", str(args.max_side)] if args.max_side is not None else [])]
            peak, at_exit, took = peak_rss_mb([sys.executable, "-c", *child])
            rows.append({"seconds": seconds, "frames": frames, "peak_rss_mb": round(peak, 1),
                         "peak_rss_at_exit_mb": round(at_exit, 1), "wall_s": round(took, 1)})
            mode = "real-time mode" if args.real_time else "both variants"
            what = (f"app job ({style}, {mode})" if args.app else
                    f"{args.network} network{' (compiled)' if args.compile else ''}")
            print(f"{what}, {args.width}×{args.height}, {seconds:g} s ({frames} frames): peak RSS {peak:.0f} MB "
                  f"({at_exit:.0f} MB with the exit), {took:.0f} s")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"width": args.width, "height": args.height, "max_side": args.max_side,
                                     "network": (f"app:{style}" + (":realtime" if args.real_time else "")
                                                 if args.app else args.network),
                                     "compile": args.compile, "rows": rows,
                                     "self_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}, indent=2))
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

"""How long a visitor waits in each mode of the app, on every example clip: real time (the fast network; the video
first, then the comparison with the fast network's framewise twin) against the temporal model (video and framewise
baseline in one pass).

    python benchmarks/app_modes.py [--style starry-night] [--clips cockatoo bikes carphone] [--stand-in-twin]
                                   [--json out.json]

Runs :class:`vst.app.stylize_jobs.StylizeService` (what the app runs, with its default limits and flicker meter) on the
bundled checkpoints. Per clip and mode: seconds until the video is delivered and until everything (the comparison
too) is done; the ratio real time / temporal of both, measured in the same command. A style without a
``fast-framewise/`` twin is compared with its full-size framewise model in real-time mode, and the row says so.
``--stand-in-twin`` times real-time mode as it will run once the twin is trained: a temporary checkpoint folder links
the bundled styles and adds the style's own ``fast/`` weights as ``fast-framewise/`` (the same network, so the same
cost; its flicker reading means nothing, only the timing counts).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from vst.app.config import AppConfig  # noqa: E402
from vst.app.gallery import gallery_styles  # noqa: E402
from vst.app.stylize_jobs import StylizeService  # noqa: E402
from vst.memory import tune_malloc  # noqa: E402

EXAMPLES = ROOT / "examples"


def timed_job(service: StylizeService, clip: Path, style: str, realtime: bool) -> dict[str, object]:
    """One job through :meth:`StylizeService.stages`: seconds to the delivered video and to the last outcome."""
    started = time.perf_counter()
    video_at = None
    outcome = None
    for outcome in service.stages(clip, style, realtime=realtime):
        if video_at is None:
            video_at = time.perf_counter() - started
    done_at = time.perf_counter() - started
    assert outcome is not None and video_at is not None
    service.jobs.remove(outcome.folder)
    return {"network": outcome.variant, "baseline": outcome.baseline_variant, "frames": outcome.result.frames,
            "video_s": round(video_at, 2), "done_s": round(done_at, 2),
            "comparison_error": outcome.comparison_error}


def stand_in_checkpoints(root: Path, style: str) -> Path:
    """``root/<slug>/<variant>`` linking the bundled checkpoints, with ``fast/`` also linked as ``fast-framewise/``."""
    from vst.catalog import Variant, bundled_dir

    for folder in sorted(bundled_dir().iterdir()):
        if not folder.is_dir():
            continue
        (root / folder.name).mkdir(parents=True)
        for item in folder.iterdir():
            (root / folder.name / item.name).symlink_to(item.resolve())
        if folder.name == style:
            (root / style / Variant.FAST_FRAMEWISE).symlink_to((folder / Variant.FAST).resolve())
    return root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default="starry-night")
    parser.add_argument("--clips", nargs="+", default=["cockatoo", "bikes", "carphone"])
    parser.add_argument("--json", type=Path, help="also write the rows here")
    parser.add_argument("--stand-in-twin", action="store_true",
                        help="time real-time mode with the fast network's weights standing in for its framewise twin")
    args = parser.parse_args()
    tune_malloc()  # as the command line and the app run (vst.memory)
    with tempfile.TemporaryDirectory() as cache:
        if args.stand_in_twin:
            os.environ["VST_CHECKPOINT_DIR"] = str(stand_in_checkpoints(Path(cache) / "checkpoints", args.style))
        config = AppConfig.from_env({"VST_CACHE_DIR": cache, "VST_COMPARISON_TIMEOUT": "3600",
                                     "VST_JOB_TIMEOUT": "3600"})
        service = StylizeService(config, gallery_styles(config))
        service.run(EXAMPLES / "carphone.mp4", args.style, realtime=True)  # load the networks once (warm-up)
        rows = []
        for name in args.clips:
            clip = EXAMPLES / f"{name}.mp4"
            realtime = timed_job(service, clip, args.style, realtime=True)
            temporal = timed_job(service, clip, args.style, realtime=False)
            row = {"clip": name, "realtime": realtime, "temporal": temporal,
                   "video_ratio": round(realtime["video_s"] / temporal["video_s"], 2),  # type: ignore[operator]
                   "done_ratio": round(realtime["done_s"] / temporal["done_s"], 2)}  # type: ignore[operator]
            rows.append(row)
            print(f"{name:9s} real time: video {realtime['video_s']:6.1f} s, all {realtime['done_s']:6.1f} s "
                  f"(vs {realtime['baseline']}) | temporal: video and all {temporal['done_s']:6.1f} s | "
                  f"real time / temporal: video x{row['video_ratio']}, all x{row['done_ratio']}", flush=True)
    result = {"style": args.style, "threads": torch.get_num_threads(), "stand_in_twin": args.stand_in_twin,
              "rows": rows}
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()

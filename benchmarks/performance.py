"""Speed of every network at 360p, 540p and 720p: end to end (decode + stylize + encode) and the network alone.

    python benchmarks/performance.py [--resolutions 640x360 960x540 1280x720] [--seconds 2] [--one-at-a-time]
                                     [--json benchmarks/results/performance.json] [--plot docs/performance.png]

Rows: ``fast`` (the real-time FastStyleNet), ``full-size`` (the default StyleNet of the bundled temporal and
framewise checkpoints), each also through ``torch.compile``, ``full-size antialiased`` (the same with
``antialias=True``: blurred downsampling, bilinear upsampling), ``johnson-size`` (Johnson et al.'s 32/64/128-channel,
5-block network on our inference path) and ``johnson-reference`` (the same network run the textbook eager way:
resize-then-convolve upsampling and the RGB convolution at full resolution, i.e. with
:mod:`vst.rewrites` off: :func:`vst.model.with_inference`). All run in the same process on the same synthetic clip (a photo panning
2 px per frame), through the code path the app and the command line use (:func:`vst.pipeline.render_video`), in
round-robin rounds whose best counts per row. Weights are random: speed does not depend on them. The figures to quote
are the ratios to the reference in the same run; ``× johnson-size`` separates the architecture's share from the
rewrites'. ``… + smoothing``: the output also through the flow-guided smoothing (:mod:`vst.smoothing`), as the app
renders it; ``… + denoise``: and the input through the flow-guided denoising (:mod:`vst.denoise`), as the app does. ``… + detail`` rows: the same network adding the frame's own fine detail (``frame_detail`` 1,
:mod:`vst.detail`), as the bundled temporal and fast networks do. Prints a table, writes JSON and a plot of fps against
resolution.

End to end runs twice per row: overlapped (``end_to_end_fps``: decoding, the network and encoding side by side, as
the app and the command line run) and sequential (``sequential_fps``: one stage after the other, ``overlap=False``).
``end_to_end_over_network`` / ``sequential_over_network`` are those rates over the network alone (1.0: decoding and
encoding cost nothing), the better of one frame per call (``network_one_frame_fps``) and as many frames per call as a
render hands the network (``network_per_call_fps``: on the CPU, frames that run side by side, one per core;
``vst.parallel``). ``--one-at-a-time`` adds each network once more with frames never side by side, for the ratio.
``decode_s_per_frame``, ``network_s_per_frame`` and ``encode_s_per_frame`` are the sequential run's stage times (each
stage alone on the cores); ``overlapped_stage_s_per_frame`` the same while they overlap.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_description  # noqa: E402
from synthetic_clip import write_panning_clip  # noqa: E402

from vst.memory import tune_malloc  # noqa: E402
from vst.model import NAMED_CONFIGS, StyleNet, build_network, with_inference  # noqa: E402
from vst.pipeline import RenderResult, Stylizer, render_video, select_device  # noqa: E402
from vst.denoise import DenoiseOptions  # noqa: E402
from vst.smoothing import SmoothingOptions  # noqa: E402

REFERENCE = "johnson-reference"
SAME_PATH_REFERENCE = "johnson-size"
#: Benchmark row → (network config, inference rewrites on, torch.compile, internal scale: see
#: :class:`vst.pipeline.Stylizer`'s ``scale``, the network at that fraction of each side and guided upsampling).
NETWORKS: dict[str, tuple[dict[str, object], bool, bool, float]] = {
    "fast": (NAMED_CONFIGS["fast"], True, False, 1.0),
    "fast (compiled)": (NAMED_CONFIGS["fast"], True, True, 1.0),
    "full-size": (NAMED_CONFIGS["full-size"], True, False, 1.0),
    "full-size (compiled)": (NAMED_CONFIGS["full-size"], True, True, 1.0),
    "full-size antialiased": (NAMED_CONFIGS["full-size-antialias"], True, False, 1.0),
    "magenta (teacher's network)": (NAMED_CONFIGS["magenta"], True, False, 1.0),
    "magenta fast (2 blocks)": (NAMED_CONFIGS["magenta-fast"], True, False, 1.0),
    "magenta fast at 3/4": (NAMED_CONFIGS["magenta-fast"], True, False, 0.75),
    "magenta fast at 1/2": (NAMED_CONFIGS["magenta-fast"], True, False, 0.5),
    "magenta fast + detail": ({**NAMED_CONFIGS["magenta-fast"], "frame_detail": 1.0}, True, False, 1.0),
    "magenta fast at 1/2 + detail": ({**NAMED_CONFIGS["magenta-fast"], "frame_detail": 1.0}, True, False, 0.5),
    "magenta fast at 1/4": (NAMED_CONFIGS["magenta-fast"], True, False, 0.25),
    "magenta fast at 1/4 + detail": ({**NAMED_CONFIGS["magenta-fast"], "frame_detail": 1.0}, True, False, 0.25),
    "magenta + detail": ({**NAMED_CONFIGS["magenta"], "frame_detail": 1.0}, True, False, 1.0),
    "magenta at 1/2 + detail": ({**NAMED_CONFIGS["magenta"], "frame_detail": 1.0}, True, False, 0.5),
    "magenta fast + detail, no phase space": ({**NAMED_CONFIGS["magenta-fast"], "frame_detail": 1.0}, True, False, 1.0),
    "magenta fast + detail (compiled)": ({**NAMED_CONFIGS["magenta-fast"], "frame_detail": 1.0}, True, True, 1.0),
    "magenta + detail, no phase space": ({**NAMED_CONFIGS["magenta"], "frame_detail": 1.0}, True, False, 1.0),
    "magenta fast + detail + smoothing": ({**NAMED_CONFIGS["magenta-fast"], "frame_detail": 1.0}, True, False, 1.0),
    "magenta fast + detail + smoothing + denoise": ({**NAMED_CONFIGS["magenta-fast"], "frame_detail": 1.0}, True, False,
                                                    1.0),
    "magenta live (1 block)": (NAMED_CONFIGS["magenta-live"], True, False, 1.0),
    "magenta live at 1/2": (NAMED_CONFIGS["magenta-live"], True, False, 0.5),
    SAME_PATH_REFERENCE: (NAMED_CONFIGS["johnson-reference"], True, False, 1.0),
    REFERENCE: (NAMED_CONFIGS["johnson-reference"], False, False, 1.0),
}
#: Rows whose network runs the rewrites without the phase-space ones (:class:`vst.rewrites.InferenceOptions`'s
#: ``phase_space``: as before they existed), for their ratio in one run.
NO_PHASE_SPACE = " no phase space"
#: Rows rendered with the flow-guided smoothing of the output (:mod:`vst.smoothing`, default options), as the app does.
SMOOTHED = {"magenta fast + detail + smoothing", "magenta fast + detail + smoothing + denoise"}
#: Rows whose network sees the input denoised along the flow (:mod:`vst.denoise`, default options), as the app does.
DENOISED = {"magenta fast + detail + smoothing + denoise"}
#: Suffix of the rows that ``--one-at-a-time`` adds: the same network with frames never run side by side
#: (``Stylizer(parallel=False)``: one frame at a time on all the cores, as before frames ran side by side).
ONE_AT_A_TIME = ", one at a time"
REAL_TIME_FPS = 25.0
#: The stages whose seconds per frame each row reports (keys of :attr:`vst.pipeline.RenderResult.stage_seconds`).
STAGES = ("decode", "network", "encode")


def network_fps(stylizer: Stylizer, width: int, height: int, min_seconds: float, per_call: int = 1) -> float:
    """Frames per second of the network alone (uint8 in, uint8 out), ``per_call`` frames per call (several run side
    by side, see :class:`vst.pipeline.Stylizer`), after one warm-up call."""
    images = np.random.default_rng(0).integers(0, 256, (per_call, height, width, 3), dtype=np.uint8)
    stylizer(images)
    calls, start = 0, time.perf_counter()
    while calls < 2 or time.perf_counter() - start < min_seconds:
        stylizer(images)
        calls += 1
    return calls * per_call / (time.perf_counter() - start)


def network_alone(stylizer: Stylizer, width: int, height: int, min_seconds: float) -> dict[str, float]:
    """The network alone one frame per call (``network_one_frame_fps``) and with as many frames per call as a render
    hands it (``network_per_call_fps``, the same when that is one); ``network_fps`` is the better of the two, the
    rate that end to end is compared with."""
    one = network_fps(stylizer, width, height, min_seconds)
    per_call = stylizer.frames_per_call(width, height)
    several = network_fps(stylizer, width, height, min_seconds, per_call) if per_call > 1 else one
    return {"network_fps": max(one, several), "network_one_frame_fps": one, "network_per_call_fps": several}


def end_to_end(stylizer: Stylizer, clip: Path, out: Path, width: int, height: int, *,
               smoothing: bool = False, denoise: bool = False) -> dict[bool, RenderResult]:
    """Decode + stylize + encode over the whole clip (``smoothing``: with :mod:`vst.smoothing` as well; ``denoise``:
    the input through :mod:`vst.denoise` too), overlapped
    (``True``) and sequential (``False``), after three warm-up passes at the clip's size (the first passes at a new
    size pay for allocation, kernel set-up and compilation)."""
    frame = np.zeros((1, height, width, 3), dtype=np.uint8)
    for _ in range(3):
        stylizer(frame)
    smooth = {"out": SmoothingOptions()} if smoothing else None
    return {overlap: render_video(clip, {"out": (stylizer, out)}, overwrite=True, overlap=overlap, smoothing=smooth,
                                  denoise=DenoiseOptions() if denoise else None)
            for overlap in (True, False)}


def per_frame(result: RenderResult) -> dict[str, float]:
    """Seconds per frame in each of :data:`STAGES`."""
    return {stage: result.stage_seconds[stage] / result.frames for stage in STAGES}


def keep_best(row: dict[str, object], runs: dict[bool, RenderResult], net: dict[str, float]) -> None:
    """Fold one round into ``row``: the highest rates, the lowest stage times, and the rates over the network's
    (``net``: :func:`network_alone`)."""
    rates = {"end_to_end_fps": runs[True].fps, "sequential_fps": runs[False].fps, **net}
    best = {key: max(float(row.get(key, 0.0)), round(value, 2))  # type: ignore[arg-type]
            for key, value in rates.items()}
    row.update(best)
    sequential, overlapped = per_frame(runs[False]), per_frame(runs[True])
    earlier: dict[str, float] = row.get("overlapped_stage_s_per_frame", {})  # type: ignore[assignment]
    for stage in STAGES:
        key = f"{stage}_s_per_frame"
        row[key] = round(min(float(row.get(key, math.inf)), sequential[stage]), 5)  # type: ignore[arg-type]
        overlapped[stage] = round(min(earlier.get(stage, math.inf), overlapped[stage]), 5)
    row["overlapped_stage_s_per_frame"] = overlapped
    row["end_to_end_over_network"] = round(best["end_to_end_fps"] / best["network_fps"], 3)
    row["sequential_over_network"] = round(best["sequential_fps"] / best["network_fps"], 3)


def parse_resolution(text: str) -> tuple[int, int]:
    width, _, height = text.partition("x")
    return int(width), int(height)


def plot(rows: list[dict[str, object]], path: Path) -> None:
    """fps (log scale) against frame height, one line per network, with the real-time line."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8.0, 4.0), dpi=120)
    for name in NETWORKS:
        mine = [r for r in rows if r["network"] == name]
        ax.plot([r["height"] for r in mine], [r["end_to_end_fps"] for r in mine], marker="o", label=name)
    ax.axhline(REAL_TIME_FPS, color="grey", linestyle="--", linewidth=1)
    ax.text(ax.get_xlim()[1], REAL_TIME_FPS * 1.05, "real time (25 fps) ", color="grey", fontsize=8, ha="right")
    ax.set_yscale("log")
    heights = sorted({int(r["height"]) for r in rows})  # type: ignore[call-overload]
    ax.set_xticks(heights, [f"{h}p" for h in heights])
    ax.set_xlabel("resolution (16:9)")
    ax.set_ylabel("frames per second, end to end")
    ax.set_title(f"Stylization speed on {torch.get_num_threads()} CPU threads (decode + stylize + encode)", fontsize=9)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--resolutions", nargs="+", default=["640x360", "960x540", "1280x720"])
    parser.add_argument("--networks", nargs="+", choices=list(NETWORKS), default=list(NETWORKS))
    parser.add_argument("--seconds", type=float, default=6.0,
                        help="clip length at 25 fps for the fast network; slower networks get proportionally fewer "
                             "frames (at least 8) so each row takes a similar time")
    parser.add_argument("--rounds", type=int, default=2,
                        help="round-robin rounds over all rows; each row's best counts (default: 2)")
    parser.add_argument("--one-at-a-time", action="store_true",
                        help=f"also run each network with frames never side by side (rows named '…{ONE_AT_A_TIME}')")
    parser.add_argument("--device", default=None)
    parser.add_argument("--half", action="store_true", help="half precision (CUDA)")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "performance.json")
    parser.add_argument("--plot", type=Path, default=ROOT / "docs" / "performance.png", help="'' for no plot")
    args = parser.parse_args()
    tune_malloc()  # as the command line and the app run (vst.memory)
    device = select_device(args.device)
    models: dict[str, StyleNet] = {}
    for name in args.networks:
        torch.manual_seed(0)
        model = build_network(dict(NETWORKS[name][0]))
        models[name] = (with_inference(model, rewrites=NETWORKS[name][1], phase_space=False)
                        if name.endswith(NO_PHASE_SPACE) else
                        model if NETWORKS[name][1] else with_inference(model, rewrites=False))
        if args.one_at_a_time:
            models[name + ONE_AT_A_TIME] = models[name]
    relative_cost = {"fast": 1, "fast (compiled)": 1, "full-size": 4, "full-size (compiled)": 3,
                     "full-size antialiased": 4, "magenta (teacher's network)": 2, "magenta fast (2 blocks)": 1.5,
                     "magenta fast at 3/4": 1, "magenta fast at 1/2": 0.6, "magenta live (1 block)": 1.3,
                     "magenta fast + detail": 1.6, "magenta fast at 1/2 + detail": 0.7,
                     "magenta fast at 1/4": 0.35, "magenta fast at 1/4 + detail": 0.4, "magenta + detail": 2.1,
                     "magenta at 1/2 + detail": 0.8,
                     "magenta live at 1/2": 0.5, "magenta fast + detail, no phase space": 1.7,
                     "magenta + detail, no phase space": 2.2, "magenta fast + detail (compiled)": 1.6,
                     "magenta fast + detail + smoothing": 1.7, "magenta fast + detail + smoothing + denoise": 1.8,
                     SAME_PATH_REFERENCE: 14, REFERENCE: 16}  # rough: sizes the clips
    best: dict[tuple[str, int, int], dict[str, object]] = {}  # (network, width, height) → its best round
    with tempfile.TemporaryDirectory() as tmp:
        stylizers: dict[tuple[str, str], Stylizer] = {}
        for round_ in range(args.rounds):  # round-robin: the first passes of a fresh process or model run slower
            for resolution in args.resolutions:
                width, height = parse_resolution(resolution)
                for name, model in models.items():
                    base, side_by_side = name.removesuffix(ONE_AT_A_TIME), not name.endswith(ONE_AT_A_TIME)
                    frames = max(8, round(args.seconds * 25 / relative_cost[base] * (640 * 360) / (width * height)))
                    clip = Path(tmp) / f"{resolution}-{frames}.mp4"
                    if not clip.is_file():
                        write_panning_clip(clip, width=width, height=height, frames=frames)
                    key = (name, resolution)
                    if key not in stylizers:
                        _, _, compiled, scale = NETWORKS[base]
                        stylizers[key] = Stylizer(model, device, half=args.half or None, compile=compiled, scale=scale,
                                                  parallel=None if side_by_side else False)
                    runs = end_to_end(stylizers[key], clip, Path(tmp) / "out.mp4", width, height,
                                      smoothing=base in SMOOTHED, denoise=base in DENOISED)
                    net = network_alone(stylizers[key], width, height, min_seconds=1.0)
                    stages = "  ".join(f"{stage} {1000 * s:.1f}" for stage, s in per_frame(runs[False]).items())
                    print(f"  round {round_ + 1}: {name:<20} {width}×{height}: {runs[True].fps:6.2f} fps end to end "
                          f"({runs[False].fps:6.2f} sequential), network {net['network_one_frame_fps']:6.2f} fps "
                          f"one frame a call, {net['network_per_call_fps']:6.2f} as rendered; ms per frame: {stages}",
                          flush=True)
                    row = best.setdefault((name, width, height), {
                        "network": name, "width": width, "height": height, "frames": frames,
                        "parameters": model.num_parameters()})
                    keep_best(row, runs, net)
    rows = list(best.values())
    for row in rows:
        for key, reference in (("speedup_vs_reference", REFERENCE), ("speedup_vs_johnson_size", SAME_PATH_REFERENCE)):
            ref = next((r for r in rows if r["network"] == reference and r["height"] == row["height"]), None)
            row[key] = round(float(row["end_to_end_fps"]) / float(ref["end_to_end_fps"]), 2) if ref else None

    print(f"\ndevice {device}, {torch.get_num_threads()} threads, {platform.processor() or platform.machine()}, "
          f"torch {torch.__version__}")
    print(f"{'network':<20}{'params':>9}{'resolution':>12}{'end-to-end fps':>16}{'network fps':>13}{'× reference':>13}"
          f"{'× johnson-size':>16}{'sequential fps':>16}{'e2e/net':>9}{'seq/net':>9}"
          f"{'decode ms':>11}{'network ms':>12}{'encode ms':>11}")
    for row in rows:
        ratios = [f"{row[k]:.2f}" if row[k] is not None else "—"
                  for k in ("speedup_vs_reference", "speedup_vs_johnson_size")]
        stage_ms = "".join(f"{1000 * float(row[f'{stage}_s_per_frame']):>{width}.2f}"  # type: ignore[arg-type]
                           for stage, width in zip(STAGES, (11, 12, 11), strict=True))
        print(f"{row['network']:<20}{row['parameters']:>9,}{str(row['width']) + '×' + str(row['height']):>12}"
              f"{row['end_to_end_fps']:>16.2f}{row['network_fps']:>13.2f}{ratios[0]:>13}{ratios[1]:>16}"
              f"{row['sequential_fps']:>16.2f}{row['end_to_end_over_network']:>9.2f}"
              f"{row['sequential_over_network']:>9.2f}{stage_ms}")
    print("(ms: milliseconds per frame in each stage of the sequential run, each stage alone on the cores)")
    meta = {"device": str(device), "half": bool(args.half), "threads": torch.get_num_threads(),
            "cpus": len(os.sched_getaffinity(0)), "torch": torch.__version__,
            "machine": platform.processor() or platform.machine(),
            "gpu": torch.cuda.get_device_name() if device.type == "cuda" else None, **cpu_description()}
    args.json.parent.mkdir(parents=True, exist_ok=True)
    networks = {name: {**config, "inference_rewrites": rewrites, "compiled": compiled, "internal_scale": scale}
                for name, (config, rewrites, compiled, scale) in NETWORKS.items()}
    args.json.write_text(json.dumps({"meta": meta, "networks": networks, "rows": rows}, indent=2))
    print(f"wrote {args.json}")
    if str(args.plot) not in ("", "."):
        plot(rows, args.plot)
        print(f"wrote {args.plot}")


if __name__ == "__main__":
    main()

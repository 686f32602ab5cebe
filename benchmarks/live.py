"""Speed and steadiness of the Live tab: the in-browser loop against onnxruntime (Python) and our PyTorch path.

    python benchmarks/live.py [--style starry-night] [--networks live,fast] [--seconds 8] [--rounds 3]
                              [--threads 1,2] [--clip examples/bikes.mp4]

One run, same frames for every row: frames of ``--clip`` (centre-cropped to 16:9) at 320×180, 480×270 and 640×360,
measured round-robin (every cell once per round, best round kept, as the other benchmarks do on this shared CPU),
for each of the style's networks in ``--networks`` (``live``: the Live tab's default, ``fast``: the real-time network
it is distilled from).

- **browser**: the Live page in headless Chromium (Debian's ``/usr/bin/chromium``, WASM backend, no GPU) with the
  fake camera playing those frames (a YUV4MPEG2 file at 60 fps, so the camera does not cap the loop); frames per
  second of the whole loop (camera frame → canvas → tensor → network → canvas) over ``--seconds`` after a warm-up,
  and the milliseconds per frame of each stage. The page is served with the app's cross-origin isolation headers
  (:mod:`vst.app.isolation`), so onnxruntime-web may use threads: one row per ``--threads`` count (the page's
  ``?threads=N``; one thread is what a page that is not isolated, such as a Space's, runs).
- **onnxruntime (Python)**: the same ``model.onnx`` on the CPU, default threads and one thread.
- **PyTorch**: :class:`vst.pipeline.Stylizer` (our server path) on the same frames, default threads and one thread.

Steadiness: the page captures consecutive frames it stylized at 320×180 with the first of ``--networks`` (input and
output, after the page's smoothing unless ``--smooth 0``), and their mean warping error is compared with the
framewise network's on the same input frames (PyTorch), as the quality table does.

Writes ``benchmarks/results/live.json``. Needs the cached onnxruntime-web (``python -m vst fetch-web-runtime``).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import platform
import socket
import sys
import tempfile
import time
from pathlib import Path

import av
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_description  # noqa: E402

SIZES = ((320, 180), (480, 270), (640, 360))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--use-fake-device-for-media-stream",
                 "--use-fake-ui-for-media-stream", "--autoplay-policy=no-user-gesture-required"]


def clip_frames(path: Path, size: tuple[int, int], count: int) -> np.ndarray:
    """The first ``count`` frames of ``path``, centre-cropped to ``size``'s aspect and resized: ``(N, H, W, 3)``."""
    from PIL import Image

    w, h = size
    frames = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            image = frame.to_image()
            crop_w = min(image.width, round(image.height * w / h))
            crop_h = min(image.height, round(image.width * h / w))
            left, top = (image.width - crop_w) // 2, (image.height - crop_h) // 2
            image = image.crop((left, top, left + crop_w, top + crop_h)).resize((w, h), Image.Resampling.BILINEAR)
            frames.append(np.asarray(image))
            if len(frames) == count:
                break
    return np.stack(frames)


def write_y4m(frames: np.ndarray, path: Path, fps: int = 60) -> Path:
    with av.open(str(path), "w", format="yuv4mpegpipe") as out:
        stream = out.add_stream("rawvideo", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "yuv420p"
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
    return path


def rate(run: object, frames: np.ndarray, seconds: float = 4.0) -> float:
    """Frames per second of ``run(frame)`` over ``frames``, cycled for about ``seconds`` after two warm-up calls."""
    for frame in frames[:2]:
        run(frame)  # type: ignore[operator]
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        run(frames[done % len(frames)])  # type: ignore[operator]
        done += 1
    return done / (time.perf_counter() - start)


def python_runners(onnx_path: Path, model: object, network: str) -> dict[str, object]:
    """Row name → ``run(frame)`` for onnxruntime (Python) and our PyTorch path, default threads and one thread."""
    import onnxruntime as ort
    import torch

    from vst.pipeline import Stylizer

    runners: dict[str, object] = {}
    default_threads = torch.get_num_threads()
    for threads in (None, 1):
        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])

        def onnx_run(frame: np.ndarray, session: ort.InferenceSession = session) -> np.ndarray:
            h, w = frame.shape[:2]
            x = np.ascontiguousarray(frame.transpose(2, 0, 1)[None], dtype=np.float32) / 255.0
            pad_h = -h % 4
            if pad_h:
                x = np.pad(x, ((0, 0), (0, 0), (0, pad_h), (0, 0)), mode="reflect")
            y = session.run(None, {"image": x})[0][0, :, :h]
            return (y * 255 + 0.5).astype(np.uint8).transpose(1, 2, 0)

        stylizer = Stylizer(model)  # type: ignore[arg-type]
        count = threads or default_threads

        def torch_run(frame: np.ndarray, stylizer: Stylizer = stylizer, count: int = count) -> np.ndarray:
            torch.set_num_threads(count)
            return stylizer(frame[None])

        label = f"{threads} thread" if threads else f"default threads ({default_threads})"
        runners[f"{network}: onnxruntime (Python), {label}"] = onnx_run
        runners[f"{network}: PyTorch (vst Stylizer), {label}"] = torch_run
    return runners


def decode_capture(capture: dict[str, object]) -> tuple[np.ndarray, np.ndarray]:
    shape = (capture["height"], capture["width"], 4)

    def rgb(text: str) -> np.ndarray:
        return np.frombuffer(base64.b64decode(text), np.uint8).reshape(shape)[..., :3]

    frames = capture["frames"]  # type: ignore[assignment]
    return np.stack([rgb(f["input"]) for f in frames]), np.stack([rgb(f["output"]) for f in frames])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--style", default="starry-night")
    parser.add_argument("--networks", default="live,fast",
                        help="the style's networks to measure, comma-separated (the first one's output is captured)")
    parser.add_argument("--clip", type=Path, default=ROOT / "examples" / "bikes.mp4")
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="measuring time per size and round in the browser (a third of it per Python row)")
    parser.add_argument("--rounds", type=int, default=3, help="round-robin rounds; each cell keeps its best")
    parser.add_argument("--threads", default="1,2", help="WASM thread counts, one browser row each")
    parser.add_argument("--capture", type=int, default=30, help="frames captured for the steadiness measure")
    parser.add_argument("--smooth", choices=["1", "0"], default="1",
                        help="1: the page's smoothing (live.js smoothFrame, the Steady box; the page's default); "
                             "0: none (?smooth=0)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "live.json")
    args = parser.parse_args()
    from vst.memory import tune_malloc

    tune_malloc()  # as the command line and the app run (vst.memory)
    load_at_start = os.getloadavg()[0]

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr
    from playwright.sync_api import sync_playwright

    from vst import web_runtime
    from vst.app.config import AppConfig
    from vst.app.isolation import isolation_middleware
    from vst.app.live import LIVE_FILES, PAGE_DIR, live_routes, live_styles, page_config, page_src
    from vst.app.gallery import gallery_styles
    from vst.hub import load_model
    from vst.metrics import warping_errors
    from vst.pipeline import Stylizer
    from vst.style_folder import Variant

    if not web_runtime.runtime_ready():
        print("onnxruntime-web is not cached: run `python -m vst fetch-web-runtime` first", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="vst-live-bench-"))
    config = AppConfig.from_env({"VST_CACHE_DIR": str(work / "cache"), "VST_SHOWCASE": "0"})
    styles = [s for s in live_styles(gallery_styles(config), work / "onnx") if s.slug == args.style]
    networks = args.networks.split(",")
    missing = [n for n in networks if not styles or n not in styles[0].models]
    if missing:
        print(f"style {args.style} has no {' or '.join(missing)} network installed", file=sys.stderr)
        return 2
    runtime = web_runtime.runtime_dir()
    LIVE_FILES.add_page(PAGE_DIR)
    with gr.Blocks() as demo:
        gr.Markdown("vst Live benchmark")
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                app_kwargs={"middleware": isolation_middleware(), "routes": live_routes()})
    page_config_ = page_config(styles, [], runtime)

    frames = {size: clip_frames(args.clip, size, 60) for size in SIZES}
    models = {network: load_model(args.style, network) for network in networks}
    runners = {name: run for network in networks
               for name, run in python_runners(styles[0].models[network], models[network], network).items()}
    thread_counts = [int(t) for t in args.threads.split(",")]

    def browser_row(network: str, threads: int) -> str:
        return (f"{network}: browser (onnxruntime-web WASM, {threads} thread{'s' if threads > 1 else ''}, "
                f"headless Chromium)")

    browser_rows = [browser_row(n, t) for n in networks for t in thread_counts]
    rows: dict[str, dict[str, float]] = {row: {} for row in browser_rows} | {name: {} for name in runners}
    stages: dict[str, dict[str, dict[str, float]]] = {row: {} for row in browser_rows}
    capture = None
    with sync_playwright() as p:
        pages, browsers = {}, []
        for (w, h), clip in frames.items():  # one browser per size (the fake camera is a launch flag)
            camera = write_y4m(clip, work / f"camera-{w}x{h}.y4m")
            browsers.append(p.chromium.launch(executable_path=CHROMIUM,
                                              args=[*CHROMIUM_ARGS, f"--use-file-for-fake-video-capture={camera}"]))
            for network in networks:  # one page per network and thread count, in the same browser
                for threads in thread_counts:
                    page = browsers[-1].new_page(viewport={"width": 1280, "height": 900})
                    page.set_default_timeout(120_000)
                    page.goto(demo.local_url + page_src(page_config_, backend="wasm", resolution=f"{w}x{h}",
                                                        threads=str(threads), smooth=args.smooth))
                    page.locator("#network").select_option(network)
                    pages[(w, h, network, threads)] = page
        try:
            # Round-robin: every cell is measured once per round and keeps its best round, so a burst of load
            # from the other jobs on the machine hits all rows alike instead of one.
            for round_ in range(args.rounds):
                for (w, h, network, threads), page in pages.items():
                    key, row = f"{w}x{h}", browser_row(network, threads)
                    before = page.evaluate("() => window.vstLive.frames")
                    page.locator("#start").click()  # only the page being measured runs its loop
                    page.wait_for_function(f"() => window.vstLive.frames >= {before + 5} || window.vstLive.error")
                    if page.evaluate("() => window.vstLive.error"):
                        raise RuntimeError(page.evaluate("() => window.vstLive.error"))
                    state = "() => [vstLive.frames, performance.now(), {...vstLive.stageMs}, vstLive.threads, " \
                            "vstLive.isolated, vstLive.network]"
                    f0, t0, ms0, used, isolated, running = page.evaluate(state)
                    if used != threads or not isolated or running != network:
                        raise RuntimeError(f"the page runs the {running} network on {used} threads (isolated: "
                                           f"{isolated}), not the {network} one on {threads}")
                    page.wait_for_timeout(args.seconds * 1000)
                    f1, t1, ms1, _, _, _ = page.evaluate(state)
                    fps = (f1 - f0) * 1000 / (t1 - t0)
                    if fps > rows[row].get(key, 0.0):
                        rows[row][key] = fps
                        stages[row][key] = {stage: (ms1[stage] - ms0[stage]) / (f1 - f0) for stage in ms1}
                    if (w, h) == SIZES[0] and network == networks[0] and capture is None:
                        capture = page.evaluate(f"() => window.vstLive.capture({args.capture})")
                    page.locator("#stop").click()
                    page.wait_for_function("() => !window.vstLive.running")
                    print(f"round {round_ + 1} {key}: {row} {fps:.1f} fps; ms per frame "
                          + ", ".join(f"{k} {v:.1f}" for k, v in stages[row][key].items()), flush=True)
                    if threads != thread_counts[-1]:
                        continue
                    ours = [name for name in runners if name.startswith(f"{network}: ")]
                    for name in ours:
                        run = runners[name]
                        rows[name][key] = max(rate(run, frames[(w, h)], args.seconds / 3), rows[name].get(key, 0.0))
                    print(f"round {round_ + 1} {key}: "
                          + "; ".join(f"{name} {rows[name][key]:.1f}" for name in ours), flush=True)
        finally:
            for browser in browsers:
                browser.close()
    demo.close()

    inputs, outputs = decode_capture(capture)  # type: ignore[arg-type]
    framewise = Stylizer(load_model(args.style, Variant.FRAMEWISE))(inputs)
    live_error = float(np.nanmean(warping_errors(inputs, outputs)))
    framewise_error = float(np.nanmean(warping_errors(inputs, framewise)))
    pytorch_same = Stylizer(models[networks[0]])(inputs)
    steadiness = {
        "network": networks[0], "frames": len(inputs), "size": f"{SIZES[0][0]}x{SIZES[0][1]}",
        "smoothing": args.smooth == "1",
        "live_warping_error": live_error, "framewise_warping_error": framewise_error,
        "live_vs_framewise": live_error / framewise_error,
        "live_vs_pytorch_same_network_max_uint8_diff": int(np.abs(outputs.astype(int) - pytorch_same).max()),
    }
    result = {
        "style": args.style, "networks": networks, "clip": args.clip.name, "sizes": [f"{w}x{h}" for w, h in SIZES],
        "fps": rows,
        "browser_ms_per_frame": stages, "steadiness": steadiness, "targets_fps": {"320x180": 25, "640x360": 12},
        "machine": {"cpus": os.cpu_count(), "platform": platform.platform(), "python": platform.python_version(),
                    **cpu_description(),
                    "onnxruntime_web": web_runtime.VERSION,
                    "load_average": {"start": load_at_start, "end": os.getloadavg()[0]},
                    "note": "1-minute load average of the whole machine; the benchmark's own browser and Python "
                            "add about 2 on their own"},
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    width = max(map(len, rows))
    print(f"\n{'':<{width}}  " + "  ".join(f"{w}x{h:<4}" for w, h in SIZES))
    for name, row in rows.items():
        print(f"{name:<{width}}  " + "  ".join(f"{row[f'{w}x{h}']:7.1f}" for w, h in SIZES))
    print(f"\nsteadiness at 320x180 ({networks[0]} network in the browser): warping error {live_error:.5f} vs "
          f"framewise {framewise_error:.5f} "
          f"(x{live_error / framewise_error:.2f}); wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

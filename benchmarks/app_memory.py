"""The served app's memory: ``python app.py`` in a process of its own, driven by a real client as visitors drive it.

    python benchmarks/app_memory.py [--style-image painting.jpg] [--style starry-night] [--modes temporal realtime]
                                    [--clip clip.mp4 | --width 1280 --height 720 --seconds 2] [--showcase]
                                    [--json benchmarks/results/app-memory.json]

Starts the app as a Space does (its defaults; the cache in a temporary folder), waits until it answers, and, with
``--showcase``, until its background A/B showcase is rendered (off by default here: it renders only while no
visitor's job runs, so it shows as its own row). Then, through ``gradio_client``: with ``--style-image`` a visitor's
painting is uploaded (``/your_painting``) and the clip stylized with it; else the clip is stylized with ``--style``,
once per ``--modes`` entry (``temporal``: the temporal model and its framewise baseline in one pass; ``realtime``:
the fast network, then its framewise twin). After each step the server's peak resident memory so far (``VmHWM``) and
its resident memory now (``VmRSS``) are read from ``/proc`` (Linux). The clip is a synthetic panning clip of
``--width``×``--height`` unless ``--clip`` names one; the app downscales it to its long side of 720 as for any visitor.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from machine import cpu_description  # noqa: E402
from synthetic_clip import write_panning_clip  # noqa: E402

#: Seconds to wait for the app to answer, and for its showcase.
START_TIMEOUT = 180.0
SHOWCASE_TIMEOUT = 900.0


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def memory_mb(pid: int) -> dict[str, float]:
    """``{"peak_rss_mb": VmHWM, "rss_mb": VmRSS}`` of process ``pid``, in MiB."""
    status = Path(f"/proc/{pid}/status").read_text()
    fields = {key: int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1)) / 1024  # type: ignore[union-attr]
              for key in ("VmHWM", "VmRSS")}
    return {"peak_rss_mb": round(fields["VmHWM"], 1), "rss_mb": round(fields["VmRSS"], 1)}


def wait_until_up(url: str, server: subprocess.Popen[bytes], log: Path) -> float:
    """Seconds until ``url`` answers 200; RuntimeError (with the log's tail) when the server exits or times out."""
    started = time.monotonic()
    while time.monotonic() - started < START_TIMEOUT:
        if server.poll() is not None:
            raise RuntimeError(f"the app exited ({server.returncode}):\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return time.monotonic() - started
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(1.0)
    raise RuntimeError(f"the app did not answer within {START_TIMEOUT:g} s:\n{log.read_text()[-3000:]}")


def wait_for_showcase(log: Path) -> None:
    """Wait until the log says every showcase pair it set out to render is rendered (or that none was needed)."""
    started = time.monotonic()
    while time.monotonic() - started < SHOWCASE_TIMEOUT:
        text = log.read_text()
        planned = re.search(r"rendering (\d+) showcase pair", text)
        if planned and text.count("INFO vst.app.showcase: rendered ") >= int(planned.group(1)):
            return
        time.sleep(2.0)
    raise RuntimeError(f"the showcase was not rendered within {SHOWCASE_TIMEOUT:g} s:\n{log.read_text()[-3000:]}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--style-image", type=Path, help="a visitor's painting (JPEG, PNG or WebP)")
    parser.add_argument("--strength", type=float, default=1.0, help="with --style-image: the style strength")
    parser.add_argument("--style", default="starry-night", help="without --style-image: the bundled style")
    parser.add_argument("--modes", nargs="+", choices=["temporal", "realtime"], default=["temporal"])
    parser.add_argument("--clip", type=Path, help="the visitor's video (default: a synthetic panning clip)")
    parser.add_argument("--width", type=int, default=1280)
    parser.add_argument("--height", type=int, default=720)
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--showcase", action="store_true", help="let the app render its A/B showcase first")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results" / "app-memory.json")
    args = parser.parse_args()
    from gradio_client import Client, handle_file

    rows: list[dict[str, object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        clip = args.clip or write_panning_clip(Path(tmp) / "clip.mp4", width=args.width, height=args.height,
                                               frames=round(args.seconds * 25))
        port = free_port()
        env = dict(os.environ, VST_CACHE_DIR=str(Path(tmp) / "cache"), GRADIO_SERVER_NAME="127.0.0.1",
                   GRADIO_SERVER_PORT=str(port), HF_HUB_OFFLINE="1", GRADIO_ANALYTICS_ENABLED="False",
                   VST_SHOWCASE="1" if args.showcase else "0")
        log = Path(tmp) / "app.log"
        with log.open("wb") as out:
            server = subprocess.Popen([sys.executable, "app.py"], cwd=ROOT, env=env, stdout=out,
                                      stderr=subprocess.STDOUT)
        try:
            url = f"http://127.0.0.1:{port}/"
            up = wait_until_up(url, server, log)
            rows.append({"step": "started", "seconds": round(up, 1), **memory_mb(server.pid)})
            if args.showcase:
                started = time.monotonic()
                wait_for_showcase(log)
                rows.append({"step": "showcase rendered", "seconds": round(time.monotonic() - started, 1),
                             **memory_mb(server.pid)})
            client = Client(url, verbose=False, download_files=False)
            style = args.style
            if args.style_image is not None:
                started = time.monotonic()
                client.predict(handle_file(str(args.style_image)), args.strength, api_name="/your_painting")
                rows.append({"step": f"painting {args.style_image.name} opened",
                             "seconds": round(time.monotonic() - started, 1), **memory_mb(server.pid)})
                style = "your-painting"
            for mode in args.modes:
                started = time.monotonic()
                client.predict(handle_file(str(clip)), style, mode == "realtime", args.strength, api_name="/stylize")
                rows.append({"step": f"{style}, {mode}", "seconds": round(time.monotonic() - started, 1),
                             **memory_mb(server.pid)})
        finally:
            server.send_signal(signal.SIGINT)
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
    for row in rows:
        print(f"{row['step']:<40} {row['seconds']:7.1f} s   peak RSS {row['peak_rss_mb']:6.0f} MB   "
              f"now {row['rss_mb']:6.0f} MB")
    torch_version = subprocess.run([sys.executable, "-c", "import torch; print(torch.__version__)"],
                                   capture_output=True, text=True, check=True).stdout.strip()
    print(f"PyTorch {torch_version}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"clip": str(args.clip) if args.clip else f"synthetic {args.width}x{args.height}, "
                                     f"{args.seconds:g} s", "showcase": args.showcase, "torch": torch_version,
                                     **cpu_description(), "rows": rows}, indent=2) + "\n")
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

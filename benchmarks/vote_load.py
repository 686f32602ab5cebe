"""How long 50 concurrent voters wait for their next A/B pair: p50, p95 and max latency of the vote tab's "next pair".

    python benchmarks/vote_load.py [--voters 50] [--rounds 3] [--stylize-jobs] [--json out.json]

Launches the real app (``app.build_app``) on 127.0.0.1 with tiny random networks for three bundled styles and the
showcase pairs made from the curated clips at the app's settings (360 px, 4 s: the real files' sizes, so Gradio and
the blind copies handle what they handle on the Space; made once and kept in ``--work-dir``). Each voter is a session
of its own from an address of its own (``X-Forwarded-For`` behind a trusted proxy, as on a Space) and calls the
queue-free endpoints the browser calls. Its session is opened first ("refresh results", unmeasured: in a browser the
page's load event does it, and Gradio's set-up of a new session is a large part of a first request); then, per round,
all voters start "next pair" at once (a barrier), then vote, so the next round brings a pair they have not seen (a
fresh blind copy for a pair nobody was shown yet). ``--stylize-jobs`` fills the stylize queue first (one job running,
one waiting), as ``tests/app/test_vote_load.py`` does. The load average is printed with the figures: on a shared machine
(a training job) they vary from run to run, so compare runs made one after the other.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.update({"HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "VST_SHOWCASE": "0",
                   "VST_TRUST_PROXY": "1"})

from tests.support.app_harness import make_tiny_styles, patched_env, running_app  # noqa: E402
from tests.support.clips import make_clip  # noqa: E402

STYLES = ("starry-night", "great-wave", "the-scream")


def stand_in_showcase(showcase: object) -> list[object]:
    """Every style × clip pair of ``showcase``: the first style's pair on the first clip is rendered (at the app's
    settings: 360 px, 4 s, so the files have the real size) and stands in for all the others (the vote tab never looks
    inside the videos; rendering all of them takes an hour on a busy 2-core machine)."""
    from vst.app.blind_vote import PairPool
    from vst.app.showcase import PAIR_FILE, pair_key, prerender_pairs
    from vst.hub import installed_styles
    from vst.style_folder import VARIANTS

    assert isinstance(showcase, PairPool)
    (first_clip, first_source), *_ = showcase.clips.items()
    (done,) = prerender_pairs(showcase.cache_dir, styles=[STYLES[0]], clips={first_clip: first_source},
                              max_side=showcase.max_side, max_seconds=showcase.max_seconds)
    for style in installed_styles():
        for clip, source in showcase.clips.items():
            key = pair_key(style, source, max_side=showcase.max_side, max_seconds=showcase.max_seconds)
            folder = showcase.cache_dir / style.slug / f"{clip}-{key}"
            if (folder / PAIR_FILE).is_file():
                continue
            folder.mkdir(parents=True, exist_ok=True)
            for variant in VARIANTS:
                shutil.copyfile(done.path(variant), folder / f"{variant}.mp4")
                with (folder / f"{variant}.mp4").open("ab") as f:  # content of its own (Gradio caches by content):
                    tag = f"{style.slug}/{clip}/{variant}".encode()  # an MP4 "free" box, which players skip
                    f.write((8 + len(tag)).to_bytes(4, "big") + b"free" + tag)
            shutil.copyfile(done.temporal.parent / PAIR_FILE, folder / PAIR_FILE)
    return showcase.load()


def call(client: httpx.Client, url: str, endpoint: str, session: str, inputs: int, address: str) -> list[object]:
    """One call of a queue-free endpoint (what the browser does for ``queue=False`` events)."""
    response = client.post(f"{url}gradio_api/run/{endpoint}", json={"data": [None] * inputs, "session_hash": session},
                           headers={"X-Forwarded-For": address}, timeout=60)
    response.raise_for_status()
    return response.json()["data"]


def percentile(values: list[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def load_test(url: str, voters: int, rounds: int) -> list[list[float]]:
    """Per round, every voter's "next pair" latency in seconds (all voters start together)."""
    barrier = threading.Barrier(voters)
    waits: list[list[float]] = [[] for _ in range(rounds)]
    failures: list[str] = []
    lock = threading.Lock()

    def voter(number: int) -> None:
        session, address = uuid.uuid4().hex, f"203.0.113.{number % 250 + 1}"
        with httpx.Client() as client:
            try:  # the visitor's session exists before they press "next pair" (the page's load event opens it)
                call(client, url, "results", session, 0, address)
            except httpx.HTTPError as err:
                with lock:
                    failures.append(f"opening the session: {err}")
                barrier.abort()
                return
            for r in range(rounds):
                try:
                    barrier.wait(timeout=120)
                    began = time.perf_counter()
                    _, left, right, *_ = call(client, url, "ab_next", session, 2, address)
                    waited = time.perf_counter() - began
                    if not (left and right):
                        raise ValueError("no pair")
                    call(client, url, "vote_left", session, 1, address)
                except (httpx.HTTPError, threading.BrokenBarrierError, ValueError, KeyError) as err:
                    with lock:
                        failures.append(f"round {r}: {type(err).__name__}: {err}")
                    barrier.abort()
                    return
                with lock:
                    waits[r].append(waited)

    threads = [threading.Thread(target=voter, args=(i,)) for i in range(voters)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise SystemExit(f"{len(failures)} voter(s) failed, first: {failures[0]}")
    return waits


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voters", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3, help="next-pair bursts per voter (at most 6: 3 styles × 2 "
                                                              "clips)")
    parser.add_argument("--stylize-jobs", action="store_true", help="fill the stylize queue while voters vote")
    parser.add_argument("--work-dir", type=Path, default=Path(tempfile.gettempdir()) / "vst-vote-load",
                        help="the tiny styles and their rendered showcase, kept for the next run (rendering them "
                             "takes minutes on a busy machine; default: %(default)s)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not 1 <= args.rounds <= 2 * len(STYLES):
        parser.error(f"--rounds must be 1..{2 * len(STYLES)}")

    with tempfile.TemporaryDirectory(prefix="vst-vote-load-") as tmp:
        tmp_path = Path(tmp)
        os.environ["GRADIO_TEMP_DIR"] = str(tmp_path / "gradio")  # Gradio's served copies start empty
        from gradio_client import Client, handle_file

        from vst.app.config import AppConfig
        from vst.app.blind_vote import PairPool
        from vst.app.votes import VoteStore

        root = args.work_dir / "styles"
        if not root.is_dir():  # seeded: the same networks each time, so the rendered showcase stays valid
            make_tiny_styles(args.work_dir / "styles.partial", STYLES).rename(root)
        cache = tmp_path / "cache"
        with patched_env({"VST_CHECKPOINT_DIR": str(root)}):
            config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_QUEUE_SIZE": "1", "VST_CONCURRENCY": "1"})
            # The curated clips at the app's own settings, in the work folder (made once).
            showcase = PairPool(args.work_dir / "showcase")
            began = time.perf_counter()
            pairs = stand_in_showcase(showcase)
            print(f"{len(pairs)} showcase pairs ready in {time.perf_counter() - began:.1f} s "
                  f"({sum(p.temporal.stat().st_size for p in pairs) / len(pairs) / 1e3:.0f} kB per video)")
            store = VoteStore(cache / "votes.sqlite3")
            with running_app(config, store, showcase) as url:
                jobs = []
                if args.stylize_jobs:
                    clip = make_clip(tmp_path / "job.mp4", width=320, height=240, num_frames=240, fps=24)
                    jobs = [Client(url, verbose=False).submit(handle_file(clip), "starry-night", False,
                                                              api_name="/stylize") for _ in range(2)]
                    time.sleep(1.0)
                load_before = os.getloadavg()[0]
                waits = load_test(url, args.voters, args.rounds)
                load_after = os.getloadavg()[0]
                jobs_busy = bool(jobs) and not all(job.done() for job in jobs)
                for job in jobs:
                    job.result(timeout=600)
            store.close()

    every = [w for round_waits in waits for w in round_waits]
    figures = {
        "voters": args.voters, "rounds": args.rounds, "stylize_jobs": args.stylize_jobs,
        "stylize_jobs_running_throughout": jobs_busy,
        "p50_s": round(statistics.median(every), 3), "p95_s": round(percentile(every, 0.95), 3),
        "max_s": round(max(every), 3),
        "per_round": [{"p50_s": round(statistics.median(w), 3), "p95_s": round(percentile(w, 0.95), 3),
                       "max_s": round(max(w), 3)} for w in waits],
        "load_average_1min": [round(load_before, 1), round(load_after, 1)], "cpus": os.cpu_count(),
    }
    print(f"{args.voters} voters × {args.rounds} rounds: next pair p50 {figures['p50_s']:.2f} s, "
          f"p95 {figures['p95_s']:.2f} s, max {figures['max_s']:.2f} s "
          f"(load average {load_before:.1f} → {load_after:.1f} on {os.cpu_count()} CPUs)")
    for r, row in enumerate(figures["per_round"]):
        print(f"  round {r + 1}: p50 {row['p50_s']:.2f} s, p95 {row['p95_s']:.2f} s, max {row['max_s']:.2f} s")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()

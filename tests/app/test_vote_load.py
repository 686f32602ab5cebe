"""Load test of the vote tab (bounded: 50 voters, each one "next pair" and one vote, on 127.0.0.1, at most 2 minutes):
while stylize jobs fill the queue, every voter gets a pair and records a vote (no "queue is full"), and the SQLite file
holds exactly one row per voter. Each voter comes from its own address (``X-Forwarded-For`` behind a trusted proxy,
as on a Space), so the per-client vote rate limit lets every one vote. Each voter's session is opened before the
measured "next pair" (in a browser the page's load event does it). The latencies are printed (``pytest -s``); the
target is under 2 s for every voter on an idle 2-core machine (``benchmarks/vote_load.py`` measures p50, p95 and max).
The bound asserted here is looser, so a busy shared machine does not fail the test."""

from __future__ import annotations

import sqlite3
import statistics
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from gradio_client import Client, handle_file
from gradio_client.utils import Status

from tests.support.app_harness import (
    IGNORE_GRADIO_PANDAS_WARNINGS,
    OFFLINE_ENV,
    make_tiny_styles,
    patched_env,
    running_app,
)
from tests.support.clips import make_clip

VOTERS = 50
#: Each voter's "next pair" must answer within this, however busy the machine (the target is 2 s; see the docstring).
#: Measured: 0.9 s median, 1.0 s max on the 2 shared cores; 3.7 s median, 5.9 s max while a browser test and a
#: training job loaded them (load average 11-13).
NEXT_PAIR_BOUND_SECONDS = 10.0

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings(IGNORE_GRADIO_PANDAS_WARNINGS)]


@pytest.fixture(scope="module")
def busy_app(tmp_path_factory: pytest.TempPathFactory, clips_dir: Path) -> Iterator[tuple[str, Path]]:
    """The app with one showcase pair, one stylize job at a time and room for one waiting job."""
    from vst.app.config import AppConfig
    from vst.app.blind_vote import PairPool
    from vst.app.votes import VoteStore

    root = make_tiny_styles(tmp_path_factory.mktemp("load-styles"))
    cache = tmp_path_factory.mktemp("load-cache")
    with patched_env({**OFFLINE_ENV, "VST_CHECKPOINT_DIR": str(root), "VST_TRUST_PROXY": "1"}):
        config = AppConfig.from_env({"VST_CACHE_DIR": str(cache), "VST_SHOWCASE": "0", "VST_QUEUE_SIZE": "1",
                                     "VST_CONCURRENCY": "1"})
        showcase = PairPool(config.showcase_dir, {"tiny": make_clip(clips_dir / "load-showcase.mp4", num_frames=12)},
                            max_side=64, max_seconds=1.0)
        assert len(showcase.prerender()) == 1
        store = VoteStore(cache / "votes.sqlite3")
        with running_app(config, store, showcase) as url:
            yield url, store.path
        store.close()


def call(client: httpx.Client, url: str, endpoint: str, session: str, inputs: int, address: str) -> list[object]:
    """One direct call of a queue-free endpoint (what the browser does for ``queue=False`` events), in ``session``,
    from ``address`` (as a reverse proxy forwards it)."""
    response = client.post(f"{url}gradio_api/run/{endpoint}", json={"data": [None] * inputs, "session_hash": session},
                           headers={"X-Forwarded-For": address}, timeout=30)
    response.raise_for_status()
    return response.json()["data"]


def test_fifty_voters_get_their_pair_and_vote_while_stylize_jobs_fill_the_queue(
        busy_app: tuple[str, Path], clips_dir: Path) -> None:
    url, db = busy_app
    # Stylize jobs fill the queue first: one running, one waiting (VST_QUEUE_SIZE=1).
    clip = make_clip(clips_dir / "load-job.mp4", width=160, height=120, num_frames=120, fps=24)
    jobs = [Client(url, verbose=False, httpx_kwargs={"timeout": 60}).submit(handle_file(clip), "starry-night", False,
                                                                            api_name="/stylize") for _ in range(2)]
    deadline = time.monotonic() + 60  # both uploaded and queued before the voters come (a busy machine uploads slowly)
    while not all(Status.ordering(job.status().code) >= Status.ordering(Status.IN_QUEUE) for job in jobs):
        assert time.monotonic() < deadline, [job.status().code for job in jobs]
        time.sleep(0.1)

    start = threading.Barrier(VOTERS)
    waits: list[float] = []
    failures: list[str] = []
    lock = threading.Lock()

    def voter(number: int) -> None:
        session, address = uuid.uuid4().hex, f"203.0.113.{number}"
        with httpx.Client() as client:
            try:
                call(client, url, "results", session, inputs=0, address=address)  # the page's load opens the session
                start.wait(timeout=30)
                began = time.monotonic()
                _, left, right, prompt, *_ = call(client, url, "ab_next", session, inputs=2, address=address)
                waited = time.monotonic() - began
                assert left and right and "on the clip “tiny”" in str(prompt), prompt
                _, reveal, *_ = call(client, url, "vote_left", session, inputs=1, address=address)
                assert str(reveal).startswith("Left was"), reveal
            except (AssertionError, httpx.HTTPError, threading.BrokenBarrierError, KeyError, ValueError) as err:
                with lock:
                    failures.append(f"{type(err).__name__}: {err}")
                return
        with lock:
            waits.append(waited)

    threads = [threading.Thread(target=voter, args=(i,)) for i in range(VOTERS)]
    began = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    total = time.monotonic() - began
    stylize_running = not all(job.done() for job in jobs)
    print(f"\n{VOTERS} voters: next pair median {statistics.median(waits):.2f} s, max {max(waits):.2f} s; "
          f"all votes in {total:.1f} s; stylize jobs still running at the end: {stylize_running}")

    assert failures == [] and len(waits) == VOTERS
    assert max(waits) < NEXT_PAIR_BOUND_SECONDS
    with sqlite3.connect(db) as conn:
        assert conn.execute("SELECT COUNT(*), COUNT(DISTINCT session), COUNT(DISTINCT client) FROM votes"
                            ).fetchone() == (VOTERS, VOTERS, VOTERS)
    for job in jobs:
        job.result(timeout=120)  # the stylize jobs were not disturbed either

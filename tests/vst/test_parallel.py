"""Frames side by side on the CPU (vst/parallel.py) and the Stylizer's use of it."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest
import torch

from tests.support.model_fixtures import TINY
from vst.model import FastStyleNet, StyleNet
from vst.parallel import cores, run_side_by_side
from vst.pipeline import PARALLEL_MAX_PIXELS, Stylizer


def test_chunks_run_in_pool_threads_on_one_intra_op_thread_each_and_keep_their_order() -> None:
    caller_threads = torch.get_num_threads()

    def where(chunk: int) -> tuple[int, str, int]:
        time.sleep(0.02 * (3 - chunk))  # the first chunk finishes last
        return chunk, threading.current_thread().name, torch.get_num_threads()

    results = run_side_by_side(where, [0, 1, 2])
    assert [chunk for chunk, _, _ in results] == [0, 1, 2]
    assert all(name.startswith("vst-frames") and threads == 1 for _, name, threads in results)
    assert torch.get_num_threads() == caller_threads  # the setting is the pool threads' own


def test_a_single_chunk_runs_in_the_callers_thread() -> None:
    [(name, threads)] = run_side_by_side(lambda _: (threading.current_thread().name, torch.get_num_threads()), [0])
    assert name == threading.current_thread().name and threads == torch.get_num_threads()
    assert run_side_by_side(lambda chunk: chunk, []) == []


def test_a_failing_chunk_raises_after_every_chunk_has_finished() -> None:
    finished: list[int] = []

    def work(chunk: int) -> int:
        if chunk == 0:
            raise ValueError("chunk 0 failed")
        time.sleep(0.1)
        finished.append(chunk)
        return chunk

    with pytest.raises(ValueError, match="chunk 0 failed"):
        run_side_by_side(work, [0, 1])
    assert finished == [1]


@pytest.mark.parametrize("scale", [1.0, 0.25])
def test_frames_side_by_side_are_the_frames_one_at_a_time(scale: float) -> None:
    """The same frames, to uint8 rounding (one intra-op thread may round a guided upsampling's sum differently)."""
    torch.manual_seed(0)
    network = FastStyleNet(channels=[8, 16], num_residual_blocks=1, frame_detail=1.0).eval()
    frames = np.random.default_rng(0).integers(0, 256, (5, 72, 128, 3), dtype=np.uint8)
    together, alone = Stylizer(network, scale=scale), Stylizer(network, scale=scale, parallel=False)
    assert together.frames_at_once(128, 72) == cores() and alone.frames_at_once(128, 72) == 1
    difference = np.abs(together(frames).astype(int) - alone(frames).astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.01


def test_which_frames_run_side_by_side() -> None:
    network = StyleNet(**TINY).eval()
    stylizer = Stylizer(network)
    assert stylizer.parallel
    assert 640 * 360 <= PARALLEL_MAX_PIXELS  # a 640×360 frame: one per core, one per pass
    assert stylizer.frames_at_once(640, 360) == cores() and stylizer.frames_per_call(640, 360) == cores()
    assert stylizer.frames_at_once(1280, 720) == 1 and stylizer.frames_per_call(1280, 720) == 1  # memory: one
    quarter = Stylizer(network, scale=0.25)  # the network sees 320×180 of a 1280×720 frame
    assert quarter.frames_at_once(1280, 720) == cores()
    assert Stylizer(network, parallel=False).frames_per_call(64, 64) == Stylizer(network).frames_per_pass(64, 64)
    with pytest.raises(ValueError, match="only on the CPU and uncompiled"):
        Stylizer(network, compile=True, parallel=True)
    assert not Stylizer(network, compile=True).parallel

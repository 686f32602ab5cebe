"""Frames side by side on the CPU (vst/parallel.py) and the Stylizer's use of it."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import numpy as np
import pytest
import torch

from tests.support.model_fixtures import TINY
from vst.model import FastStyleNet, StyleNet
from vst.parallel import InFlight, cores, in_pool_thread, run_side_by_side
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


def test_chunks_asked_for_from_a_pool_thread_run_there_one_after_the_other() -> None:
    """A pool thread never waits on the pool (which could leave no thread to run what it waits for)."""
    def inner(chunk: int) -> tuple[int, str]:
        return chunk, threading.current_thread().name

    def outer(chunk: int) -> list[tuple[int, str]]:
        assert in_pool_thread()
        return run_side_by_side(inner, [chunk, chunk + 10])

    results = run_side_by_side(outer, [0, 1, 2])
    for (a, thread_a), (b, thread_b) in results:
        assert b == a + 10 and thread_a == thread_b
    assert not in_pool_thread()


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


def test_items_in_flight_come_back_in_order_with_at_most_depth_running() -> None:
    running, most, lock = 0, 0, threading.Lock()

    def work(item: int) -> int:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.01 * (item % 3))  # later items often finish first
        with lock:
            running -= 1
        return item * item

    with InFlight(work, depth=3) as in_flight:
        assert list(in_flight.map(range(10))) == [(i, i * i) for i in range(10)]
    assert 1 < most <= 3


def test_depth_one_runs_each_item_in_the_callers_thread() -> None:
    with InFlight(lambda _: threading.current_thread().name, depth=1) as in_flight:
        assert [name for _, name in in_flight.map([0, 1])] == [threading.current_thread().name] * 2
    with pytest.raises(ValueError, match="at least one"):
        InFlight(lambda item: item, depth=0)


def test_an_items_error_comes_in_its_place_and_nothing_runs_after_the_block() -> None:
    started: list[int] = []

    def work(item: int) -> int:
        started.append(item)
        if item == 1:
            raise RuntimeError("item 1 failed")
        time.sleep(0.05)
        return item

    seen: list[int] = []
    with pytest.raises(RuntimeError, match="item 1 failed"), InFlight(work, depth=3) as in_flight:
        for item, _ in in_flight.map(range(100)):
            seen.append(item)
    assert seen == [0]
    count = len(started)
    time.sleep(0.2)
    assert len(started) == count <= 5  # the items in flight were cancelled or waited for, none started later


def test_the_sources_error_comes_after_the_items_taken_before_it() -> None:
    def items() -> Iterator[int]:
        yield 0
        yield 1
        raise OSError("decoding failed (injected)")

    seen: list[int] = []
    with pytest.raises(OSError, match="decoding failed"), InFlight(lambda item: item, depth=3) as in_flight:
        for item, _ in in_flight.map(items()):
            seen.append(item)
    assert seen == [0, 1]

    def failing(item: int) -> int:
        raise ValueError(f"item {item} failed")

    with pytest.raises(ValueError, match="item 0 failed"), InFlight(failing, depth=3) as in_flight:
        list(in_flight.map(items()))  # the earlier item's error, not the source's


def test_a_render_keeps_frames_in_flight_for_one_small_network_only() -> None:
    """One network on frames it runs side by side: a batch per core and one waiting; two networks (the app's job),
    or frames too large to run side by side: one batch at a time (the memory bound)."""
    from vst.pipeline import _StylizeStage

    network = StyleNet(**TINY).eval()
    one = _StylizeStage({"out": (Stylizer(network), None)}, None)
    two = _StylizeStage({"a": (Stylizer(network), None), "b": (Stylizer(network), None)}, None)
    expected = cores() + 1 if cores() > 1 else 1
    assert one.batches_in_flight(640, 360) == expected
    assert one.batches_in_flight(1280, 720) == 1 and two.batches_in_flight(640, 360) == 1
    assert _StylizeStage({"out": (Stylizer(network, scale=0.25), None)}, None).batches_in_flight(1280, 720) == expected

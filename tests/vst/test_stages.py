"""vst.stages: the producer → caller → consumer threads keep order, stay bounded, hand errors on and never leak."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from vst.stages import Channel, Stages


def vst_threads() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name.startswith("test-")]


def counting(n: int, produced: list[int], closed: list[bool], fail_at: int | None = None) -> Iterator[int]:
    """0, 1, ... n - 1, appending each to ``produced`` as it is made; raises at ``fail_at``; notes its closing."""
    try:
        for i in range(n):
            if i == fail_at:
                raise ValueError(f"no item {i}")
            produced.append(i)
            yield i
    finally:
        closed.append(True)


@pytest.mark.parametrize("overlap", [True, False])
def test_items_and_results_keep_their_order_and_memory_stays_bounded(overlap: bool) -> None:
    produced: list[int] = []
    closed: list[bool] = []
    written: list[int] = []
    ahead = 0
    with Stages(counting(20, produced, closed), written.append, overlap=overlap,
                names=("test-produce", "test-consume")) as stages:
        for taken, item in enumerate(stages.items(), start=1):
            time.sleep(0.002)  # the producer runs ahead as far as it may
            ahead = max(ahead, len(produced) - taken)
            stages.put(item * 10)
        stages.finish()
        assert written == [i * 10 for i in range(20)]
    # One item waits in the channel, one more is held by the producer, waiting for room.
    assert ahead <= (2 if overlap else 0)
    assert closed == [True] and vst_threads() == []


@pytest.mark.parametrize("overlap", [True, False])
def test_the_producers_error_comes_after_its_items_as_the_same_object(overlap: bool) -> None:
    taken: list[int] = []
    closed: list[bool] = []
    with pytest.raises(ValueError, match="no item 3"), \
            Stages(counting(10, [], closed, fail_at=3), lambda _: None, overlap=overlap,
                   names=("test-produce", "test-consume")) as stages:
        for item in stages.items():
            taken.append(item)
            stages.put(item)
    assert taken == [0, 1, 2] and closed == [True] and vst_threads() == []


@pytest.mark.parametrize("overlap", [True, False])
def test_the_consumers_error_is_raised_by_put_or_finish(overlap: bool) -> None:
    failure = OSError(28, "No space left on device")

    def sink(item: int) -> None:
        if item == 2:
            raise failure

    closed: list[bool] = []
    with pytest.raises(OSError) as raised, \
            Stages(counting(1000, [], closed), sink, overlap=overlap, names=("test-produce", "test-consume")) as stages:
        for item in stages.items():
            stages.put(item)
        stages.finish()
    assert raised.value is failure
    assert closed == [True] and vst_threads() == []


@pytest.mark.parametrize("overlap", [True, False])
def test_the_callers_error_stops_both_threads(overlap: bool) -> None:
    closed: list[bool] = []
    written: list[int] = []
    with pytest.raises(KeyError), \
            Stages(counting(1000, [], closed), written.append, overlap=overlap,
                   names=("test-produce", "test-consume")) as stages:
        for item in stages.items():
            stages.put(item)
            if item == 5:
                raise KeyError("stop")
    assert closed == [True] and vst_threads() == []
    assert written == list(range(len(written))) and len(written) <= 6


def test_a_channel_cancelled_while_the_writer_waits_wakes_it() -> None:
    channel: Channel[int] = Channel(1)
    channel.put(1)
    failure = RuntimeError("the reader failed")
    outcome: list[BaseException] = []

    def writer() -> None:
        try:
            channel.put(2)  # blocks: the channel is full
        except RuntimeError as err:
            outcome.append(err)

    thread = threading.Thread(target=writer, name="test-writer")
    thread.start()
    time.sleep(0.05)
    channel.cancel(failure)
    thread.join(timeout=10)
    assert not thread.is_alive() and outcome == [failure]
    assert list(channel) == []  # cancelled: nothing more to read
    with pytest.raises(ValueError):
        Channel(0)


def test_a_thread_that_cannot_start_leaves_none_running(monkeypatch: pytest.MonkeyPatch) -> None:
    start = threading.Thread.start

    def start_but_the_consumer(self: threading.Thread) -> None:
        if self.name == "test-consume":
            raise RuntimeError("can't start new thread")
        start(self)

    monkeypatch.setattr(threading.Thread, "start", start_but_the_consumer)
    closed: list[bool] = []
    with pytest.raises(RuntimeError, match="can't start new thread"), \
            Stages(counting(1000, [], closed), print, names=("test-produce", "test-consume")):
        pass
    assert vst_threads() == [] and closed == [True]

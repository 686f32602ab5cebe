"""Memory settings of the command line and the app: glibc's malloc arenas (:mod:`vst.memory`) and the decoder's
thread count for large frames (:func:`vst.video.decode_threads`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.vst.test_cli import REPO
from vst.memory import MALLOC_ARENAS
from vst.video import DECODE_PIXELS_IN_FLIGHT, decode_threads

#: In a fresh process (the setting is process-wide): six threads allocate at once; glibc's malloc_stats() then prints
#: one "Arena N:" block per arena to stderr.
_ARENAS_OF_SIX_THREADS = """
import ctypes, sys, threading
import numpy as np
if sys.argv[1] == "tuned":
    from vst.memory import tune_malloc
    assert tune_malloc()
barrier = threading.Barrier(7)
def work():
    buffer = np.ones(100_000, np.uint8)
    barrier.wait()
    barrier.wait()
threads = [threading.Thread(target=work) for _ in range(6)]
for thread in threads:
    thread.start()
barrier.wait()
ctypes.CDLL("libc.so.6").malloc_stats()
barrier.wait()
for thread in threads:
    thread.join()
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_threads_share_few_malloc_arenas_once_limited() -> None:
    """Limited, six allocating threads share :data:`MALLOC_ARENAS` heaps; glibc's default gives them more."""
    arenas = {}
    for mode in ("default", "tuned"):
        run = subprocess.run([sys.executable, "-c", _ARENAS_OF_SIX_THREADS, mode], cwd=REPO, check=True,
                             capture_output=True, text=True)
        arenas[mode] = sum(line.startswith("Arena ") for line in run.stderr.splitlines())
    assert arenas["tuned"] == MALLOC_ARENAS < arenas["default"]


def test_large_frames_decode_with_fewer_threads() -> None:
    assert decode_threads(3840, 2160) == decode_threads(1920, 1080) == 1
    assert 1 <= decode_threads(1280, 720) <= DECODE_PIXELS_IN_FLIGHT // (1280 * 720)
    assert decode_threads(64, 48) >= decode_threads(1280, 720)
    assert decode_threads(0, 0) == 0  # unknown size: FFmpeg decides

"""Memory settings of the command line and the app: glibc's mmap threshold (:mod:`vst.memory`) and the decoder's
thread count for large frames (:func:`vst.video.decode_threads`)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.test_cli import REPO
from vst.video import DECODE_PIXELS_IN_FLIGHT, decode_threads

#: In a fresh process (the setting is process-wide): free a 20 MB buffer (glibc then serves buffers under 20 MB from
#: its heaps), allocate 2 MB, print how many more separately mapped blocks there are (glibc's mallinfo2).
_MAPPED_AFTER_A_LARGE_FREE = """
import ctypes, sys
import numpy as np
libc = ctypes.CDLL("libc.so.6")
class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "tuned":
    from vst.memory import return_large_buffers
    assert return_large_buffers()
large = np.ones(20 << 20, np.uint8)
del large
before = libc.mallinfo2().hblks
small = np.ones(2 << 20, np.uint8)
print(libc.mallinfo2().hblks - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_large_buffers_are_mapped_on_their_own_once_tuned() -> None:
    """Tuned, a 2 MB buffer is mapped on its own (and so returned to the system when freed) even after a larger
    buffer was freed; glibc's default serves it from a heap that keeps the memory."""
    mapped = {mode: subprocess.run([sys.executable, "-c", _MAPPED_AFTER_A_LARGE_FREE, mode], cwd=REPO, check=True,
                                   capture_output=True, text=True).stdout.strip() for mode in ("default", "tuned")}
    assert mapped == {"default": "0", "tuned": "1"}


def test_large_frames_decode_with_fewer_threads() -> None:
    assert decode_threads(3840, 2160) == decode_threads(1920, 1080) == 1
    assert 1 <= decode_threads(1280, 720) <= DECODE_PIXELS_IN_FLIGHT // (1280 * 720)
    assert decode_threads(64, 48) >= decode_threads(1280, 720)
    assert decode_threads(0, 0) == 0  # unknown size: FFmpeg decides

"""Memory settings of the command line and the app: glibc's malloc arenas and thresholds (:mod:`vst.memory`) and the
decoder's thread count for large frames (:func:`vst.video.decode_threads`)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.vst.test_cli import REPO
from vst.memory import MALLOC_ARENAS, cuda_build_note, tune_malloc
from vst.settings import ConfigError, malloc
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


#: In a fresh process: a 16 MiB block (a frame's buffer) is allocated, written and freed, then again; prints the page
#: faults that writing the second block cost this thread (fresh pages from the kernel fault, reused ones do not).
_SECOND_FRAME_FAULTS = """
import ctypes, resource, sys
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype, libc.malloc.argtypes, libc.free.argtypes = ctypes.c_void_p, [ctypes.c_size_t], [ctypes.c_void_p]
if sys.argv[1] == "tuned":
    from vst.memory import tune_malloc
    assert tune_malloc({})
size = 16 << 20
def faults_writing(block):
    before = resource.getrusage(resource.RUSAGE_THREAD).ru_minflt
    ctypes.memset(block, 1, size)
    return resource.getrusage(resource.RUSAGE_THREAD).ru_minflt - before
for frame in range(2):
    block = libc.malloc(size)
    faults = faults_writing(block)
    libc.free(block)
print(faults)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_the_next_frame_reuses_the_pages_a_frame_freed_once_tuned() -> None:
    """By default the second frame's 16 MiB block is fresh pages (the first went back to the kernel when freed), each
    a page fault when written; tuned, the heap keeps the first block's pages and the second write faults (almost) none."""
    faults = {}
    for mode in ("default", "tuned"):
        run = subprocess.run([sys.executable, "-c", _SECOND_FRAME_FAULTS, mode], cwd=REPO, check=True,
                             capture_output=True, text=True)
        faults[mode] = int(run.stdout)
    assert faults["default"] > 0
    assert faults["tuned"] <= faults["default"] // 10


def test_vst_malloc_system_leaves_malloc_alone_and_other_values_are_refused() -> None:
    assert malloc({}) == malloc({"VST_MALLOC": " Tuned "}) == "tuned"
    assert not tune_malloc({"VST_MALLOC": "system"})
    with pytest.raises(ConfigError, match="VST_MALLOC must be tuned or system, not 'jemalloc'"):
        tune_malloc({"VST_MALLOC": "jemalloc"})


def test_the_command_line_refuses_a_bad_vst_malloc_in_one_line() -> None:
    run = subprocess.run([sys.executable, "-m", "vst", "styles"], cwd=REPO, capture_output=True, text=True,
                         env={**os.environ, "VST_MALLOC": "bogus"}, check=False)
    assert run.returncode == 2
    assert run.stderr == "error: VST_MALLOC must be tuned or system, not 'bogus'\n"


def test_large_frames_decode_with_fewer_threads() -> None:
    assert decode_threads(3840, 2160) == decode_threads(1920, 1080) == 1
    assert 1 <= decode_threads(1280, 720) <= DECODE_PIXELS_IN_FLIGHT // (1280 * 720)
    assert decode_threads(64, 48) >= decode_threads(1280, 720)
    assert decode_threads(0, 0) == 0  # unknown size: FFmpeg decides


def test_the_cuda_build_without_a_gpu_is_named_by_the_note() -> None:
    """PyTorch's CUDA build on a machine without a GPU holds memory for nothing: the note says so, and nothing is said
    for the CPU-only build or where a GPU is there."""
    note = cuda_build_note("13.0", gpu=False)
    assert note is not None and "CUDA 13.0 build" in note and "CPU-only build" in note and "docs/app.md" in note
    assert cuda_build_note(None, gpu=False) is None
    assert cuda_build_note("13.0", gpu=True) is None


def test_the_app_logs_the_cuda_build_note_at_start_only_when_it_applies(tmp_path: Path) -> None:
    """``app.main`` logs the note of this process's own PyTorch (:func:`cuda_build_note` with its defaults)."""
    code = ("import logging, app, gradio\n"
            "gradio.Blocks.launch = lambda self, **kwargs: None\n"  # start-up only: no server
            "app.main()\n")
    env = dict(os.environ, VST_CACHE_DIR=str(tmp_path / "cache"), VST_SHOWCASE="0", HF_HUB_OFFLINE="1",
               GRADIO_ANALYTICS_ENABLED="False")
    done = subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    expected = cuda_build_note()
    if expected is None:
        assert "CPU-only build" not in done.stderr
    else:
        assert expected in done.stderr


def test_the_spaces_cpu_only_pytorch_is_the_version_requirements_pin() -> None:
    """``pre-requirements.txt`` (the Space's build alone) installs PyTorch's CPU-only build of the very version that
    ``requirements.txt`` pins, so the Space's ``pip install -r requirements.txt`` finds it already satisfied instead of
    installing the CUDA build over it."""
    def pins(name: str) -> dict[str, str]:
        lines = (REPO / name).read_text().splitlines()
        return dict(line.split("==", 1) for line in lines if "==" in line and not line.startswith(("#", "-")))

    pinned, space = pins("requirements.txt")["torch"], pins("pre-requirements.txt")["torch"]
    assert space == f"{pinned}+cpu"
    assert list(pins("pre-requirements.txt")) == ["torch"]  # nothing else comes from the extra index

"""The streaming pipeline end to end: real clips in, real H.264 out, through real network forward passes."""

from __future__ import annotations

import errno
import os
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

import av
import numpy as np
import pytest
import torch

from tests.support.clips import make_clip
from tests.support.model_fixtures import TINY
from vst.errors import OutputError, OutputExistsError, StyleNotFoundError, VideoError, VSTError
from vst.model import StyleNet
from vst.mp4_checks import is_browser_playable
from vst.pipeline import Stylizer, render_video, stylize_video
from vst.video import FrameBatch, VideoReader, probe
from vst.video_writer import VideoWriter


def frame_times(path: Path) -> list[float]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return [float(f.pts * stream.time_base) for f in container.decode(stream)]


def audio_payloads(path: Path) -> list[bytes]:
    with av.open(str(path)) as container:
        return [bytes(p) for p in container.demux(container.streams.audio[0]) if p.size]


@pytest.fixture(scope="module")
def tiny_net() -> StyleNet:
    return StyleNet(**TINY).eval()


def test_stylize_keeps_frames_timestamps_size_and_audio(clip_mp4: Path, tmp_path: Path, tiny_net: StyleNet) -> None:
    out = tmp_path / "out.mp4"
    seen: list[tuple[int, int | None]] = []
    result = stylize_video(clip_mp4, out, style=tiny_net, batch_size=5, progress=lambda d, t: seen.append((d, t)))
    src, dst = probe(clip_mp4), probe(out)
    assert is_browser_playable(out)
    assert (dst.width, dst.height) == (src.width, src.height)
    assert result.frames == len(frame_times(clip_mp4)) == len(frame_times(out))
    np.testing.assert_allclose(frame_times(out), frame_times(clip_mp4), atol=0.5 / src.fps)
    assert dst.has_audio and audio_payloads(out) == audio_payloads(clip_mp4)
    assert [d for d, _ in seen] == sorted(d for d, _ in seen) and seen[-1][0] == result.frames
    assert list(tmp_path.iterdir()) == [out]  # no temporary files left


def test_output_really_is_stylized(clip_mp4: Path, tmp_path: Path, tiny_net: StyleNet) -> None:
    out = tmp_path / "out.mp4"
    stylize_video(clip_mp4, out, style=tiny_net)
    with av.open(str(clip_mp4)) as a, av.open(str(out)) as b:
        first_in = next(a.decode(video=0)).to_ndarray(format="rgb24").astype(float)
        first_out = next(b.decode(video=0)).to_ndarray(format="rgb24").astype(float)
    expected = Stylizer(tiny_net)(first_in.astype(np.uint8)[None])[0].astype(float)
    assert np.abs(first_out - first_in).mean() > 10  # not a copy of the input
    # The network's output, up to H.264 loss (4:2:0 chroma subsampling dominates on tiny noisy frames: compare luma).
    luma = np.array([0.299, 0.587, 0.114])
    assert np.abs(first_out @ luma - expected @ luma).mean() < 6


def test_odd_size_variable_frame_rate_and_rotation(clip_odd: Path, clip_vfr: Path, clip_rotated: Path,
                                                   tmp_path: Path, tiny_net: StyleNet) -> None:
    odd = stylize_video(clip_odd, tmp_path / "odd.mp4", style=tiny_net)
    info = probe(clip_odd)
    assert (odd.width, odd.height) == (info.width, info.height)
    out_info = probe(tmp_path / "odd.mp4")
    assert (out_info.width, out_info.height) == (info.width + info.width % 2, info.height + info.height % 2)

    stylize_video(clip_vfr, tmp_path / "vfr.mp4", style=tiny_net)
    src_times, out_times = frame_times(clip_vfr), frame_times(tmp_path / "vfr.mp4")
    assert len(set(np.round(np.diff(src_times), 4))) > 1  # the fixture really is variable-rate
    np.testing.assert_allclose(out_times, src_times, atol=1e-3)

    stylize_video(clip_rotated, tmp_path / "rot.mp4", style=tiny_net)
    rotated = probe(clip_rotated)
    assert rotated.rotation in (90, 270)
    out = probe(tmp_path / "rot.mp4")
    assert (out.width, out.height) == (rotated.width, rotated.height) and out.rotation == 0


def test_max_side_downscales(clip_mp4: Path, tmp_path: Path, tiny_net: StyleNet) -> None:
    result = stylize_video(clip_mp4, tmp_path / "small.mp4", style=tiny_net, max_side=32)
    assert max(result.width, result.height) <= 32
    assert max(probe(tmp_path / "small.mp4").width, probe(tmp_path / "small.mp4").height) <= 32


def test_two_networks_share_one_decode_and_measure_flicker(clip_mp4: Path, tmp_path: Path) -> None:
    a, b = StyleNet(**TINY).eval(), StyleNet(**TINY).eval()
    result = render_video(clip_mp4, {"temporal": (Stylizer(a), tmp_path / "a.mp4"),
                                     "framewise": (Stylizer(b), tmp_path / "b.mp4")}, measure_flicker=True)
    assert set(result.outputs) == {"temporal", "framewise"}
    for name in result.outputs:
        assert len(result.warping_errors[name]) == result.frames - 1
        assert np.isfinite(result.mean_warping_error()[name])
        assert len(frame_times(result.outputs[name])) == result.frames


def test_a_measure_only_target_is_measured_and_not_written(clip_mp4: Path, tmp_path: Path) -> None:
    a, b = StyleNet(**TINY).eval(), StyleNet(**TINY).eval()
    written = render_video(clip_mp4, {"temporal": (Stylizer(a), tmp_path / "a.mp4"),
                                      "framewise": (Stylizer(b), tmp_path / "b.mp4")}, measure_flicker=True)
    out_dir = tmp_path / "measured"
    out_dir.mkdir()
    measured = render_video(clip_mp4, {"temporal": (Stylizer(a), None),
                                       "framewise": (Stylizer(b), out_dir / "b.mp4")}, measure_flicker=True)
    assert set(measured.outputs) == {"framewise"}
    assert [p.name for p in out_dir.iterdir()] == ["b.mp4"]
    # The same frames were stylized and measured as when both were written.
    assert measured.warping_errors["temporal"] == pytest.approx(written.warping_errors["temporal"])
    with pytest.raises(VSTError, match="nothing to do"):
        render_video(clip_mp4, {"temporal": (Stylizer(a), None)})


def test_existing_output_is_never_overwritten_silently(clip_mp4: Path, tmp_path: Path, tiny_net: StyleNet) -> None:
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    with pytest.raises(OutputExistsError):
        stylize_video(clip_mp4, out, style=tiny_net)
    assert out.read_bytes() == b"precious"
    stylize_video(clip_mp4, out, style=tiny_net, overwrite=True)
    assert is_browser_playable(out)


@pytest.mark.parametrize("kind", ["missing", "text", "truncated"])
def test_bad_input_leaves_no_output(kind: str, clip_mp4: Path, tmp_path: Path, tiny_net: StyleNet) -> None:
    source = tmp_path / f"input-{kind}.mp4"
    if kind == "text":
        source.write_text("this is not a video\n")
    elif kind == "truncated":
        data = clip_mp4.read_bytes()
        source.write_bytes(data[: len(data) // 3])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    with pytest.raises(VideoError) as err:
        stylize_video(source, out_dir / "out.mp4", style=tiny_net)
    assert "\n" not in str(err.value)
    assert list(out_dir.iterdir()) == []


def test_unknown_style_and_wrong_suffix(clip_mp4: Path, tmp_path: Path, tiny_net: StyleNet) -> None:
    with pytest.raises(StyleNotFoundError):
        stylize_video(clip_mp4, tmp_path / "x.mp4", style="no-such-style")
    with pytest.raises(VSTError, match=r"\.mp4"):
        stylize_video(clip_mp4, tmp_path / "x.avi", style=tiny_net)


def test_compiled_stylizer_computes_what_the_eager_one_does(tiny_net: StyleNet) -> None:
    """``compile=True`` (torch.compile with inductor) is a speed option only: same frames, to uint8 rounding."""
    frames = np.random.default_rng(0).integers(0, 256, (2, 36, 52, 3), dtype=np.uint8)
    compiled = Stylizer(tiny_net, compile=True)
    assert compiled.compiled
    difference = np.abs(compiled(frames).astype(int) - Stylizer(tiny_net)(frames).astype(int))
    assert difference.max() <= 1 and difference.mean() < 0.01


def decoded_video(path: Path) -> list[tuple[int, bytes]]:
    """Each frame's pts and its pixels, exactly as stored (yuv420p planes, no line padding)."""
    with av.open(str(path)) as container:
        return [(f.pts, f.to_ndarray().tobytes()) for f in container.decode(container.streams.video[0])]


#: The largest mean absolute difference (8-bit YUV levels) allowed between two encodes of the same frames (see
#: test_overlapped_and_sequential_renders_are_the_same). The tiny random networks paint noise, which x264 quantises
#: coarsely: the same frames at CRF 20 and 22 differed by up to 3.5 levels a frame; two different random networks'
#: frames by at least 10.7.
SAME_FRAMES_MAE = 6.0


def same_frames(one: Path, other: Path) -> str:
    """"" when the two videos have the same timestamps and each frame pair differs by at most
    :data:`SAME_FRAMES_MAE` on average; else what differs (with :func:`where_files_differ`'s report)."""
    a, b = decoded_video(one), decoded_video(other)
    if [pts for pts, _ in a] != [pts for pts, _ in b]:
        return f"{one} and {other} have different timestamps: {[p for p, _ in a]} against {[p for p, _ in b]}"
    for (pts, x), (_, y) in zip(a, b, strict=True):
        mae = float(np.abs(np.frombuffer(x, np.uint8).astype(np.int16) - np.frombuffer(y, np.uint8)).mean())
        if mae > SAME_FRAMES_MAE:
            return f"frame at pts {pts} differs by {mae:.2f} levels on average; {where_files_differ(one, other)}"
    return ""


def where_files_differ(one: Path, other: Path) -> str:
    """"" when the two files are the same; else where they first differ: the byte offset, the MP4 box path around it
    and the bytes on each side (to tell a container difference from an encoder one when a test fails)."""
    a, b = one.read_bytes(), other.read_bytes()
    if a == b:
        return ""
    first = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), min(len(a), len(b)))
    path, start, end = [], 0, len(a)
    while end - start >= 8:  # descend into the boxes that contain the offset
        offset = start
        while offset + 8 <= end:
            size, kind = int.from_bytes(a[offset:offset + 4], "big"), a[offset + 4:offset + 8]
            if size < 8 or offset + size > end:
                break
            if offset <= first < offset + size:
                path.append(kind.decode("latin-1"))
                start, end = offset + 8, offset + size
                break
            offset += size
        else:
            break
        if offset + 8 > end or not (start - 8 <= first < end) or kind not in (b"moov", b"trak", b"mdia", b"minf",
                                                                              b"stbl", b"udta", b"edts"):
            break
    return (f"{one.name} and {other.name} ({len(a)} and {len(b)} bytes) first differ at byte {first}, in "
            f"{'/'.join(path) or 'no box'}: {a[first:first + 16].hex()} against {b[first:first + 16].hex()}")


def test_overlapped_and_sequential_renders_are_the_same(clip_mp4: Path, tmp_path: Path) -> None:
    """Decode, networks and encode side by side write the very frames, timestamps and audio (the very file) that one
    after the other do, and measure the very same flicker: the network's frames are the same (the flicker meter, fed
    the very arrays the encoder gets, reads the same floats), and so are the timestamps and the audio.

    The encoded files are compared frame by frame within :data:`SAME_FRAMES_MAE`, not byte for byte: in full-suite
    runs on this machine two encodes of the very same frames now and then came out different (sizes 4333 and 4013
    bytes, decoded frames a few levels apart), sequential against sequential too and x264 on one thread too, while the
    meter's floats were identical. Narrowed down since (session 18): the same stylized frames, converted to the very
    same YUV planes, encoded by PyAV 18.1's libx264 in a loop in one process, come out as different files — always
    the same for frames 128 pixels wide, one encode in 4–12 different for 160 or 176 wide, with one thread or auto,
    edge-padding the planes' line padding helping but not curing it — so it lies in the encoder, below our code."""
    torch.manual_seed(0)
    a, b = StyleNet(**TINY).eval(), StyleNet(**TINY).eval()
    results = {}
    for overlap in (True, False):
        folder = tmp_path / ("overlapped" if overlap else "sequential")
        targets = {"temporal": (Stylizer(a), folder / "a.mp4"), "framewise": (Stylizer(b), folder / "b.mp4")}
        seen: list[int] = []
        results[overlap] = render_video(clip_mp4, targets, batch_size=5, measure_flicker=True, overlap=overlap,
                                        progress=lambda done, _: seen.append(done))
        assert seen == [5, 10, 15, 20, 24]  # after every batch, in both modes
        assert sorted(p.name for p in folder.iterdir()) == ["a.mp4", "b.mp4"]
    overlapped, sequential = results[True], results[False]
    assert (overlapped.frames, overlapped.width, overlapped.height) == (24, 64, 48)
    assert (sequential.frames, sequential.width, sequential.height) == (24, 64, 48)
    assert overlapped.warping_errors == sequential.warping_errors  # the same floats, in the same order
    for name in ("temporal", "framewise"):
        one, other = overlapped.outputs[name], sequential.outputs[name]
        difference = same_frames(one, other)
        assert not difference, difference
        assert audio_payloads(one) == audio_payloads(other) == audio_payloads(clip_mp4)
    for result in (overlapped, sequential):
        assert set(result.stage_seconds) == {"decode", "network", "flicker", "encode"}
        assert all(seconds > 0 for seconds in result.stage_seconds.values())
        assert result.stage_seconds["network"] == pytest.approx(sum(result.network_seconds.values()))


def test_jobs_at_once_render_what_they_render_one_after_the_other(clip_mp4: Path, tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """How a network runs at inference is its own setting, not the process's: two jobs of different frame sizes (one
    large enough to run in strips, one not) rendered at once, while a third thread exports a network with the
    rewrites off (the textbook layers, as the ONNX export does), write what they write one after the other (the same
    frames: see test_overlapped_and_sequential_renders_are_the_same for why not byte for byte)."""
    import vst.rewrites
    from vst.model import with_inference

    monkeypatch.setattr(vst.rewrites, "STRIP_THRESHOLD", 40 * 30)  # the 64×48 clip runs in strips, 32×24 does not
    monkeypatch.setattr(vst.rewrites, "STRIP_ROWS", 8)
    small = make_clip(tmp_path / "small.mp4", width=32, height=24, num_frames=12)
    torch.manual_seed(0)  # see test_overlapped_and_sequential_renders_are_the_same
    network = StyleNet(**TINY).eval()
    jobs = {"large": clip_mp4, "small": small}

    def render(name: str, folder: Path) -> None:
        render_video(jobs[name], {"temporal": (Stylizer(network), folder / f"{name}.mp4")}, batch_size=4)

    alone = tmp_path / "alone"
    for name in jobs:
        render(name, alone)
    stop = threading.Event()

    def textbook_passes() -> None:  # another thread's network with other inference options, running throughout
        textbook = with_inference(network, rewrites=False)
        with torch.no_grad():
            while not stop.is_set():
                textbook(torch.rand(1, 3, 48, 64))

    together = tmp_path / "together"
    threads = [threading.Thread(target=textbook_passes)]
    threads += [threading.Thread(target=render, args=(name, together)) for name in jobs]
    for thread in threads:
        thread.start()
    for thread in threads[1:]:
        thread.join()
    stop.set()
    threads[0].join()
    for name in jobs:
        difference = same_frames(together / f"{name}.mp4", alone / f"{name}.mp4")
        assert not difference, difference


def job_threads() -> set[threading.Thread]:
    """The threads alive, less the shared pool's (vst.parallel: one per core for the whole process, by design)."""
    return {t for t in threading.enumerate() if not t.name.startswith("vst-frames")}


def fail_in(stage: str, monkeypatch: pytest.MonkeyPatch) -> tuple[type[BaseException], str]:
    """Make the third batch fail in ``stage``; the exception type and message :func:`render_video` must raise."""
    if stage == "decode":
        batches = VideoReader.batches

        def failing_batches(self: VideoReader, size: int) -> Iterator[FrameBatch]:
            for i, batch in enumerate(batches(self, size)):
                if i == 2:
                    raise VideoError(f"{self.path} is corrupt or truncated: decoding failed after 10 frames")
                yield batch

        monkeypatch.setattr(VideoReader, "batches", failing_batches)
        return VideoError, "decoding failed after 10 frames"
    if stage == "network":
        forward = Stylizer.__call__
        calls = iter(range(1000))

        def failing_forward(self: Stylizer, images: np.ndarray) -> np.ndarray:
            if next(calls) == 2:
                raise RuntimeError("out of memory (injected)")
            return forward(self, images)

        monkeypatch.setattr(Stylizer, "__call__", failing_forward)
        return RuntimeError, r"out of memory \(injected\)"
    if stage == "encode":
        write_batch = VideoWriter.write_batch
        writes = iter(range(1000))

        def failing_write(self: VideoWriter, images: np.ndarray, pts: Sequence[int | None]) -> None:
            if next(writes) == 2:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            write_batch(self, images, pts)

        monkeypatch.setattr(VideoWriter, "write_batch", failing_write)
        return OutputError, "No space left on device; nothing was written"  # atomic_output's message
    raise ValueError(stage)


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "sequential"])
@pytest.mark.parametrize("stage", ["decode", "network", "encode"])
def test_a_failing_stage_raises_its_error_stops_every_thread_and_leaves_nothing(
        stage: str, overlap: bool, clip_mp4: Path, tmp_path: Path, tiny_net: StyleNet,
        monkeypatch: pytest.MonkeyPatch) -> None:
    expected, message = fail_in(stage, monkeypatch)
    threads = job_threads()
    seen: list[int] = []
    with pytest.raises(expected, match=message) as raised:
        render_video(clip_mp4, {"temporal": (Stylizer(tiny_net), tmp_path / "out.mp4")}, batch_size=5,
                     overlap=overlap, progress=lambda done, _: seen.append(done))
    assert type(raised.value) is expected
    assert job_threads() == threads
    assert list(tmp_path.iterdir()) == []  # neither the output nor its temporary file
    if stage != "encode":  # the encoder's failure reaches the caller a batch or two late when overlapped
        assert seen == [5, 10]


@pytest.mark.parametrize("overlap", [True, False], ids=["overlapped", "sequential"])
def test_a_job_cancelled_from_the_progress_callback_stops_at_once(overlap: bool, clip_mp4: Path, tmp_path: Path,
                                                                  tiny_net: StyleNet) -> None:
    """As the app stops a job whose page was closed: its progress callback raises once a flag is set."""
    from vst.app.stylize_jobs import JobCancelledError  # here: the app's modules import gradio, slow to load
    cancel = threading.Event()
    seen: list[int] = []

    def on_frames(done: int, total: int | None) -> None:
        seen.append(done)
        if cancel.is_set():
            raise JobCancelledError("The job was stopped: its page was closed.")
        if done >= 10:
            cancel.set()  # the visitor leaves while these frames are encoded

    threads = job_threads()
    with pytest.raises(JobCancelledError, match="its page was closed"):
        render_video(clip_mp4, {"temporal": (Stylizer(tiny_net), tmp_path / "out.mp4")}, batch_size=5,
                     overlap=overlap, progress=on_frames)
    assert seen == [5, 10, 15]
    assert job_threads() == threads
    assert list(tmp_path.iterdir()) == []

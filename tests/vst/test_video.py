"""vst.video: real clips through the real reader and writer (PyAV/FFmpeg), and every kind of bad input."""

from __future__ import annotations

import itertools
import logging
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from tests.support.clips import (
    CONTAINER_CLIPS,
    make_audio_only,
    make_clip,
    make_faststart_copy,
    make_truncated,
    make_zero_frame_video,
    patch_fourcc,
    pattern_frame,
)
from vst.errors import VideoError
from vst.mp4_checks import is_browser_playable, is_faststart, mp4_top_level_boxes
from vst.video import FrameBatch, VideoInfo, VideoReader, fit_size, probe
from vst.video_writer import VideoWriter


def luma(image: np.ndarray) -> np.ndarray:
    return image.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """PSNR of the luma (chroma is subsampled by every codec here, so compare brightness)."""
    mse = float(np.mean((luma(a) - luma(b)) ** 2))
    return 99.0 if mse == 0 else 10 * np.log10(255.0**2 / mse)


def read_all(path: Path, **kwargs: object) -> tuple[list[np.ndarray], list[int | None], list[float]]:
    with VideoReader(path, **kwargs) as reader:  # type: ignore[arg-type]
        frames = list(reader.frames())
    return [f[0] for f in frames], [f[1] for f in frames], [f[2] for f in frames]


def audio_packets(path: Path) -> list[tuple[bytes, float]]:
    with av.open(str(path)) as container:
        return [(bytes(p), float(p.pts * p.time_base)) for p in container.demux(audio=0) if p.size]


@dataclass
class RoundTrip:
    src: Path
    out: Path
    reader: VideoReader
    times: list[float]
    images: list[np.ndarray]
    writer: VideoWriter


def round_trip(src: Path, out: Path, *, batch: int = 7) -> RoundTrip:
    """Decode ``src`` in batches and encode them to ``out`` with ``src``'s timestamps and audio."""
    times: list[float] = []
    images: list[np.ndarray] = []
    with VideoReader(src) as reader, VideoWriter(out, reader.width, reader.height, time_base=reader.time_base,
                     frame_rate=reader.frame_rate, audio_from=src) as writer:
        for b in reader.batches(batch):
            assert isinstance(b, FrameBatch)
            writer.write_batch(b.images, b.pts)
            times += b.times
            images += list(b.images)
    return RoundTrip(src, out, reader, times, images, writer)


@pytest.fixture(scope="module")
def mp4_round_trip(clip_mp4: Path, tmp_path_factory: pytest.TempPathFactory) -> RoundTrip:
    return round_trip(clip_mp4, tmp_path_factory.mktemp("rt") / "out.mp4")


# ------------------------------------------------------------------------------------------------------ probe / read


def test_probe_mp4(clip_mp4: Path) -> None:
    info = probe(clip_mp4)
    assert info == VideoInfo(path=clip_mp4, width=64, height=48, rotation=0, fps=24.0, num_frames=24,
                             duration=pytest.approx(1.0, abs=0.05), codec="h264", has_audio=True, audio_codec="aac")


def test_reader_frames_match_source(clip_mp4: Path) -> None:
    images, pts, times = read_all(clip_mp4)
    assert len(images) == 24
    assert all(img.shape == (48, 64, 3) and img.dtype == np.uint8 for img in images)
    assert times == pytest.approx([i / 24 for i in range(24)], abs=1e-6)
    assert pts == sorted(pts) and len(set(pts)) == 24
    for i, img in enumerate(images):
        assert psnr(img, pattern_frame(i, 64, 48)) > 30
    # the content really moves: frame 5 is not frame 0
    assert psnr(images[5], pattern_frame(0, 64, 48)) < 20


def test_batches_partition_the_frames(clip_mp4: Path) -> None:
    images, pts, times = read_all(clip_mp4)
    with VideoReader(clip_mp4) as reader:
        batches = list(reader.batches(10))
        again = list(reader.batches(24))  # each call decodes from the start
    assert [len(b) for b in batches] == [10, 10, 4]
    assert batches[0].images.shape == (10, 48, 64, 3) and batches[0].images.dtype == np.uint8
    assert [p for b in batches for p in b.pts] == pts
    assert [t for b in batches for t in b.times] == times
    np.testing.assert_array_equal(np.concatenate([b.images for b in batches]), np.stack(images))
    assert len(again) == 1 and len(again[0]) == 24


def test_reader_attributes(clip_mp4: Path) -> None:
    with VideoReader(clip_mp4) as reader:
        assert (reader.width, reader.height) == (64, 48)
        assert reader.frame_rate == 24 and isinstance(reader.frame_rate, Fraction)
        assert isinstance(reader.time_base, Fraction)
        assert len(reader) == 24


@pytest.mark.parametrize(("size", "max_side", "expected"), [
    ((64, 48), 32, (32, 24)), ((64, 48), 64, (64, 48)), ((64, 48), 1000, (64, 48)), ((321, 179), 160, (160, 89)),
    ((48, 64), 32, (24, 32)), ((1000, 3), 10, (10, 1)),
])
def test_fit_size(size: tuple[int, int], max_side: int, expected: tuple[int, int]) -> None:
    assert fit_size(*size, max_side) == expected


def test_max_side_downscales_never_upscales(clip_mp4: Path, clip_rotated: Path) -> None:
    images, _, _ = read_all(clip_mp4, max_side=32)
    assert len(images) == 24 and images[0].shape == (24, 32, 3)
    small = pattern_frame(3, 64, 48).reshape(24, 2, 32, 2, 3).mean(axis=(1, 3)).round().astype(np.uint8)
    assert psnr(images[3], small) > 28
    images, _, _ = read_all(clip_rotated, max_side=32)  # applies to the displayed (upright) size
    assert images[0].shape == (24, 32, 3)
    with VideoReader(clip_mp4, max_side=4096) as reader:
        assert (reader.width, reader.height) == (64, 48)


@pytest.mark.parametrize("name", list(CONTAINER_CLIPS))
def test_each_container_decodes(container_clips: dict[str, Path], name: str) -> None:
    path = container_clips[name]
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    assert info.num_frames is not None and abs(info.num_frames - 24) <= 1
    assert info.codec == {"webm-vp9": "vp9", "webm-vp8": "vp8", "avi-mpeg4": "mpeg4", "avi-mjpeg": "mjpeg",
                          "gif": "gif"}.get(name, "h264")
    assert info.has_audio == bool(CONTAINER_CLIPS[name][1].get("audio"))
    images, _, times = read_all(path)
    assert len(images) == 24
    assert all(b > a for a, b in itertools.pairwise(times))
    fps = 10 if name == "gif" else 24
    assert times == pytest.approx([i / fps for i in range(24)], abs=0.5 / fps)
    for i in (0, 11, 23):
        assert psnr(images[i], pattern_frame(i, 64, 48)) > 24, (name, i)  # gif has a 256-colour palette


# ------------------------------------------------------------------------------------------------------ round trip


def test_round_trip_is_browser_playable_mp4(mp4_round_trip: RoundTrip) -> None:
    out = mp4_round_trip.out
    with av.open(str(out)) as container:
        video = container.streams.video[0]
        assert container.format.name.startswith("mov,mp4")
        assert video.codec_context.name == "h264"
        assert video.codec_context.pix_fmt == "yuv420p"
        assert video.codec_context.profile in ("High", "Main", "Constrained Baseline", "Baseline")
    boxes = mp4_top_level_boxes(out)
    assert boxes.index("moov") < boxes.index("mdat")
    assert is_faststart(out) and is_browser_playable(out)


def test_round_trip_frames_timestamps_and_duration(mp4_round_trip: RoundTrip) -> None:
    src_info, out_info = probe(mp4_round_trip.src), probe(mp4_round_trip.out)
    assert (out_info.width, out_info.height, out_info.rotation) == (64, 48, 0)
    assert out_info.num_frames == src_info.num_frames == 24
    assert out_info.fps == pytest.approx(24)
    assert out_info.duration == pytest.approx(src_info.duration, abs=0.5 / 24)
    images, _, times = read_all(mp4_round_trip.out)
    assert len(images) == 24
    assert times == pytest.approx(mp4_round_trip.times, abs=0.5 / 24)
    for got, sent in zip(images, mp4_round_trip.images, strict=True):
        assert psnr(got, sent) > 30


def test_round_trip_copies_audio_packets(mp4_round_trip: RoundTrip) -> None:
    assert mp4_round_trip.writer.audio_mode == "copy"
    src, out = audio_packets(mp4_round_trip.src), audio_packets(mp4_round_trip.out)
    assert len(src) > 10
    assert [data for data, _ in out] == [data for data, _ in src]  # same bytes: copied, not re-encoded
    assert [t for _, t in out] == pytest.approx([t for _, t in src], abs=1e-3)
    assert probe(mp4_round_trip.out).audio_codec == "aac"


def test_round_trip_interleaves_audio_with_video(mp4_round_trip: RoundTrip) -> None:
    """Audio is muxed as the video goes (not all video then all audio): file order follows time for both."""
    with av.open(str(mp4_round_trip.out)) as container:
        kinds = [p.stream.type for p in sorted((p for p in container.demux() if p.size), key=lambda p: p.pos)]
    first_audio, last_video = kinds.index("audio"), len(kinds) - 1 - kinds[::-1].index("video")
    assert first_audio < last_video
    assert kinds[: len(kinds) // 2].count("audio") >= 10  # about half of the audio lies in the first half of the file


def test_writer_pads_odd_sizes(clip_odd: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="vst.video"):
        rt = round_trip(clip_odd, tmp_path / "odd_out.mp4", batch=4)
    padding_logs = [r for r in caplog.records if r.name == "vst.video" and "padding" in r.getMessage()]
    assert len(padding_logs) == 1 and padding_logs[0].levelno == logging.INFO
    assert (rt.reader.width, rt.reader.height) == (321, 179)
    assert (rt.writer.encoded_width, rt.writer.encoded_height) == (322, 180)
    info = probe(rt.out)
    assert (info.width, info.height, info.num_frames) == (322, 180, 10)  # rounded up to even
    assert is_browser_playable(rt.out)
    images, _, _ = read_all(rt.out)
    for got, sent in zip(images, rt.images, strict=True):
        expected = np.pad(sent, ((0, 1), (0, 1), (0, 0)), mode="edge")  # last row and column repeated
        assert psnr(got[:179, :321], sent) > 30
        assert psnr(got[:, 320:], expected[:, 320:]) > 28 and psnr(got[178:], expected[178:]) > 28


def test_libx264_cannot_encode_odd_yuv420p(tmp_path: Path) -> None:
    """Why the writer pads: 4:2:0 H.264 needs even sizes (libx264 refuses to open)."""
    with av.open(str(tmp_path / "x.mp4"), "w") as out:
        stream = out.add_stream("libx264", rate=24)
        stream.width, stream.height, stream.pix_fmt = 321, 179, "yuv420p"
        with pytest.raises(av.error.FFmpegError):
            stream.encode(av.VideoFrame.from_ndarray(np.zeros((179, 321, 3), np.uint8), format="rgb24"))


def test_rotation_is_applied(clip_rotated: Path) -> None:
    info = probe(clip_rotated)
    assert (info.width, info.height, info.rotation) == (64, 48, 90)
    with av.open(str(clip_rotated)) as container:  # the file really stores sideways frames + a display matrix
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height, frame.rotation) == (48, 64, -90)
    images, _, _ = read_all(clip_rotated)
    assert len(images) == 24 and images[0].shape == (48, 64, 3)
    for i in (0, 12, 23):
        upright = pattern_frame(i, 64, 48)
        assert psnr(images[i], upright) > 30
        assert psnr(images[i], upright[::-1, ::-1]) < 20  # not upside down (i.e. not rotated the wrong way)


@pytest.mark.parametrize("rotation", [180, 270])
def test_other_rotations(tmp_path: Path, rotation: int) -> None:
    path = make_clip(tmp_path / f"r{rotation}.mp4", width=40, height=24, num_frames=3, rotation=rotation)
    info = probe(path)
    assert (info.width, info.height, info.rotation) == (40, 24, rotation)
    images, _, _ = read_all(path)
    assert psnr(images[1], pattern_frame(1, 40, 24)) > 30


def test_round_trip_of_rotated_clip_is_upright_without_rotation(clip_rotated: Path, tmp_path: Path) -> None:
    rt = round_trip(clip_rotated, tmp_path / "rot_out.mp4")
    info = probe(rt.out)
    assert (info.width, info.height, info.rotation) == (64, 48, 0)
    with av.open(str(rt.out)) as container:
        frame = next(container.decode(video=0))
        assert (frame.width, frame.height, frame.rotation) == (64, 48, 0)
    images, _, _ = read_all(rt.out)
    assert psnr(images[10], pattern_frame(10, 64, 48)) > 28
    assert [d for d, _ in audio_packets(rt.out)] == [d for d, _ in audio_packets(clip_rotated)]


def test_variable_frame_rate_is_preserved(clip_vfr: Path, tmp_path: Path) -> None:
    _, _, src_times = read_all(clip_vfr)
    gaps = np.diff(src_times)
    assert gaps.min() < 0.6 / 24 and gaps.max() > 2 / 24  # the clip really is irregular
    rt = round_trip(clip_vfr, tmp_path / "vfr_out.mp4")
    images, _, out_times = read_all(rt.out)
    assert len(images) == 24
    assert out_times == pytest.approx(src_times, abs=0.5 * gaps.min())


def test_bframes_input_keeps_order_and_timestamps(clip_bframes: Path, tmp_path: Path) -> None:
    with av.open(str(clip_bframes)) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        assert any(p.dts != p.pts for p in packets)  # really reordered
    _, pts, times = read_all(clip_bframes)
    assert pts == sorted(pts) and len(times) == 30
    rt = round_trip(clip_bframes, tmp_path / "bf_out.mp4")
    images, _, out_times = read_all(rt.out)
    assert out_times == pytest.approx(times, abs=0.5 / 24)
    for i in (0, 13, 29):
        assert psnr(images[i], pattern_frame(i, 64, 48)) > 28


@pytest.mark.parametrize("name", ["mkv-h264", "webm-vp9", "gif", "avi-mjpeg"])
def test_round_trip_other_containers(container_clips: dict[str, Path], tmp_path: Path, name: str) -> None:
    src = container_clips[name]
    rt = round_trip(src, tmp_path / "out.mp4")
    assert is_browser_playable(rt.out)
    images, _, times = read_all(rt.out)
    fps = 10 if name == "gif" else 24
    assert len(images) == 24
    assert times == pytest.approx(rt.times, abs=0.5 / fps)
    if probe(src).has_audio:
        assert rt.writer.audio_mode == "copy"
        assert [d for d, _ in audio_packets(rt.out)] == [d for d, _ in audio_packets(src)]  # Opus/AAC copied


@pytest.mark.parametrize("audio_codec", ["mp3", "flac"])
def test_mp4_compatible_audio_is_copied(tmp_path: Path, audio_codec: str) -> None:
    src = make_clip(tmp_path / f"{audio_codec}.mkv", num_frames=12, audio=True, audio_codec=audio_codec)
    assert probe(src).audio_codec == audio_codec  # the codec's name, not the decoder's ("mp3float")
    rt = round_trip(src, tmp_path / "out.mp4")
    assert rt.writer.audio_mode == "copy" and probe(rt.out).audio_codec == audio_codec
    assert [d for d, _ in audio_packets(rt.out)] == [d for d, _ in audio_packets(src)]
    assert is_browser_playable(rt.out)


def test_uncopyable_audio_is_reencoded_to_aac_with_a_warning(
    container_clips: dict[str, Path], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    src = container_clips["avi-mpeg4"]  # PCM audio: not for MP4
    with caplog.at_level(logging.WARNING, logger="vst.video"):
        rt = round_trip(src, tmp_path / "out.mp4")
    assert any(r.levelno == logging.WARNING and "AAC" in r.getMessage() for r in caplog.records)
    assert rt.writer.audio_mode == "aac"
    info = probe(rt.out)
    assert info.audio_codec == "aac" and info.num_frames == 24 and is_browser_playable(rt.out)
    with av.open(str(rt.out)) as container:
        seconds = sum(f.samples for f in container.decode(audio=0)) / container.streams.audio[0].sample_rate
    assert seconds == pytest.approx(1.0, abs=0.05)


# ------------------------------------------------------------------------------------------------------ writer


def test_writer_without_pts_uses_frame_rate(tmp_path: Path) -> None:
    out = tmp_path / "nopts.mp4"
    frames = np.stack([pattern_frame(i, 32, 16) for i in range(12)])
    with VideoWriter(out, 32, 16, time_base=Fraction(1, 90000), frame_rate=Fraction(12)) as writer:
        writer.write_batch(frames[:6], [None] * 6)
        for img in frames[6:]:
            writer.write(img, None)
    images, _, times = read_all(out)
    assert len(images) == 12 and times == pytest.approx([i / 12 for i in range(12)], abs=1e-3)
    assert probe(out).has_audio is False


def test_writer_forces_increasing_pts(tmp_path: Path) -> None:
    out = tmp_path / "dup.mp4"
    with VideoWriter(out, 32, 16, time_base=Fraction(1, 1000), frame_rate=Fraction(10)) as writer:
        for p in (0, 100, 100, 50, 300):
            writer.write(pattern_frame(0, 32, 16), p)
    _, pts, times = read_all(out)
    assert len(pts) == 5 and all(b > a for a, b in itertools.pairwise(times))
    assert times[0] == pytest.approx(0) and times[1] == pytest.approx(0.1) and times[4] == pytest.approx(0.3)


def test_writer_close_twice_and_rejects_wrong_frames(tmp_path: Path) -> None:
    writer = VideoWriter(tmp_path / "c.mp4", 32, 16, time_base=Fraction(1, 24), frame_rate=Fraction(24))
    with pytest.raises(ValueError, match=r"\(16, 32, 3\) uint8"):
        writer.write(np.zeros((16, 32, 3), np.float32), 0)
    with pytest.raises(ValueError):
        writer.write(np.zeros((16, 30, 3), np.uint8), 0)
    writer.write(np.zeros((16, 32, 3), np.uint8), 0)
    writer.close()
    writer.close()
    with pytest.raises(ValueError, match="closed"):
        writer.write(np.zeros((16, 32, 3), np.uint8), 1)
    assert probe(tmp_path / "c.mp4").num_frames == 1


def test_audio_packet_the_muxer_refuses_is_dropped_with_a_warning(
    clip_mp4: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    writer = VideoWriter(tmp_path / "o.mp4", 64, 48, time_base=Fraction(1, 24), frame_rate=Fraction(24),
                         audio_from=clip_mp4)
    packets = writer._audio_packets
    assert packets is not None

    def with_a_step_back():  # type: ignore[no-untyped-def]
        for i, packet in enumerate(packets):
            yield packet
            if i == 3:
                yield packet  # same dts again: the MP4 muxer refuses it
    writer._audio_packets = with_a_step_back()
    with caplog.at_level(logging.WARNING, logger="vst.video"), writer:
        for i in range(24):
            writer.write(pattern_frame(i, 64, 48), i)
    assert any("dropping audio" in r.getMessage() for r in caplog.records)
    assert [d for d, _ in audio_packets(tmp_path / "o.mp4")] == [d for d, _ in audio_packets(clip_mp4)]


def test_reader_close_stops_an_iteration(clip_mp4: Path) -> None:
    reader = VideoReader(clip_mp4)
    frames = reader.frames()
    next(frames)
    reader.close()
    reader.close()
    assert list(frames) == []  # ends quietly (PyAV would crash on a closed container)
    with pytest.raises(ValueError, match="closed"):
        next(reader.frames())


def test_faststart_and_playability_checks(clip_mp4: Path, clip_odd: Path, container_clips: dict[str, Path],
                                          tmp_path: Path) -> None:
    assert mp4_top_level_boxes(clip_mp4)[-1] == "moov" and not is_faststart(clip_mp4)
    assert not is_browser_playable(clip_mp4)  # h264 yuv420p but moov at the end
    fast = make_faststart_copy(clip_mp4, tmp_path / "fast.mp4")
    assert is_faststart(fast) and is_browser_playable(fast)
    fast_odd = make_faststart_copy(clip_odd, tmp_path / "fast_odd.mp4")
    assert is_faststart(fast_odd) and not is_browser_playable(fast_odd)  # yuv444p
    assert not is_browser_playable(container_clips["webm-vp9"])
    assert not is_faststart(container_clips["webm-vp9"])
    (tmp_path / "junk.mp4").write_bytes(b"junk" * 10)
    assert not is_browser_playable(tmp_path / "junk.mp4") and not is_faststart(tmp_path / "junk.mp4")


# ------------------------------------------------------------------------------------------------------ bad input


@pytest.fixture(scope="module")
def bad_inputs(clips_dir: Path, clip_mp4: Path) -> dict[str, tuple[Path, str]]:
    """name → (path, a regex the VideoError message must match)."""
    folder = clips_dir / "bad"
    folder.mkdir(exist_ok=True)
    (folder / "a directory.mp4").mkdir(exist_ok=True)
    (folder / "notes.mp4").write_text("these are my holiday notes, not a video\n" * 20)
    (folder / "random.mov").write_bytes(np.random.default_rng(1).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    (folder / "empty.mp4").write_bytes(b"")
    big = make_clip(folder / "big.mp4", width=96, height=64, num_frames=30, pattern="noise", audio=True)
    fast = make_faststart_copy(big, folder / "big_faststart.mp4")
    return {
        "missing": (folder / "nope.mp4", "not found"),
        "directory": (folder / "a directory.mp4", "is a directory"),
        "text": (folder / "notes.mp4", "not a readable video"),
        "random bytes": (folder / "random.mov", "not a readable video"),
        "empty file": (folder / "empty.mp4", "not a readable video"),
        "audio only": (make_audio_only(folder / "audio.m4a"), "no video stream.*audio only"),
        "zero frames": (make_zero_frame_video(folder / "zero.avi"), "no video frames"),
        "unknown codec": (patch_fourcc(clip_mp4, folder / "unknown.mp4"), "codec"),
        "truncated (moov at end)": (make_truncated(big, folder / "cut.mp4"), "truncated"),
        "truncated (faststart)": (make_truncated(fast, folder / "cut_faststart.mp4"), "truncated"),
    }


BAD = ["missing", "directory", "text", "random bytes", "empty file", "audio only", "zero frames", "unknown codec",
       "truncated (moov at end)", "truncated (faststart)"]


def check_message(err: VideoError, path: Path, pattern: str) -> None:
    message = str(err)
    assert "\n" not in message and message.strip() == message
    assert str(path) in message
    assert re.search(pattern, message), message


@pytest.mark.parametrize("name", BAD)
def test_bad_input_raises_video_error(bad_inputs: dict[str, tuple[Path, str]], name: str) -> None:
    path, pattern = bad_inputs[name]
    with pytest.raises(VideoError) as caught, VideoReader(path) as reader:  # on open, or while decoding
        for _ in reader.frames():
            pass
    check_message(caught.value, path, pattern)
    assert not isinstance(caught.value, av.error.FFmpegError)


@pytest.mark.parametrize("name", BAD)
def test_probe_bad_input_raises_video_error(bad_inputs: dict[str, tuple[Path, str]], name: str) -> None:
    path, pattern = bad_inputs[name]
    with pytest.raises(VideoError) as caught:
        probe(path)
    check_message(caught.value, path, pattern)


def test_truncated_faststart_is_caught_from_its_index(bad_inputs: dict[str, tuple[Path, str]]) -> None:
    """moov (intact, first) lists samples past the end of the cut file: refused up front, before decoding."""
    path, _ = bad_inputs["truncated (faststart)"]
    with av.open(str(path)) as container:
        assert container.streams.video[0].frames == 30  # FFmpeg itself opens it happily
    with pytest.raises(VideoError, match=r"truncated: its index lists video data up to byte \d+ but the file has"):
        probe(path)


def test_damage_found_while_decoding_is_a_video_error(bad_inputs: dict[str, tuple[Path, str]],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the up-front index check the same file fails mid-stream: a VideoError after some frames, not av's."""
    monkeypatch.setattr("vst.video._check_not_truncated", lambda stream, path: None)
    path, _ = bad_inputs["truncated (faststart)"]
    assert probe(path).num_frames == 30
    decoded = 0
    with pytest.raises(VideoError, match="corrupt or truncated") as caught, VideoReader(path) as reader:
        for _ in reader.frames():
            decoded += 1
    assert 0 < decoded < 30
    check_message(caught.value, path, "after \\d+ frames")


def test_decoder_errors_become_video_errors(clip_mp4: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Any FFmpeg error raised while demuxing/decoding mid-stream surfaces as VideoError (one line, names the file)."""
    calls = {"n": 0}
    real_decode = av.Packet.decode

    def flaky_decode(packet: av.Packet):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] > 5:
            raise av.error.InvalidDataError(1094995529, "Invalid data found when processing input")
        return real_decode(packet)

    with VideoReader(clip_mp4) as reader:
        monkeypatch.setattr(av.Packet, "decode", flaky_decode)
        with pytest.raises(VideoError, match="decoding failed after") as caught:
            for _ in reader.frames():
                pass
    check_message(caught.value, clip_mp4, "Invalid data found")


def test_writer_with_bad_audio_source_raises_video_error(tmp_path: Path) -> None:
    missing = tmp_path / "gone.mp4"
    with pytest.raises(VideoError, match="not found"):
        VideoWriter(tmp_path / "o.mp4", 32, 16, time_base=Fraction(1, 24), frame_rate=Fraction(24),
                    audio_from=missing)


def test_writer_audio_from_silent_video_adds_no_audio(container_clips: dict[str, Path], tmp_path: Path) -> None:
    src = container_clips["webm-vp8"]
    rt = round_trip(src, tmp_path / "silent.mp4")
    assert rt.writer.audio_mode is None and not probe(rt.out).has_audio


@pytest.mark.parametrize(("width", "height", "preset", "subme"),
                         [(640, 360, None, 1), (1280, 720, None, 1), (640, 360, "veryfast", 2)])
def test_frames_encode_with_the_superfast_preset_unless_told(tmp_path: Path, width: int, height: int,
                                                              preset: str | None, subme: int) -> None:
    """x264 records its settings in the stream (an SEI text): superfast searches sub-pixels at level 1, veryfast at
    2; the writer's default is superfast at every size, another preset is taken when given."""
    out = tmp_path / "o.mp4"
    frame = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    with VideoWriter(out, width, height, time_base=Fraction(1, 25), frame_rate=Fraction(25),
                     **({"preset": preset} if preset else {})) as writer:
        writer.write(frame, 0)
    settings = re.search(rb"options: [^\x00]*", out.read_bytes())
    assert settings is not None
    assert f" subme={subme} ".encode() in settings.group()

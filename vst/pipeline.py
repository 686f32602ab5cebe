"""Video in, stylized video out: decode → stylize → encode, streaming in frame batches.

One decode can feed several networks (the app renders the temporal and the framewise variant together). Decoding,
the networks and encoding run side by side (:mod:`vst.stages`): a decode thread, the caller's thread (forward passes,
flicker meter, progress) and an encode thread, with at most :data:`vst.stages.QUEUE_DEPTH` batches waiting between
two of them, so a render runs at about the networks' own rate. Memory is bounded by the batch size, not the video's
length. Outputs are written to temporary files and renamed only when every one of them is complete, so a failure
leaves nothing behind.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from .any_painting import content_frame, network_for_picture, output_metadata
from .denoise import DenoisedBatches, DenoiseOptions
from .errors import FrameSizeError, VSTError
from .files import atomic_output
from .guided import guided_upsample, internal_size
from .hub import load_model
from .metrics import WarpingErrorMeter
from .model import StyleNet, with_inference
from .parallel import InFlight, cores, run_side_by_side
from .smoothing import FlowSmoother, SmoothingOptions
from .stages import Stages
from .style_folder import Variant
from .style_picture import StylePicture
from .teacher import check_strength
from .video import FrameBatch, VideoReader, fit_size
from .video_writer import VideoWriter

log = logging.getLogger(__name__)

#: ``progress(frames_done, frames_total_or_None)``; called after every batch.
ProgressCallback = Callable[[int, int | None], None]

#: Frames are stylized at least this many pixels high and wide (after any downscaling): the networks need 5 (their
#: instance norms need more than one pixel at quarter resolution), rounded up to a plain limit.
MIN_FRAME_SIDE = 8
#: The long side, in pixels, that :func:`stylize_video` (and so ``python -m vst stylize``) downscales frames to unless
#: told otherwise: a 4K clip then peaks at 868 MB with the full-size network (under
#: :func:`vst.memory.tune_malloc`, as the command line runs), against about 2571 MB at full size
#: (``benchmarks/memory.py``); each further megapixel costs about 190 MB.
DEFAULT_MAX_SIDE = 1280

#: Default pixels per forward pass (see :class:`Stylizer`).
CPU_MAX_PIXELS = 400_000
CUDA_MAX_PIXELS = 1_000_000
#: On the CPU, frames whose network input has at most this many pixels (a pass's worth) run side by side, one per
#: core, each on one thread (:mod:`vst.parallel`); larger ones (a whole 1280×720 frame) run one at a time on all the
#: cores, so that only one frame's activations are alive.
PARALLEL_MAX_PIXELS = CPU_MAX_PIXELS


def select_device(name: str | None = None) -> torch.device:
    """``None``/``"auto"``: CUDA when present, else CPU (with one thread per available core)."""
    if name in (None, "auto"):
        name = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError):
        raise VSTError(f"unknown device '{name}'; use auto, cpu, cuda or cuda:N") from None
    if device.type not in ("cpu", "cuda"):
        raise VSTError(f"device '{name}' is not supported; use auto, cpu, cuda or cuda:N")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise VSTError(f"device '{name}' was asked for, but no CUDA GPU is available")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise VSTError(f"device '{name}' was asked for, but this machine has {torch.cuda.device_count()} CUDA GPU(s)")
    if device.type == "cpu":
        torch.set_num_threads(max(1, len(os.sched_getaffinity(0))))
    return device


def check_frame_size(source: str | os.PathLike[str], width: int, height: int, max_side: int | None) -> tuple[int, int]:
    """The size ``(width, height)`` frames of ``source`` are stylized at (downscaled to ``max_side``, see
    :func:`vst.video.fit_size`); :class:`FrameSizeError` when a side is below :data:`MIN_FRAME_SIDE`."""
    if max_side is not None and max_side < 16:
        raise VSTError(f"the maximum side must be at least 16 pixels, not {max_side}")
    out_w, out_h = fit_size(width, height, max_side)
    if min(out_w, out_h) < MIN_FRAME_SIDE:
        resized = (out_w, out_h) != (width, height)
        scaled = f" (downscaled from {width}×{height} to fit {max_side} px)" if resized else ""
        raise FrameSizeError(f"{source}: its frames are {out_w}×{out_h} pixels{scaled}; the networks need at least "
                             f"{MIN_FRAME_SIDE}×{MIN_FRAME_SIDE}")
    return out_w, out_h


class Stylizer:
    """Runs a :class:`StyleNet` on batches of uint8 frames: ``(N, H, W, 3)`` uint8 RGB → same shape and dtype.

    Frames of any size are reflection-padded to the network's size multiple and cropped back. On CUDA the network
    runs in half precision unless ``half=False``. A forward pass takes at most ``max_pixels`` pixels (but at least
    one frame), so memory stays bounded whatever the batch size and resolution. The default is
    :data:`CPU_MAX_PIXELS` on the CPU, where one 640×360 frame per pass runs faster than batches (the working set
    stays in cache; ``benchmarks/levers.py`` measures it), and :data:`CUDA_MAX_PIXELS` on a GPU.

    ``compile=True`` runs the network through ``torch.compile`` (inductor, which fuses the normalisation, activation
    and padding passes around the convolutions): 1.15–1.3× faster end to end on the CPU (benchmarks/performance.py), but the first
    frame of every new frame size waits for a compilation (about half a minute on two cores; needs a C++ compiler).
    Compiled, large frames run whole instead of in strips (:class:`vst.rewrites.InferenceOptions`): faster, more memory.
    Worth it for long videos (``python -m vst stylize --compile``), not for a web app's short clips.

    ``scale`` < 1 runs the network at that fraction of each side (:func:`vst.guided.internal_size`) and brings its
    output back to the frame's size with the fast guided filter, the frame as the guide (:mod:`vst.guided`): about
    ``scale²`` of the network's time, for larger strokes and the frame's own edges.

    ``parallel`` (the default on the CPU, uncompiled): a call with several frames whose network input has at most
    :data:`PARALLEL_MAX_PIXELS` pixels runs them side by side, one per core on one thread each
    (:func:`vst.parallel.run_side_by_side`; about 1.1× the frames a second of one frame at a time on two cores).
    A single frame always runs on all the cores. :meth:`frames_per_call` says how many frames to hand over at once.
    """

    def __init__(self, model: StyleNet, device: torch.device | str = "cpu", *, half: bool | None = None,
                 max_pixels: int | None = None, compile: bool = False, scale: float = 1.0,
                 parallel: bool | None = None) -> None:
        self.device = torch.device(device)
        self.max_pixels = max_pixels or (CUDA_MAX_PIXELS if self.device.type == "cuda" else CPU_MAX_PIXELS)
        self.half = self.device.type == "cuda" if half is None else half
        self.dtype = torch.float16 if self.half else torch.float32
        self.model = model.eval().to(self.device, self.dtype)
        self.multiple = model.size_multiple
        self.compiled = compile
        internal_size(64, 64, scale, self.multiple)  # ValueError unless 0 < scale ≤ 1
        self.scale = scale
        if parallel and (self.device.type != "cpu" or compile):
            raise ValueError("frames run side by side only on the CPU and uncompiled")
        self.parallel = self.device.type == "cpu" and not compile if parallel is None else parallel
        self._network: Callable[[torch.Tensor], torch.Tensor] = self.model
        if compile:
            log.info("compiling the network with torch.compile: the first frame of each size takes longer")
            # compiled, whole frames run faster than strips (see vst.rewrites.InferenceOptions); a copy: the model
            # itself may be shared with other threads
            self._network = torch.compile(with_inference(self.model, strips=False), dynamic=False)

    def network_size(self, width: int, height: int) -> tuple[int, int]:
        """The size the network sees a ``width``×``height`` frame at (:attr:`scale` applied; before padding)."""
        return internal_size(width, height, self.scale, self.multiple) if self.scale < 1.0 else (width, height)

    def frames_at_once(self, width: int, height: int) -> int:
        """How many ``width``×``height`` frames a call runs side by side: one per core when :attr:`parallel` and
        the network's frame has at most :data:`PARALLEL_MAX_PIXELS` pixels, else one."""
        network_w, network_h = self.network_size(width, height)
        return cores() if self.parallel and network_w * network_h <= PARALLEL_MAX_PIXELS else 1

    def frames_per_pass(self, width: int, height: int) -> int:
        """Frames of ``width``×``height`` in one forward pass: ``max_pixels`` worth, at least one."""
        return max(1, self.max_pixels // (width * height))

    def frames_per_call(self, width: int, height: int) -> int:
        """Frames to hand to one call to keep the machine busy: a pass's worth for each frame run side by side."""
        return self.frames_per_pass(width, height) * self.frames_at_once(width, height)

    def __call__(self, images: np.ndarray, detail: np.ndarray | None = None) -> np.ndarray:
        """``(N, H, W, 3)`` uint8 RGB frames → their stylized frames, the same shape and dtype. ``detail``: frames of
        the same shape whose fine detail the network's :attr:`~vst.model.StyleNet.frame_detail` adds instead of
        ``images``' own (the raw frames when ``images`` are denoised, :mod:`vst.denoise`)."""
        if detail is not None and detail.shape != images.shape:
            raise ValueError(f"detail frames of shape {detail.shape} for frames of shape {images.shape}")
        count, height, width = images.shape[:3]
        side_by_side = min(count, self.frames_at_once(width, height))
        if side_by_side <= 1:
            return self._in_passes((images, detail))
        bounds = np.linspace(0, count, side_by_side + 1).round().astype(int)  # contiguous chunks, in order
        chunks = [(images[start:end], None if detail is None else detail[start:end])
                  for start, end in itertools.pairwise(bounds)]
        return np.concatenate(run_side_by_side(self._in_passes, chunks))

    def _in_passes(self, chunk: tuple[np.ndarray, np.ndarray | None]) -> np.ndarray:
        """``(images, detail or None)`` through the network at most :meth:`frames_per_pass` frames at a time."""
        images, detail = chunk
        per_pass = self.frames_per_pass(images.shape[2], images.shape[1])
        if len(images) <= per_pass:
            return self._forward(images, detail)
        return np.concatenate([self._forward(images[i:i + per_pass], None if detail is None else detail[i:i + per_pass])
                               for i in range(0, len(images), per_pass)])

    def _tensor(self, images: np.ndarray) -> torch.Tensor:
        """``(N, H, W, 3)`` uint8 → ``(N, 3, H, W)`` in [0, 1], on the device in the network's dtype."""
        if not images.flags.writeable:  # e.g. frames decoded by PyAV; torch wants writable memory
            images = images.copy()
        # NCHW in the default (contiguous) layout: a permuted view would carry channels-last strides into the
        # network, which runs slower that way on the CPU (benchmarks/levers.py)
        x = torch.from_numpy(images).to(self.device).permute(0, 3, 1, 2)
        return x.to(self.dtype, memory_format=torch.contiguous_format).div_(255.0)

    @torch.inference_mode()
    def _forward(self, images: np.ndarray, detail: np.ndarray | None = None) -> np.ndarray:
        _, h, w, _ = images.shape
        x = self._tensor(images)
        # only a network that adds the frame's detail takes the detail frames (Johnson et al.'s classic ones do not)
        d = None if detail is None or not getattr(self.model, "frame_detail", 0.0) else self._tensor(detail)
        if self.scale < 1.0:  # the internal size is a multiple of the network's: no padding
            small_w, small_h = self.network_size(w, h)
            shrink = functools.partial(F.interpolate, size=(small_h, small_w), mode="bilinear", antialias=True,
                                       align_corners=False)
            small = shrink(x)
            y = guided_upsample(self._network(small) if d is None else self._network(small, shrink(d)),
                                x if d is None else d)
        else:
            pad_h, pad_w = -h % self.multiple, -w % self.multiple
            if pad_h or pad_w:
                pad = functools.partial(F.pad, pad=(0, pad_w, 0, pad_h),
                                        mode="reflect" if min(h, w) > max(pad_h, pad_w) else "replicate")
                x = pad(x)
                d = None if d is None else pad(d)
            y = (self._network(x) if d is None else self._network(x, d))[:, :, :h, :w]
        # The network ends in a sigmoid (the guided upsampling clamps), so y is in [0, 1]: +0.5 and truncation round
        # to the nearest uint8, converted and interleaved in one copy (the same bytes as scaling in place, converting,
        # then permuting; 4.0 against 5.4 ms a 1280×720 frame on one thread).
        scaled = torch.add(torch.tensor(0.5, dtype=y.dtype, device=y.device), y, alpha=255.0)
        frames = torch.empty((len(y), h, w, 3), dtype=torch.uint8, device=y.device)
        return frames.copy_(scaled.permute(0, 2, 3, 1)).cpu().numpy()


#: ``name → (stylizer, output path or None)``, as :func:`render_video` takes them.
Targets = Mapping[str, tuple[Stylizer, str | os.PathLike[str] | None]]


@dataclass
class RenderResult:
    """What one render produced: outputs by name, frame count, speed and (optionally) flicker per output."""

    outputs: dict[str, Path]
    frames: int
    seconds: float
    width: int
    height: int
    warping_errors: dict[str, list[float]] = field(default_factory=dict)  # per consecutive pair; NaN at scene cuts
    network_seconds: dict[str, float] = field(default_factory=dict)  # per output: time in its network's passes
    #: Seconds of work per stage: ``decode`` (decoding, RGB conversion, scaling), ``network`` (all outputs' passes),
    #: ``flicker`` (the warping-error meter), ``encode`` (RGB → YUV, H.264, muxing, finalizing) and, where asked for,
    #: ``smoothing`` (:mod:`vst.smoothing`) and ``denoise`` (:mod:`vst.denoise`, not counted in ``decode``). Overlapped stages
    #: share the cores, so these add up to more than :attr:`seconds`.
    stage_seconds: dict[str, float] = field(default_factory=dict)

    @property
    def fps(self) -> float:
        return self.frames / self.seconds if self.seconds > 0 else float("nan")

    def mean_warping_error(self) -> dict[str, float]:
        return {name: float(np.nanmean(errs)) if np.isfinite(errs).any() else float("nan")
                for name, errs in self.warping_errors.items()}


def render_video(
    source: str | os.PathLike[str],
    targets: Targets,
    *,
    max_side: int | None = None,
    batch_size: int = 4,
    overwrite: bool = False,
    measure_flicker: bool = False,
    progress: ProgressCallback | None = None,
    meter: WarpingErrorMeter | None = None,
    metadata: Mapping[str, str] | None = None,
    overlap: bool = True,
    smoothing: Mapping[str, SmoothingOptions] | None = None,
    denoise: DenoiseOptions | None = None,
) -> RenderResult:
    """Decode ``source`` once and write one stylized H.264 MP4 per target (``name → (stylizer, output path)``).

    Every output keeps the source's frame count, timestamps and audio stream; ``max_side`` downscales the long side.
    With ``measure_flicker`` the warping error of each output is computed against the input's optical flow. A target
    whose output path is ``None`` is stylized and measured but not written (nor listed in ``outputs``). ``meter``: the
    flicker meter to use (e.g. a cheaper optical-flow preset); a default :class:`WarpingErrorMeter` otherwise.
    ``metadata``: container tags written into every output (e.g. :func:`vst.any_painting.output_metadata`).
    ``smoothing``: target name → options of the flow-guided smoothing of its frames (:mod:`vst.smoothing`), applied in
    frame order before the output is written and measured; targets not named are left as their network renders them.
    ``denoise``: the networks see the input frames denoised along the optical flow (:mod:`vst.denoise`; every target
    alike, in the decoding thread, in frame order), the frame's own detail still taken from the frames as decoded;
    the flicker meter and the smoothing follow the frames as decoded.

    ``overlap`` (the default): decoding and encoding run in their own threads beside the networks, which run in this
    thread (with torch's intra-op threads, as :func:`select_device` set them, or side by side on one thread each, see
    :class:`Stylizer`), as do the flicker meter and ``progress``; ``False``: all in this thread, one stage after the
    other. Both write the same frames and measure the same errors. A batch holds at most a forward pass's worth of
    frames (the smallest :meth:`Stylizer.frames_per_pass`); overlapped, at most ``QUEUE_DEPTH + 2`` (3) decoded
    batches (one being decoded, the waiting ones, one in the networks) and as many batches of stylized frames per
    output (from the networks, waiting, being encoded) are alive at once, against one and one in sequence — and when a
    single network runs the frames side by side, one batch more than the cores is in the networks at once
    (:class:`vst.parallel.InFlight`). An exception in any stage (or raised by ``progress``, as the app cancels a job)
    is raised here as it is, after every thread has stopped its work, and no output is left behind.
    """
    files = _checked_outputs(source, targets, batch_size, measure_flicker)
    unknown = sorted(set(smoothing or {}) - set(targets))
    if unknown:
        raise VSTError(f"smoothing names {', '.join(unknown)}, not among the targets ({', '.join(targets)})")
    smoothers = {name: FlowSmoother(options) for name, options in (smoothing or {}).items()}
    smoothing_seconds = 0.0
    start = time.perf_counter()
    if measure_flicker and meter is None:
        meter = WarpingErrorMeter()
    elif not measure_flicker:
        meter = None
    stylize = _StylizeStage(targets, meter)
    with contextlib.ExitStack() as stack:
        reader = stack.enter_context(VideoReader(source, max_side=max_side))
        total = reader.info.num_frames
        check_frame_size(source, reader.info.width, reader.info.height, max_side)
        temp_paths = {name: stack.enter_context(atomic_output(out, overwrite=overwrite)) for name, out in files.items()}
        writers = {
            name: stack.enter_context(VideoWriter(temp_paths[name], reader.width, reader.height,
                                                  time_base=reader.time_base, frame_rate=reader.frame_rate,
                                                  audio_from=source, metadata=metadata))
            for name in files
        }
        # Never hold more frames than one forward pass takes: at 720p (full resolution) a single frame. Overlapped,
        # frames that run side by side are kept in flight, one batch more than the cores, each batch on one core.
        width, height = reader.width, reader.height
        pass_frames = min(s.frames_per_pass(width, height) for s in stylize.stylizers.values())
        batches = reader.batches(min(batch_size, pass_frames))
        denoising = DenoisedBatches(batches, denoise) if denoise is not None else None
        # Entered after the writers: its threads have stopped before the writers close (or are aborted).
        stages: Stages[FrameBatch, tuple[dict[str, np.ndarray], list[int | None]]] = stack.enter_context(
            Stages(denoising or batches, lambda item: _write_batch(writers, *item), overlap=overlap,
                   names=("vst-decode", "vst-encode")))
        in_flight = stack.enter_context(InFlight(stylize, stylize.batches_in_flight(width, height) if overlap else 1))
        done = 0

        def hand_on(batch: FrameBatch, stylized: dict[str, np.ndarray]) -> None:
            nonlocal done, smoothing_seconds
            if smoothers:  # in frame order: each smoother holds the previous frame
                started = time.perf_counter()
                stylized = stylized | {name: s.run(batch.images, stylized[name]) for name, s in smoothers.items()}
                smoothing_seconds += time.perf_counter() - started
            if writers:
                stages.put((stylized, batch.pts))
            stylize.measure(batch, stylized)
            done += len(batch)
            if progress is not None:
                progress(done, total)

        for batch, stylized in in_flight.map(stages.items()):
            hand_on(batch, stylized)
        stages.finish()
        if done == 0:
            raise VSTError(f"{source} has no decodable video frames")
        closing = time.perf_counter()
        for writer in writers.values():
            writer.close()  # finalize before the atomic rename that leaving the stack performs
        encode_seconds = stages.consume_seconds + time.perf_counter() - closing
    return RenderResult(
        outputs={name: Path(out) for name, out in files.items()},
        frames=done,
        seconds=time.perf_counter() - start,
        width=reader.width,
        height=reader.height,
        warping_errors=dict(meter.errors) if meter is not None else {},
        network_seconds=stylize.network_seconds,
        stage_seconds={"decode": stages.produce_seconds - (denoising.seconds if denoising else 0.0),
                       "network": sum(stylize.network_seconds.values()),
                       "flicker": stylize.flicker_seconds, "encode": encode_seconds,
                       **({"smoothing": smoothing_seconds} if smoothers else {}),
                       **({"denoise": denoising.seconds} if denoising else {})},
    )


def _checked_outputs(source: str | os.PathLike[str], targets: Targets, batch_size: int,
                     measure_flicker: bool) -> dict[str, str | os.PathLike[str]]:
    """The output path of each target that has one, checked (``.mp4``, not the input); :class:`VSTError` otherwise."""
    if batch_size < 1:
        raise VSTError(f"the batch size must be at least 1, not {batch_size}")
    files = {name: out for name, (_, out) in targets.items() if out is not None}
    if not files and not measure_flicker:
        raise VSTError("nothing to do: no output path and no flicker measurement")
    for out in files.values():
        if Path(out).suffix.lower() != ".mp4":
            raise VSTError(f"output {out} must end in .mp4 (the output is always an H.264 MP4)")
        if Path(out).resolve() == Path(source).resolve():
            raise VSTError(f"output {out} is the input file; choose another output path")
    return files


class _StylizeStage:
    """The networks' stage of :func:`render_video`: every target's network on a batch (in the caller's thread, or
    on the pool's threads when frames run side by side), then the flicker meter (in the caller's thread, in order);
    keeps the seconds each took."""

    def __init__(self, targets: Mapping[str, tuple[Stylizer, object]], meter: WarpingErrorMeter | None) -> None:
        self.stylizers = {name: stylizer for name, (stylizer, _) in targets.items()}
        self.meter = meter
        self.network_seconds = dict.fromkeys(targets, 0.0)
        self.flicker_seconds = 0.0
        self._lock = threading.Lock()  # batches in flight add their seconds from the pool's threads

    def batches_in_flight(self, width: int, height: int) -> int:
        """One more batch than the cores when a single network runs ``width``×``height`` frames side by side (one
        batch per pool thread, one waiting), else one. Two networks (the app's temporal model and its baseline) run
        one batch at a time: in flight, the app's job on 640×360 frames peaked at 1023 MB against 955 and was no
        faster (12 s either way, ``benchmarks/memory.py --app``)."""
        if len(self.stylizers) != 1:
            return 1
        [stylizer] = self.stylizers.values()
        side_by_side = stylizer.frames_at_once(width, height)
        return side_by_side + 1 if side_by_side > 1 else 1

    def __call__(self, batch: FrameBatch) -> dict[str, np.ndarray]:
        """Output name → its stylized frames, ``(N, H, W, 3)`` uint8 RGB like ``batch.images``."""
        stylized = {}
        for name, stylizer in self.stylizers.items():
            started = time.perf_counter()
            stylized[name] = (stylizer(batch.images) if batch.denoised is None
                              else stylizer(batch.denoised, detail=batch.images))
            with self._lock:
                self.network_seconds[name] += time.perf_counter() - started
        return stylized

    def measure(self, batch: FrameBatch, stylized: Mapping[str, np.ndarray]) -> None:
        """Feed the batch's input and output frames, one by one, to the flicker meter (if any)."""
        if self.meter is None:
            return
        started = time.perf_counter()
        for i, image in enumerate(batch.images):
            self.meter.update(image, {name: frames[i] for name, frames in stylized.items()})
        self.flicker_seconds += time.perf_counter() - started


def _write_batch(writers: Mapping[str, VideoWriter], stylized: Mapping[str, np.ndarray],
                 pts: Sequence[int | None]) -> None:
    """Encode one batch into every output (the encode thread's work; PyAV releases the GIL while encoding)."""
    for name, writer in writers.items():
        writer.write_batch(stylized[name], pts)


def stylize_video(
    source: str | os.PathLike[str],
    output: str | os.PathLike[str],
    *,
    style: str | StyleNet | StylePicture = "starry-night",
    variant: str = Variant.TEMPORAL,
    strength: float = 1.0,
    max_side: int | None = DEFAULT_MAX_SIDE,
    device: str | None = None,
    batch_size: int = 4,
    overwrite: bool = False,
    measure_flicker: bool = False,
    progress: ProgressCallback | None = None,
    compile: bool = False,
    scale: float = 1.0,
    smoothing: SmoothingOptions | None = None,
    denoise: DenoiseOptions | None = None,
) -> RenderResult:
    """Stylize one video: ``style`` is a catalog slug, a checkpoint folder, a :class:`StyleNet` or a style picture
    (:func:`vst.style_picture.open_style_picture`, rendered by :func:`vst.any_painting.network_for_picture` at
    ``strength`` in [0, 1]); ``compile`` and ``scale`` (the network at that fraction of each side, guided upsampling
back): see :class:`Stylizer`. Frames are downscaled to ``max_side``
    (:data:`DEFAULT_MAX_SIDE` unless given; ``None``: never). The output of a picture's network records the picture
    in its metadata (:func:`vst.any_painting.output_metadata`). ``smoothing``: flow-guided smoothing of the output
    (:mod:`vst.smoothing`; ``None``: the network's frames as they are). ``denoise``: the network sees the frames
    denoised along the optical flow (:mod:`vst.denoise`; ``None``: as decoded).

    >>> stylize_video("clip.mp4", "out.mp4", style="starry-night")  # doctest: +SKIP
    >>> picture = open_style_picture("painting.jpg")  # doctest: +SKIP
    >>> stylize_video("clip.mp4", "out.mp4", style=picture, variant="framewise", strength=0.8)  # doctest: +SKIP
    """
    torch_device = select_device(device)
    if isinstance(style, StylePicture):
        content = content_frame(source) if check_strength(strength) < 1.0 else None
        model: StyleNet = network_for_picture(style, strength=strength, variant=variant, content=content)
    elif strength != 1.0:
        raise VSTError("a strength applies to a style picture only, not to a style's network")
    else:
        model = style if isinstance(style, StyleNet) else load_model(style, variant)
    return render_video(
        source,
        {variant: (Stylizer(model, torch_device, compile=compile, scale=scale), output)},
        max_side=max_side,
        batch_size=batch_size,
        overwrite=overwrite,
        measure_flicker=measure_flicker,
        progress=progress,
        metadata=output_metadata(model),
        smoothing={variant: smoothing} if smoothing is not None else None,
        denoise=denoise,
    )

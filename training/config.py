"""Every knob of a training run, in one place. Each field is a ``python -m training train`` flag and is recorded in the
exported checkpoint's ``config.json`` (``training_config``)."""

from __future__ import annotations

import argparse
import dataclasses
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from vst.style_folder import Variant

STYLE_LAYERS = ("relu1_2", "relu2_2", "relu3_3", "relu4_3")


@dataclass
class TrainConfig:
    # what
    style_image: Path = Path("style.jpg")  # the painting
    name: str = "style"  # run name: runs/<name>/
    framewise: bool = False  # True: the baseline, trained without the temporal term
    # where
    data_dir: Path = Path("data")  # built by `python -m training prepare`
    runs_dir: Path = Path("runs")
    init_from: Path | None = None  # start from this checkpoint folder (e.g. a shared framewise warm-up)
    keep_residual_blocks: int = 0  # > 0: keep only the first N residual blocks of init_from (a lighter network)
    # network: "johnson" (StyleNet: channels of the full-, half-, quarter-resolution stages), "magenta" (the teacher's
    # transform network, vst.model.MagentaStyleNet: channels 8 16 32, 5 residual blocks) or "fast" (FastStyleNet: two
    # channel counts, half and quarter resolution; outer_kernel unused)
    architecture: str = "johnson"
    channels: tuple[int, ...] = (16, 32, 64)
    num_residual_blocks: int = 3
    outer_kernel: int = 9
    # "johnson" only: blur before the stride-2 convolutions and upsample bilinearly (vst.model's ``antialias``); a
    # checkpoint without it may start a run with it (same parameters)
    antialias: bool = False
    # distillation: the student also matches this trained network's output (mean absolute error, both frames), and
    # with distill_feature_weight its VGG features at distill_layers (relative squared error, like the content term):
    # the teacher's texture, which the pixel error alone blurs away. ``python -m training teacher`` writes Magenta's
    # network for a painting as such a checkpoint.
    teacher: Path | None = None
    distill_weight: float = 0.0
    distill_feature_weight: float = 0.0
    # ... and the Gram matrices of those features (texture statistics, wherever the strokes lie: room for the temporal
    # term to move them, and the teacher's contrast kept), each relative to the teacher's Gram energy
    distill_gram_weight: float = 0.0
    distill_layers: tuple[str, ...] = ("relu1_2", "relu2_2", "relu3_3")
    # data
    crop: int = 192  # training crop (pixels, square)
    batch_size: int = 2  # frame pairs per step (so 2 × batch_size images go through the network)
    style_size: int = 384  # the painting is resized so its long side is this
    # > 0: the network sees each training image with Gaussian noise of a standard deviation drawn uniformly from
    # [0, input_noise] (images in [0, 1]; the two frames of a pair apart), while every target comes from the clean
    # frames: it learns to paint through sensor noise and coding artefacts rather than pass them on as flicker
    input_noise: float = 0.0
    # optimisation
    steps: int = 1500
    lr: float = 2e-3
    lr_min_ratio: float = 0.1  # cosine decay down to lr × this
    seed: int = 0
    # loss weights. Content and style errors are relative (divided by the target's energy, so ~1 means "nothing
    # matched"); TV and temporal are mean squared differences of images in [0, 1].
    content_weight: float = 4.0
    content_layer: str = "relu3_3"
    style_weight: float = 10.0
    style_layers: tuple[str, ...] = STYLE_LAYERS
    tv_weight: float = 2.0
    temporal_weight: float = 300.0  # ignored (0) when framewise
    # > 0: the temporal weight (starting at temporal_weight) adapts every temporal_adapt_every steps so that the
    # student flickers this many times as much as its --teacher on a probe of training pairs (training/flicker_target.py)
    temporal_target: float = 0.0
    temporal_adapt_every: int = 25
    luminance_weight: float = 0.0  # ReCoNet's luminance-corrected output term (0 = off)
    # bookkeeping
    log_every: int = 10
    checkpoint_every: int = 100
    device: str = "auto"
    amp: bool = True  # mixed precision on CUDA (ignored on CPU)
    num_workers: int = 0

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    @property
    def effective_temporal_weight(self) -> float:
        return 0.0 if self.framewise else self.temporal_weight

    def to_json(self) -> dict[str, Any]:
        """JSON-ready dict (paths as strings, tuples as lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = str(value) if isinstance(value, Path) else list(value) if isinstance(value, tuple) else value
        return out


def add_arguments(parser: argparse.ArgumentParser, defaults: TrainConfig | None = None) -> None:
    """Add one ``--flag`` per :class:`TrainConfig` field to an argparse parser (tuples take several values).

    ``defaults`` replaces the dataclass defaults (e.g. the distillation recipe)."""
    for f in dataclasses.fields(TrainConfig):
        flag = "--" + f.name.replace("_", "-")
        default = getattr(defaults, f.name) if defaults is not None else f.default
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=f"(default: {default})")
        elif isinstance(default, tuple):
            kind = type(default[0])
            parser.add_argument(flag, type=kind, nargs="+", default=default, help=f"(default: {' '.join(map(str, default))})")
        elif default is None or isinstance(default, Path):
            parser.add_argument(flag, type=Path, default=default, help=f"(default: {default})")
        else:
            parser.add_argument(flag, type=type(default), default=default, help=f"(default: {default})")


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)}
    for key, value in values.items():
        if isinstance(value, list):
            values[key] = tuple(value)
    return TrainConfig(**values)



#: ``python -m training distill``'s defaults: the real-time network learns the trained temporal model's output (no
#: VGG in the loop, so a step costs a fraction of a full training step) and keeps the temporal term.
DISTILL_DEFAULTS = TrainConfig(
    architecture="fast", channels=(16, 32), num_residual_blocks=4, content_weight=0.0, style_weight=0.0,
    tv_weight=0.0, distill_weight=10.0, crop=192, batch_size=4, steps=600,
)


#: ``python -m training bundle --teacher magenta``: the full-size networks start as the teacher (Magenta's transform
#: network with the painting's style vector, ``python -m training teacher``) and are fine-tuned to keep its rendering —
#: its pixels (mean absolute error) and its VGG features (the texture) — while the temporal term steadies it. The
#: teacher's weights are small (8-bit quantized, steps of about 3e-4), so the learning rate is far below a training
#: from scratch: at 5e-4 the student left the teacher's look within ten steps. The temporal weight is fixed. A flicker
#: ceiling (``--temporal-target 0.3``, :mod:`training.flicker_target`: the weight rises while the student flickers
#: more than 0.3× its teacher on a probe of training pairs) makes steadier, softer students; with the frame's own
#: detail added after training (:mod:`vst.detail`) The Scream's (0.29× its teacher) won 12 of 12 blind trials against
#: the teacher and tied 6 of 12 with the fixed-weight student, but Udnie's (0.24×) lost 11 of 12 to both ("softer and
#: washed out"), so it stays an option.
TEACHER_STUDENT_DEFAULTS = TrainConfig(
    architecture="magenta", channels=(8, 16, 32), num_residual_blocks=5, content_weight=0.0, style_weight=0.0,
    tv_weight=0.0, distill_weight=10.0, distill_feature_weight=2.0, temporal_weight=350.0, crop=192, batch_size=2,
    lr=3e-5, steps=200,
)


#: The lighter any-painting variant's recipe (``python -m training any-painting --from … --blocks 2``): as the
#: per-painting light networks (:data:`training.teacher_bundle.LIGHT_RECIPE`) a higher learning rate, and a lighter
#: temporal term and heavier VGG features than theirs: over many paintings a short network keeps less of the strokes
#: (at temporal 100 and features 2 a one-block network flickered 0.04-0.09x the teacher and looked like a tinted photo;
#: at 20 and 5 with two blocks, 0.12-0.18x, with some of the strokes back).
LIGHT_ANY_PAINTING: dict[str, float] = {"lr": 1e-4, "temporal_weight": 20.0, "distill_feature_weight": 5.0}


@dataclass
class AnyPaintingConfig:
    """``python -m training any-painting``: the any-painting network's run (:mod:`training.any_painting`)."""

    name: str = "any-painting"  # run name: runs/<name>/
    data_dir: Path = Path("data")  # built by `python -m training prepare` (pairs, and the photos in raw/photos)
    runs_dir: Path = Path("runs")
    paintings: tuple[Path, ...] = ()  # paintings in the style bank, beside the photos
    holdout: tuple[str, ...] = ()  # file stems kept out of the bank even when listed (the benchmark's paintings)
    mix: float = 0.5  # probability that a pair's style is a blend of two bank vectors
    variant: str = Variant.TEMPORAL  # the any-painting variant it becomes (its folder in vst/checkpoints/any-painting/)
    # None: start from the teacher and learn it; a trained any-painting folder: start from it, shortened to
    # residual_blocks, and learn its rendering (the lighter variant, as the per-painting fast and live networks)
    start_from: Path | None = None
    residual_blocks: int = 5
    # the per-painting student's recipe (training.config.TEACHER_STUDENT_DEFAULTS)
    distill_weight: float = 10.0
    distill_feature_weight: float = 2.0
    temporal_weight: float = 350.0
    crop: int = 192
    batch_size: int = 2
    steps: int = 300  # the bundled network's run (7.6 min on 2 cores)
    lr: float = 3e-5
    lr_min_ratio: float = 0.1
    seed: int = 0
    log_every: int = 10
    checkpoint_every: int = 50

    @property
    def run_dir(self) -> Path:
        return self.runs_dir / self.name

    def criterion_config(self) -> TrainConfig:
        """The loss weights as the per-painting :class:`~training.train.Criterion` takes them."""
        return TrainConfig(content_weight=0.0, style_weight=0.0, tv_weight=0.0, distill_weight=self.distill_weight,
                           distill_feature_weight=self.distill_feature_weight, temporal_weight=self.temporal_weight)

    def to_json(self) -> dict[str, object]:
        return {k: [str(p) for p in v] if isinstance(v, tuple) else str(v) if isinstance(v, Path) else v
                for k, v in asdict(self).items()}

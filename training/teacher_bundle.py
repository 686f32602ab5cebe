"""``python -m training bundle --teacher magenta``: all five networks of a painting from the teacher, on a CPU.

The look comes from the teacher — Magenta's arbitrary-style network (:mod:`vst.teacher`) with the painting's style
vector — and the steadiness from our temporal term:

1. **teacher**: the ported transform network with the painting's style vector folded in (seconds), as a checkpoint;
2. **temporal**: that same network (:class:`vst.model.MagentaStyleNet`), fine-tuned on frame pairs with the teacher's
   pixels and VGG features as targets and the temporal term (:data:`training.config.TEACHER_STUDENT_DEFAULTS`);
3. **framewise**, the fair baseline: the same recipe without the temporal term. Every term left is a distance to the
   teacher it starts from, so it starts at its minimum (zero loss, zero gradient) and training would not move it: it
   is the teacher, saved with its 0 steps on record;
4. **fast**: the real-time network distilled from the temporal model — its pixels with the temporal term
   (:data:`FAST_PHASES`' first phase), then its VGG features too (second phase), which bring back the texture that a
   pixel loss alone blurs;
5. **fast-framewise**: the fast network's twin, the same two phases from the framewise model without the temporal term;
6. **live**: the Live tab's in-browser network, the same two phases from the fast network.

Then the style folder is exported (metrics on the held-out clips, card, preview) and each network's wall time is
printed and written to ``runs/<slug>-times.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from vst.catalog import FAST_FRAMEWISE_VARIANT, FAST_VARIANT, LIVE_VARIANT, Style
from vst.model import LIVE_CONFIG, load_network
from vst.onnx_export import export_checkpoint
from vst.teacher import teacher_for_painting

from .config import DISTILL_DEFAULTS, TEACHER_STUDENT_DEFAULTS, TrainConfig
from .export import add_live_network, export_style, install_checkpoint
from .train import FINAL, train

#: The value of ``--teacher`` that names Magenta's network rather than a checkpoint folder.
MAGENTA = "magenta"
#: The distilled networks' two phases: overrides of :data:`training.config.DISTILL_DEFAULTS` (crops as ``--crop``).
FAST_PHASES: tuple[dict[str, object], ...] = (
    {"distill_weight": 10.0, "temporal_weight": 300.0, "batch_size": 4, "lr": 2e-3},
    {"distill_weight": 10.0, "distill_feature_weight": 2.0, "temporal_weight": 300.0, "batch_size": 2, "lr": 5e-4},
)
#: Steps of each phase (``--fast-steps``).
FAST_STEPS = (300, 150)


def with_recipe(cfg: TrainConfig, recipe: TrainConfig) -> TrainConfig:
    """``cfg`` with every field still at :class:`TrainConfig`'s default replaced by ``recipe``'s (flags given on the
    command line keep their values; one given at exactly the default value takes the recipe's)."""
    defaults = TrainConfig()
    changes = {f.name: getattr(recipe, f.name) for f in dataclasses.fields(TrainConfig)
               if getattr(cfg, f.name) == getattr(defaults, f.name)}
    return dataclasses.replace(cfg, **changes)


def write_teacher(style_image: Path, out: Path) -> Path:
    """The teacher for ``style_image`` (:func:`vst.teacher.teacher_for_painting`) saved as a checkpoint folder."""
    net = teacher_for_painting(style_image)
    net.training_config = dict(net.training_config) | {"style_image": str(style_image)}
    net.save_pretrained(out)
    return out


def framewise_from_teacher(teacher: Path, student: TrainConfig, out: Path) -> Path:
    """The fair baseline: the teacher, recorded as ``student``'s recipe without the temporal term, trained 0 steps."""
    net = load_network(teacher)
    record = dataclasses.replace(student, framewise=True, name=out.parent.name, steps=0)
    net.training_config = record.to_json() | {"step": 0, "teacher_record": net.training_config,
                                              "note": "the recipe without the temporal term is at its minimum at the "
                                                      "teacher it starts from: 0 steps"}
    net.save_pretrained(out)
    return out


def distil(base: TrainConfig, name: str, teacher: Path, *, framewise: bool, live: bool = False,
           steps: tuple[int, ...] = FAST_STEPS) -> Path:
    """A real-time network (:class:`vst.model.FastStyleNet`; with ``live`` the Live tab's size) distilled from
    ``teacher`` in :data:`FAST_PHASES`; returns the last phase's checkpoint folder."""
    cfg = dataclasses.replace(DISTILL_DEFAULTS, data_dir=base.data_dir, runs_dir=base.runs_dir,
                              style_image=base.style_image, device=base.device, seed=base.seed, teacher=teacher,
                              framewise=framewise, crop=base.crop, log_every=base.log_every)
    if live:
        cfg = dataclasses.replace(cfg, channels=tuple(LIVE_CONFIG["channels"]),  # type: ignore[arg-type]
                                  num_residual_blocks=int(LIVE_CONFIG["num_residual_blocks"]))  # type: ignore[call-overload]
    model: Path | None = None
    for phase, (phase_steps, overrides) in enumerate(zip(steps, FAST_PHASES, strict=True), start=1):
        cfg = dataclasses.replace(cfg, name=f"{name}-{phase}", steps=phase_steps, init_from=model,
                                  **overrides)  # type: ignore[arg-type]
        model = train(cfg)
    assert model is not None
    return model


def bundle_from_teacher(base: TrainConfig, slug: str, style: Style, out: Path, clips: list[Path], *,
                        fast_steps: tuple[int, ...] = FAST_STEPS) -> dict[str, float]:
    """Train and export the five networks of ``base.style_image`` into ``out`` (see the module docstring); returns
    the wall time of each step in seconds."""
    times: dict[str, float] = {}
    started = time.perf_counter()

    def lap(what: str) -> None:
        nonlocal started
        now = time.perf_counter()
        times[what] = round(now - started, 1)
        started = now
        print(f"{slug}: {what} done in {times[what] / 60:.1f} min", flush=True)

    teacher = write_teacher(base.style_image, base.runs_dir / f"{slug}-teacher")
    lap("teacher")
    student = dataclasses.replace(with_recipe(base, TEACHER_STUDENT_DEFAULTS), teacher=teacher, init_from=teacher,
                                  name=f"{slug}-temporal", framewise=False)
    temporal = train(student)
    lap("temporal")
    framewise = framewise_from_teacher(teacher, student, base.runs_dir / f"{slug}-framewise" / FINAL)
    lap("framewise")
    fast = distil(base, f"{slug}-{FAST_VARIANT}", temporal, framewise=False, steps=fast_steps)
    lap(FAST_VARIANT)
    twin = distil(base, f"{slug}-{FAST_FRAMEWISE_VARIANT}", framewise, framewise=True, steps=fast_steps)
    lap(FAST_FRAMEWISE_VARIANT)
    live = distil(base, f"{slug}-{LIVE_VARIANT}", fast, framewise=False, live=True, steps=fast_steps)
    lap(LIVE_VARIANT)
    export_style(style, temporal, framewise, base.style_image, out, clips, fast=fast)
    install_checkpoint(twin, out / FAST_FRAMEWISE_VARIANT)
    export_checkpoint(install_checkpoint(live, out / LIVE_VARIANT))
    add_live_network(out, out / LIVE_VARIANT, base.style_image, clips)
    lap("export")
    times["total"] = round(sum(times.values()), 1)
    (base.runs_dir / f"{slug}-times.json").write_text(json.dumps(times, indent=2))
    return times

"""``python -m training bundle --teacher magenta``: all five networks of a painting from the teacher, on a CPU.

The look comes from the teacher — Magenta's arbitrary-style network (:mod:`vst.teacher`) with the painting's style
vector — and the steadiness from our temporal term:

1. **teacher**: the ported transform network with the painting's style vector folded in (seconds), as a checkpoint;
2. **temporal**: that same network (:class:`vst.model.MagentaStyleNet`), fine-tuned on frame pairs with the teacher's
   pixels and VGG features as targets and the temporal term (:data:`training.config.TEACHER_STUDENT_DEFAULTS`);
3. **framewise**, the fair baseline: the same recipe without the temporal term. Every term left is a distance to the
   teacher it starts from, so it starts at its minimum (zero loss, zero gradient) and training would not move it: it
   is the teacher, saved with its 0 steps on record;
4. **fast**: the real-time network — the teacher's network with only its first two residual blocks
   (:data:`LIGHT_BLOCKS`), fine-tuned to render like the teacher with the student's recipe plus the Gram matrices of
   the teacher's features (:data:`FAST_RECIPE`);
5. **fast-framewise**: the fast network's twin, the same without the temporal term;
6. **live**: the Live tab's in-browser network, the same recipe with the fast network as its teacher and one
   residual block;
7. **detail**: temporal, fast and its twin get the frame's own fine detail back (:mod:`vst.detail`), as much as
   brings each one's fine detail to the teacher's on training frames (:mod:`training.detail_calibration`).

Then the style folder is exported (metrics on the held-out clips, card, preview) and each network's wall time is
printed and written to ``runs/<slug>-times.json``.
"""

from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path

from vst.catalog import Style, Variant
from vst.checkpoint_check import load_network
from vst.onnx_export import export_checkpoint
from vst.teacher import teacher_for_painting

from .config import TEACHER_STUDENT_DEFAULTS, TrainConfig
from .detail_calibration import calibrate_networks
from .export import add_live_network, export_style, install_checkpoint
from .train import FINAL, train

#: The value of ``--teacher`` that names Magenta's network rather than a checkpoint folder.
MAGENTA = "magenta"
#: Residual blocks of the lighter networks: the student's own architecture, shortened. A network started from the
#: one it learns, with only its first blocks kept, still renders the teacher's strokes and needs only a short
#: fine-tuning; a :class:`vst.model.FastStyleNet` distilled from scratch in the same time learnt a blurred photo in
#: the teacher's palette (its stride-2 first layer and pixel-shuffle output never picked up the strokes).
LIGHT_BLOCKS = {Variant.FAST: 2, Variant.FAST_FRAMEWISE: 2, Variant.LIVE: 1}
#: Their recipe: the student's, but a higher learning rate (the shortened network has more to recover) and a lighter
#: temporal term (at the student's 350 a 2-block network lost the strokes and the contrast while flickering a tenth as
#: much as the teacher, far under its bar).
LIGHT_RECIPE: dict[str, object] = {"lr": 1e-4, "temporal_weight": 100.0, "temporal_target": 0.0}  # a fixed weight
#: The fast network and its twin: the light recipe, learnt from the teacher itself, with the Gram matrices of the
#: teacher's VGG features as a target too. Distilled from the temporal model with pixels and features alone, a 2-block
#: network painted the average of the teacher's colours (a brown: Composition VII's blues and reds, The Scream's teals
#: gone; 8 of 40 blind trials against the teacher, session 24); the Gram term asks for the colours and strokes wherever
#: they lie, which a short network can give (session 25, docs/quality.md). The Gram term brings flicker back with the
#: colours: at temporal weight 100 The Great Wave's flickered 0.52× the teacher and The Scream's 0.45× (bar 0.45), at
#: 200 0.43× and 0.39×; Composition VII's, Udnie's and The Starry Night's were 0.38–0.44× at 100.
#: The live network learns the fast network the same way (session 26): with pixels and features alone (the light
#: recipe) it painted a sepia blur, with the Gram term it keeps the fast network's colours and strokes (66 of 72 blind
#: trials against the one before) and, with one residual block, flickers 0.15–0.24× the teacher (bar 0.55).
FAST_RECIPE: dict[str, object] = {**LIGHT_RECIPE, "distill_gram_weight": 5.0, "temporal_weight": 200.0}
#: Steps of each lighter network (``--fast-steps``).
FAST_STEPS = 150


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


def distil(student: TrainConfig, name: str, teacher: Path, blocks: int, *, framewise: bool,
           steps: int = FAST_STEPS, recipe: dict[str, object] = FAST_RECIPE) -> Path:
    """A lighter network: ``teacher`` (a trained checkpoint of the student's architecture) with only its first
    ``blocks`` residual blocks, fine-tuned to render like it with ``student``'s recipe changed by ``recipe`` (without
    the temporal term when ``framewise``); returns the run's checkpoint folder."""
    cfg = dataclasses.replace(student, name=name, teacher=teacher, init_from=teacher, num_residual_blocks=blocks,
                              keep_residual_blocks=blocks, framewise=framewise, steps=steps,
                              **recipe)  # type: ignore[arg-type]
    return train(cfg)


def bundle_from_teacher(base: TrainConfig, slug: str, style: Style, out: Path, clips: list[Path], *,
                        fast_steps: int = FAST_STEPS) -> dict[str, float]:
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
                                  name=f"{slug}-{Variant.TEMPORAL}", framewise=False)
    temporal = train(student)
    lap(Variant.TEMPORAL)
    framewise = framewise_from_teacher(teacher, student, base.runs_dir / f"{slug}-{Variant.FRAMEWISE}" / FINAL)
    lap(Variant.FRAMEWISE)
    fast = distil(student, f"{slug}-{Variant.FAST}", teacher, LIGHT_BLOCKS[Variant.FAST], framewise=False,
                  steps=fast_steps)
    lap(Variant.FAST)
    twin = distil(student, f"{slug}-{Variant.FAST_FRAMEWISE}", teacher, LIGHT_BLOCKS[Variant.FAST_FRAMEWISE],
                  framewise=True, steps=fast_steps)
    lap(Variant.FAST_FRAMEWISE)
    live = distil(student, f"{slug}-{Variant.LIVE}", fast, LIGHT_BLOCKS[Variant.LIVE], framewise=False,
                  steps=fast_steps)
    lap(Variant.LIVE)
    detail = calibrate_networks({Variant.TEMPORAL: temporal, Variant.FAST: fast, Variant.FAST_FRAMEWISE: twin},
                                teacher, base.data_dir)
    print(f"{slug}: frame detail " + ", ".join(f"{k} {v:g}" for k, v in detail.items()), flush=True)
    lap("detail")
    export_style(style, temporal, framewise, base.style_image, out, clips, fast=fast)
    install_checkpoint(twin, out / Variant.FAST_FRAMEWISE)
    export_checkpoint(install_checkpoint(live, out / Variant.LIVE))
    add_live_network(out, out / Variant.LIVE, base.style_image, clips)
    lap("export")
    times["total"] = round(sum(times.values()), 1)
    (base.runs_dir / f"{slug}-times.json").write_text(json.dumps(times, indent=2))
    return times

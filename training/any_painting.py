"""``python -m training any-painting``: one network for any painting, steady on video.

The teacher's transform network (:class:`vst.teacher.MagentaTransform`: a trunk whose 13 instance norms take their
scale and offset from a 100-number style vector) is fine-tuned as a whole — trunk and style heads — on our frame
pairs, over many style vectors at once:

    distill · |S(x, v) − T(x, v)|₁  +  feature · Σ_l ‖φ_l(S(x, v)) − φ_l(T(x, v))‖² / ‖φ_l(T(x, v))‖²
    + temporal · Σ c · (S(x_{t+1}, v) − warp(S(x_t, v), flow))² / Σ c

with ``T`` the frozen teacher, ``φ`` VGG16 features and ``c`` Ruder et al.'s consistency weights — the per-painting
recipe of :mod:`training.teacher_bundle`, with the painting drawn afresh for every pair: the style vector of a
picture from the bank (registry photos and wallpapers, and the paintings named in ``--paintings``) or, with
probability ``mix``, a random blend of two of them, so the network meets vectors it will see only as visitors'
paintings. The paintings of ``--holdout`` never enter the bank: the benchmark judges the network on them.

The lighter variant (``--from vst/checkpoints/any-painting/temporal --blocks 2 --variant live --steps 500``) is made the way the
per-painting fast and live networks are (:mod:`training.teacher_bundle`): the trained network, shortened to its first
residual blocks (:meth:`~vst.teacher.MagentaTransform.shortened`), is fine-tuned with the same loss to render like the
whole one, which is then ``T``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from PIL import Image
from safetensors.torch import load_file, save_file
from torch import nn
from torch.utils.data import DataLoader, RandomSampler
from tqdm import tqdm

from vst.conditional import load_conditional
from vst.model import with_inference
from vst.style_folder import WEIGHTS_FILE, Variant
from vst.teacher import MagentaTransform, StylePredictor, load_teacher, norm_layers

from .any_painting_teacher import card_front_matter
from .config import AnyPaintingConfig
from .data import FramePairDataset
from .plots import plot_losses
from .train import (
    Criterion,
    infinite_batches,
    load_optimizer_state,
    lr_factor,
    optimizer_tensors,
    swap_in,
    truncate_log,
)

log = logging.getLogger(__name__)

PICTURE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp")


# ----------------------------------------------------------------------------------------------- the style bank


def bank_pictures(cfg: AnyPaintingConfig) -> list[Path]:
    """Every picture of the bank: the registry photos under ``data_dir/raw/photos`` and ``cfg.paintings``, less the
    held-out stems; sorted, so the bank is the same on every machine."""
    photos = sorted(p for p in (cfg.data_dir / "raw" / "photos").rglob("*") if p.suffix.lower() in PICTURE_SUFFIXES)
    pictures = [*photos, *cfg.paintings]
    kept = [p for p in pictures if p.stem not in cfg.holdout]
    if not kept:
        raise ValueError(f"the style bank is empty: no pictures under {cfg.data_dir / 'raw' / 'photos'} (run "
                         "`python -m training prepare`) and no --paintings")
    return kept


def style_bank(pictures: Sequence[Path], cache: Path) -> torch.Tensor:
    """The style vectors of ``pictures``, ``(N, 100)`` float32, computed once (the style predictor, a few ms each)
    and cached in ``cache`` (safetensors, keyed by path)."""
    known = load_file(cache) if cache.is_file() else {}
    missing = [p for p in pictures if str(p) not in known]
    if missing:
        predictor = StylePredictor()
        for path in tqdm(missing, desc="style vectors", unit="picture"):
            with Image.open(path) as image:
                known[str(path)] = predictor(image)
        cache.parent.mkdir(parents=True, exist_ok=True)
        save_file({k: v.contiguous() for k, v in known.items()}, cache)
    return torch.stack([known[str(p)] for p in pictures])


def sample_styles(bank: torch.Tensor, count: int, mix: float, generator: torch.Generator) -> torch.Tensor:
    """``count`` style vectors ``(count, 100)``: bank rows, each replaced with probability ``mix`` by a blend
    ``a + t·(b − a)`` of two rows with ``t`` uniform in [0, 1]."""
    a = bank[torch.randint(len(bank), (count,), generator=generator)]
    b = bank[torch.randint(len(bank), (count,), generator=generator)]
    t = torch.rand(count, 1, generator=generator) * (torch.rand(count, 1, generator=generator) < mix)
    return a + t * (b - a)


# ----------------------------------------------------------------------------------------------- the network


class _StyledNorm(nn.Module):
    """An instance norm whose per-sample scale and offset ``(B, C)`` are set by :class:`ConditionalNetwork` before
    each forward pass."""

    def __init__(self, eps: float) -> None:
        super().__init__()
        self.eps = eps
        self.params: tuple[torch.Tensor, torch.Tensor] | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        assert self.params is not None, "ConditionalNetwork sets the norm's style before the pass"
        scale, offset = self.params
        return F.instance_norm(x, eps=self.eps) * scale[:, :, None, None] + offset[:, :, None, None]


class ConditionalNetwork(nn.Module):
    """:class:`MagentaTransform` with a differentiable, per-sample style: ``forward(x, styles)``.

    Shares its parameters with ``transform`` (the trunk's norms are swapped for :class:`_StyledNorm`, which hold
    none), so training this module trains ``transform``; :meth:`MagentaTransform.fixed` then folds any vector in.
    """

    def __init__(self, transform: MagentaTransform) -> None:
        super().__init__()
        self.transform = transform
        norms = norm_layers(transform.trunk)
        self.styled = [_StyledNorm(n.eps) for n in norms]
        position = {id(n): k for k, n in enumerate(norms)}
        self._originals: list[tuple[nn.Module, str, nn.Module]] = []
        for parent in list(transform.trunk.modules()):
            for name, child in list(parent.named_children()):
                if id(child) in position:
                    self._originals.append((parent, name, child))
                    setattr(parent, name, self.styled[position[id(child)]])

    def restore(self) -> MagentaTransform:
        """Put the trunk's own norms back and return the transform (for :meth:`MagentaTransform.fixed`)."""
        for parent, name, child in self._originals:
            setattr(parent, name, child)
        return self.transform

    def forward(self, x: torch.Tensor, styles: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, 3, H, W)`` in [0, 1] (H, W multiples of 4), ``styles`` ``(B, 100)`` → ``(B, 3, H, W)`` in
        [0, 1]."""
        t = self.transform
        for norm, scale, offset in zip(self.styled, t.scale_heads, t.offset_heads, strict=True):
            norm.params = (scale(styles), offset(styles))
        try:
            return t.trunk(x)  # type: ignore[no-any-return]
        finally:
            for norm in self.styled:
                norm.params = None


# ----------------------------------------------------------------------------------------------- checkpoints


def save_run_checkpoint(folder: Path, transform: MagentaTransform, optimizer: torch.optim.Optimizer, step: int) -> None:
    """The transform's weights (as wrapped by :class:`ConditionalNetwork`: without the trunk's own norm affines, which
    the style heads replace), the Adam state and the step, written atomically as a folder."""
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    save_file({k: v.detach().contiguous() for k, v in transform.state_dict().items()}, tmp / WEIGHTS_FILE)
    save_file(optimizer_tensors(optimizer), tmp / "optimizer.safetensors")
    (tmp / "state.json").write_text(json.dumps({"step": step, "param_groups": optimizer.state_dict()["param_groups"]}))
    swap_in(tmp, folder)


def load_run_checkpoint(folder: Path, transform: MagentaTransform, optimizer: torch.optim.Optimizer) -> int:
    """Restore :func:`save_run_checkpoint`'s folder; the step to continue from."""
    transform.load_state_dict(load_file(folder / WEIGHTS_FILE))
    return load_optimizer_state(folder, optimizer)


# ----------------------------------------------------------------------------------------------- the loop


def _batches(cfg: AnyPaintingConfig, step: int) -> Iterator[dict[str, torch.Tensor]]:
    dataset = FramePairDataset(cfg.data_dir, crop=cfg.crop, flip=True)
    generator = torch.Generator().manual_seed(cfg.seed + step)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, drop_last=True,
                        sampler=RandomSampler(dataset, generator=generator))
    return infinite_batches(loader, None)


def start_networks(cfg: AnyPaintingConfig) -> tuple[MagentaTransform, MagentaTransform]:
    """The network the run learns to render like, and the one it starts from: the teacher twice, or (with
    ``cfg.start_from``) that trained network and its shortened copy (without frame detail: that is calibrated after
    training, ``python -m training detail``)."""
    if cfg.start_from is None:
        teacher = load_teacher()
        if cfg.residual_blocks != teacher.num_residual_blocks:
            raise ValueError("a lighter any-painting network starts from a trained one: give start_from")
        return teacher, load_teacher()
    whole = load_conditional(cfg.start_from)
    start = whole.shortened(cfg.residual_blocks)
    start.frame_detail = 0.0
    whole.frame_detail = 0.0
    return whole, start


def train_any_painting(cfg: AnyPaintingConfig, *, progress: bool = True,
                       on_checkpoint: Callable[[int], None] | None = None) -> MagentaTransform:
    """Fine-tune the teacher's transform network over the style bank; returns it (eval mode, CPU, its own norms).

    Resumes from ``runs/<name>/checkpoint`` when one is there; writes ``log.jsonl`` and ``losses.png`` beside it."""
    torch.manual_seed(cfg.seed)
    run_dir = cfg.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "config.json").write_text(json.dumps(cfg.to_json(), indent=2))
    bank = style_bank(bank_pictures(cfg), run_dir / "style_bank.safetensors")
    log.info("style bank: %d pictures", len(bank))

    # the textbook layers, as the student trains (the conditional norms are applied outside the layers' rewrites)
    teacher, start = start_networks(cfg)
    teacher = with_inference(ConditionalNetwork(teacher.requires_grad_(False)), rewrites=False)
    student = ConditionalNetwork(start.train())  # its state: the trunk less its norms' unused affines
    transform = student.transform
    optimizer = torch.optim.Adam(student.parameters(), lr=cfg.lr)
    checkpoint = run_dir / "checkpoint"
    step = load_run_checkpoint(checkpoint, transform, optimizer) if (checkpoint / "state.json").is_file() else 0
    if step:
        log.info("resuming %s from step %d", cfg.name, step)
        truncate_log(run_dir / "log.jsonl", step)
    criterion = Criterion(cfg.criterion_config(), teacher_per_step=True)
    batches = _batches(cfg, step)
    generator = torch.Generator().manual_seed(cfg.seed + 1 + step)

    bar = tqdm(total=cfg.steps, initial=step, unit="step", desc=cfg.name, disable=not progress)
    started = time.perf_counter()
    with (run_dir / "log.jsonl").open("a") as log_file:
        while step < cfg.steps:
            batch = next(batches)
            styles = sample_styles(bank, cfg.batch_size, cfg.mix, generator).repeat(2, 1)  # frame t's, then t+1's

            def teacher_of(frames: torch.Tensor, styles: torch.Tensor = styles) -> torch.Tensor:
                return teacher(frames, styles)  # type: ignore[no-any-return]

            for group in optimizer.param_groups:
                group["lr"] = cfg.lr * lr_factor(step, cfg)
            losses = criterion(lambda frames: student(frames, styles), batch, teacher=teacher_of)
            total = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            total.backward()  # type: ignore[union-attr]
            optimizer.step()
            step += 1
            bar.update(1)
            if step % cfg.log_every == 0 or step == cfg.steps:
                record = {"step": step, "loss": float(total.detach()), **{k: v.item() for k, v in losses.items()},
                          "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 2)}
                log_file.write(json.dumps(record) + "\n")
                log_file.flush()
                bar.set_postfix(loss=f"{record['loss']:.3g}")
            if step % cfg.checkpoint_every == 0 or step == cfg.steps:
                save_run_checkpoint(checkpoint, transform, optimizer, step)
                plot_losses(run_dir / "log.jsonl", run_dir / "losses.png", title=cfg.name)
                if on_checkpoint is not None:
                    on_checkpoint(step)
    bar.close()
    return student.restore().eval()


CARD = card_front_matter("temporal-consistency") + """
# Any painting — {variant}

{teacher}, ported to PyTorch and fine-tuned with the temporal loss of Huang et al. (CVPR 2017) over many style vectors,
so that any picture renders steadily on video. `../framewise/` is the teacher itself, its baseline.{lighter}

```bash
python -m vst stylize clip.mp4 --style-image painting.jpg [--strength 0.8]
```

| | |
| --- | --- |
| recipe | {steps} steps on {crop} px crops of our frame pairs, {batch} pairs per step, Adam {lr:g}; loss: mean absolute error to the {target} frame ×{distill:g} + VGG16 features ×{feature:g} + temporal ×{temporal:g} |
| size | {blocks} residual block(s), {parameters:,} parameters |
| style bank | {bank} pictures (registry photos and wallpapers{paintings}), each pair's style a bank vector or, with probability {mix:g}, a blend of two |
| kept out | {holdout} |
| frame detail | {detail} |
| format | `model.safetensors` (state dict of `vst.teacher.MagentaTransform`) + `config.json` (`vst.conditional`) |
| license | {license} |
"""


def detail_words(strength: float, variant: str = Variant.TEMPORAL) -> str:
    """The card's words on the network's ``frame_detail``."""
    if not strength and variant == Variant.LIVE:
        return ("none: in the browser it would cost about a quarter more time a frame (onnxruntime, 320×180), as for "
                "every style's live network")
    if not strength:
        return ("none yet (`python -m training detail --style-dir <folder> --paintings <its training paintings>` "
                "sets it)")
    return (f"{strength:g}: each painting's network adds the frame's own fine detail this strong (`vst/detail.py`; "
            f"detail within three noise levels of zero, the frame's grain, is cored away first), the median over its "
            f"training paintings of the strength that brings its fine detail to the teacher's "
            f"(`training/detail_calibration.py`)")


def export_any_painting(transform: MagentaTransform, cfg: AnyPaintingConfig, out: Path | None = None) -> Path:
    """Write the trained network as the any-painting network's ``cfg.variant`` (``vst.conditional``'s format, with its
    recipe as ``training_config`` and a model card); returns the folder."""
    from vst.catalog import ANY_PAINTING, PACKAGE_CHECKPOINT_DIR
    from vst.conditional import save_conditional
    from vst.teacher import TEACHER_LICENSE, TEACHER_NAME

    out = out or PACKAGE_CHECKPOINT_DIR / ANY_PAINTING / cfg.variant
    bank = len(bank_pictures(cfg))
    save_conditional(transform, out, **cfg.to_json(), teacher=TEACHER_NAME, bank_size=bank)
    paintings = f", and {', '.join(p.stem for p in cfg.paintings)}" if cfg.paintings else ""
    lighter = "" if cfg.start_from is None else (
        f" This lighter variant is `{cfg.start_from}` with only its first {cfg.residual_blocks} residual block(s), "
        f"fine-tuned to render like it: real time on a CPU and in the browser (the Live tab).")
    (out / "README.md").write_text(CARD.format(
        variant=cfg.variant, lighter=lighter, blocks=transform.num_residual_blocks,
        parameters=sum(t.numel() for t in transform.parameters()),
        target="teacher's" if cfg.start_from is None else "whole network's",
        teacher=TEACHER_NAME, steps=cfg.steps, crop=cfg.crop, batch=cfg.batch_size, lr=cfg.lr,
        distill=cfg.distill_weight, feature=cfg.distill_feature_weight, temporal=cfg.temporal_weight, bank=bank,
        paintings=paintings, mix=cfg.mix, holdout=", ".join(cfg.holdout) or "nothing", license=TEACHER_LICENSE,
        detail=detail_words(transform.frame_detail, cfg.variant)),
        encoding="utf-8")
    return out


__all__ = [
    "ConditionalNetwork",
    "bank_pictures",
    "export_any_painting",
    "sample_styles",
    "style_bank",
    "train_any_painting",
]

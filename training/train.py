"""The training loop: one style, consecutive frame pairs, content + style + TV (+ temporal) loss.

Per step, a batch of pairs (frame t, frame t+1) goes through the network; the loss is

    content · ‖φ(S(x)) − φ(x)‖² / ‖φ(x)‖²  +  style · Σ_l ‖G_l(S(x)) − G_l(P)‖² / ‖G_l(P)‖²  +  tv · TV(S(x))
    + temporal · Σ c · (S(x_{t+1}) − warp(S(x_t), flow_{t+1→t}))² / Σ c           (Huang et al. 2017)

with φ/G the ImageNet VGG16 features/Gram matrices and c the Ruder et al. consistency weights. ``framewise=True`` trains
the same thing with the temporal weight at 0 (the baseline). Runs on CUDA with bf16 autocast when present, else CPU;
under ``torchrun`` it trains data-parallel (DDP, nccl on GPU, gloo on CPU). Checkpoints (safetensors only, never
pickles) are written every ``checkpoint_every`` steps and a rerun with the same name resumes from the last one.
"""

from __future__ import annotations

import json
import logging
import math
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from PIL import Image
from safetensors.torch import load_file, save_file
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data import DataLoader, DistributedSampler, RandomSampler
from tqdm import tqdm

from vst.checkpoint_check import load_network
from vst.model import StyleNet, build_network
from vst.style_folder import WEIGHTS_FILE

from .config import AnyPaintingConfig, TrainConfig
from .data import FramePairDataset
from .flicker_target import FlickerTarget
from .losses import content_loss, gram_matrix, luminance_temporal_loss, style_loss, temporal_loss, total_variation
from .plots import plot_losses
from .vgg import VGG16Features, fetch_vgg16_weights

log = logging.getLogger(__name__)

CHECKPOINT = "checkpoint"  # runs/<name>/checkpoint/: model + optimizer + state, rewritten every checkpoint_every
FINAL = "model"  # runs/<name>/model/: the finished network (StyleNet.save_pretrained)
LOG_FILE = "log.jsonl"


def load_style_image(path: Path, size: int) -> torch.Tensor:
    """The painting as ``(1, 3, H, W)`` RGB in [0, 1], resized so its long side is ``size``."""
    image = Image.open(path).convert("RGB")
    scale = size / max(image.size)
    image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))), Image.BICUBIC)
    return torch.from_numpy(np.asarray(image).copy()).permute(2, 0, 1).float().div(255).unsqueeze(0)


def build_model(cfg: TrainConfig) -> StyleNet:
    """The network to train: loaded from ``init_from``, else freshly initialised from the config."""
    if cfg.antialias and cfg.architecture == "fast":
        raise ValueError("--antialias applies to the johnson and magenta architectures only")
    if cfg.init_from is not None:
        model = load_network(cfg.init_from)
        if model.architecture != cfg.architecture or model.channels != tuple(cfg.channels):
            raise ValueError(f"--init-from {cfg.init_from} is a {model.architecture} network with channels "
                             f"{model.channels}; the config says {cfg.architecture} with {cfg.channels}")
        if model.antialias != cfg.antialias:
            print(f"--init-from {cfg.init_from}: its weights, now {'with' if cfg.antialias else 'without'} "
                  f"antialiasing (--antialias)", flush=True)
            converted = build_network(model.config | {"antialias": cfg.antialias})
            converted.load_state_dict(model.state_dict())
            model = converted
        if cfg.keep_residual_blocks:
            model = keep_residual_blocks(model, cfg.keep_residual_blocks)
            print(f"--init-from {cfg.init_from}: its first {cfg.keep_residual_blocks} residual blocks kept "
                  f"(--keep-residual-blocks)", flush=True)
        if cfg.architecture != "fast" and cfg.outer_kernel != model.outer_kernel:
            print(f"--init-from {cfg.init_from}: its {model.outer_kernel}×{model.outer_kernel} first and last "
                  f"kernels cropped to their central {cfg.outer_kernel}×{cfg.outer_kernel} (--outer-kernel)", flush=True)
            model = with_outer_kernel(model, cfg.outer_kernel)
        return model
    config: dict[str, object] = {"architecture": cfg.architecture, "channels": cfg.channels,
                                 "num_residual_blocks": cfg.num_residual_blocks}
    if cfg.architecture in ("johnson", "magenta"):
        config["outer_kernel"] = cfg.outer_kernel
        config["antialias"] = cfg.antialias
    return build_network(config)


def keep_residual_blocks(model: StyleNet, count: int) -> StyleNet:
    """A copy of ``model`` with only its first ``count`` residual blocks (the rest of its weights as they are): a
    lighter network that starts close to ``model``'s rendering."""
    if not 0 < count <= len(model.residuals):
        raise ValueError(f"--keep-residual-blocks {count}: the network has {len(model.residuals)} residual blocks")
    lighter = build_network(model.config | {"num_residual_blocks": count})
    state = {k: v for k, v in model.state_dict().items()
             if not k.startswith("residuals.") or int(k.split(".")[1]) < count}
    lighter.load_state_dict(state)
    lighter.training_config = dict(model.training_config)
    return lighter


def with_outer_kernel(model: StyleNet, kernel: int) -> StyleNet:
    """A copy of ``model`` whose first and last convolutions are ``kernel``×``kernel`` (odd, smaller than the model's):
    their weights the central ``kernel``×``kernel`` taps of ``model``'s, everything else as it is. A start for
    fine-tuning a cheaper network (the outer convolutions run at full resolution), not a network that renders alike."""
    if kernel % 2 == 0 or not 0 < kernel < model.outer_kernel:
        raise ValueError(f"--outer-kernel {kernel}: an odd size below the network's {model.outer_kernel}")
    cheaper = build_network(model.config | {"outer_kernel": kernel})
    first, last = "encoder.0.1.weight", f"decoder.{len(model.decoder) - 1}.1.weight"
    margin = (model.outer_kernel - kernel) // 2
    state = {k: v[..., margin:margin + kernel, margin:margin + kernel] if k in (first, last) else v
             for k, v in model.state_dict().items()}
    cheaper.load_state_dict(state)
    cheaper.training_config = dict(model.training_config)
    return cheaper


def lr_factor(step: int, cfg: TrainConfig | AnyPaintingConfig) -> float:
    """Cosine decay from 1 to ``lr_min_ratio`` over ``steps``."""
    progress = min(step / max(cfg.steps, 1), 1.0)
    return cfg.lr_min_ratio + (1 - cfg.lr_min_ratio) * 0.5 * (1 + math.cos(math.pi * progress))


def infinite_batches(loader: DataLoader, sampler: DistributedSampler | None) -> Iterator[dict[str, torch.Tensor]]:
    """Epoch after epoch; each epoch visits every pair once in a new random order (without replacement)."""
    epoch = 0
    while True:
        if sampler is not None:
            sampler.set_epoch(epoch)
        yield from loader
        epoch += 1


class Criterion:
    """The weighted loss terms of one training step, as a dict (``content``, ``style``, ``tv`` [, ``temporal``,
    ``luminance``, ``distill``]).

    Holds the frozen VGG16 and the painting's Gram matrices (not loaded when the content and style weights are both
    0, as in pure distillation) and the frozen teacher network when distilling — or, with ``teacher_per_step``, takes
    the teacher with each call (:mod:`training.any_painting`: a new painting for every pair). ``batch``: ``frame_t``, ``frame_t1`` ``(B, 3, H, W)``
    in [0, 1], ``flow_back`` ``(B, 2, H, W)`` (t+1 → t, pixels), ``weights`` ``(B, 1, H, W)`` in {0, 1}.
    """

    def __init__(self, cfg: TrainConfig, device: torch.device | str = "cpu", *, teacher_per_step: bool = False) -> None:
        self.cfg = cfg
        if (cfg.teacher is not None or teacher_per_step) and cfg.distill_weight <= 0:
            raise ValueError("--teacher needs a positive --distill-weight")
        self.teacher = load_network(cfg.teacher).eval().requires_grad_(False).to(device) if cfg.teacher else None
        self.teacher_per_step = teacher_per_step
        self.temporal_weight = cfg.effective_temporal_weight  # what the temporal term is multiplied by (adaptable)
        self.uses_teacher_features = cfg.distill_feature_weight > 0 or cfg.distill_gram_weight > 0
        if self.uses_teacher_features and self.teacher is None and not teacher_per_step:
            raise ValueError("--distill-feature-weight and --distill-gram-weight need --teacher")
        self.uses_painting = cfg.content_weight > 0 or cfg.style_weight > 0
        self.uses_vgg = self.uses_painting or self.uses_teacher_features
        if not self.uses_vgg:
            return
        weights = fetch_vgg16_weights(offline=True)
        layers = (*((*cfg.style_layers, cfg.content_layer) if self.uses_painting else ()),
                  *(cfg.distill_layers if self.uses_teacher_features else ()))
        self.vgg = VGG16Features(weights, layers=tuple(dict.fromkeys(layers)))
        self.vgg.to(device)
        if not self.uses_painting:  # distilling the teacher's features only: no painting, no content target
            return
        self.content_vgg = VGG16Features(weights, layers=(cfg.content_layer,)).to(device)  # inputs need no more
        with torch.no_grad():
            style_features = self.vgg(load_style_image(cfg.style_image, cfg.style_size).to(device))
            self.style_grams = {name: gram_matrix(style_features[name]) for name in cfg.style_layers}
        # Each layer's Gram error is taken relative to the painting's Gram energy, so every layer counts alike.
        self.style_layer_weights = {name: 1.0 / float(g.pow(2).mean()) for name, g in self.style_grams.items()}

    def __call__(self, net: Callable[[torch.Tensor], torch.Tensor], batch: dict[str, torch.Tensor], *,
                 teacher: Callable[[torch.Tensor], torch.Tensor] | None = None) -> dict[str, torch.Tensor]:
        """``net`` (and ``teacher``, given with ``teacher_per_step``): ``(2B, 3, H, W)`` → ``(2B, 3, H, W)`` in [0, 1]."""
        if (teacher is not None) != self.teacher_per_step:
            raise ValueError("a teacher is given with each call exactly when the criterion was built teacher_per_step")
        if teacher is None:
            teacher = self.teacher
        cfg = self.cfg
        frames = torch.cat([batch["frame_t"], batch["frame_t1"]])
        stylized = net(with_input_noise(frames, cfg.input_noise) if cfg.input_noise > 0 else frames)
        losses: dict[str, torch.Tensor] = {}
        if self.uses_vgg:
            out_features = self.vgg(stylized)
        if self.uses_painting:
            if cfg.content_weight > 0:
                with torch.no_grad():
                    target = self.content_vgg(frames)[cfg.content_layer].float()
                # content error relative to the input features' energy: 1 ≈ nothing of the scene kept
                losses["content"] = cfg.content_weight * content_loss(out_features[cfg.content_layer].float(),
                                                                      target) / target.pow(2).mean().clamp_min(1e-8)
            losses["style"] = cfg.style_weight * style_loss({k: out_features[k].float() for k in cfg.style_layers},
                                                            self.style_grams, self.style_layer_weights)
        stylized = stylized.float()
        losses["tv"] = cfg.tv_weight * total_variation(stylized)
        if teacher is not None:
            with torch.no_grad():
                teacher_out = teacher(frames).float()
            losses["distill"] = cfg.distill_weight * (stylized - teacher_out).abs().mean()
            if self.uses_teacher_features:
                with torch.no_grad():
                    teacher_features = {k: v.float() for k, v in self.vgg(teacher_out).items()}
                ours = {k: out_features[k].float() for k in cfg.distill_layers}
            if cfg.distill_feature_weight > 0:
                losses["distill_feature"] = cfg.distill_feature_weight * sum(
                    content_loss(ours[k], teacher_features[k]) / teacher_features[k].pow(2).mean().clamp_min(1e-8)
                    for k in cfg.distill_layers) / len(cfg.distill_layers)
            if cfg.distill_gram_weight > 0:
                grams = {k: gram_matrix(teacher_features[k]) for k in cfg.distill_layers}
                weights = {k: 1.0 / float(g.pow(2).mean().clamp_min(1e-12)) for k, g in grams.items()}
                losses["distill_gram"] = cfg.distill_gram_weight * style_loss(ours, grams, weights) / len(grams)
        prev, nxt = stylized.chunk(2)
        temporal_weight = self.temporal_weight
        if temporal_weight > 0:
            losses["temporal"] = temporal_weight * temporal_loss(prev, nxt, batch["flow_back"], batch["weights"])
            if cfg.luminance_weight > 0:
                losses["luminance"] = cfg.luminance_weight * luminance_temporal_loss(
                    prev, nxt, batch["frame_t"], batch["frame_t1"], batch["flow_back"], batch["weights"])
        return losses


def with_input_noise(frames: torch.Tensor, max_sigma: float) -> torch.Tensor:
    """``(N, 3, H, W)`` in [0, 1] → the same with Gaussian noise added, each image's standard deviation drawn
    uniformly from [0, ``max_sigma``], clamped to [0, 1] (``TrainConfig.input_noise``)."""
    sigma = torch.rand(frames.shape[0], 1, 1, 1, device=frames.device, dtype=frames.dtype) * max_sigma
    return (frames + sigma * torch.randn_like(frames)).clamp_(0.0, 1.0)


# ----------------------------------------------------------------------------------------------- checkpoints


def save_checkpoint(folder: Path, model: StyleNet, optimizer: torch.optim.Optimizer, step: int, cfg: TrainConfig,
                    record: dict[str, float] | None = None) -> None:
    """Model (safetensors + config.json), Adam state (safetensors), the step and ``record`` (e.g. the adapted
    temporal weight; :func:`checkpoint_record` reads it back), written atomically as a folder."""
    tmp = folder.with_name(folder.name + ".tmp")
    tmp.mkdir(parents=True, exist_ok=True)
    model.training_config = cfg.to_json() | {"step": step} | (record or {})
    model.save_pretrained(tmp)
    save_file(optimizer_tensors(optimizer), tmp / "optimizer.safetensors")
    (tmp / "state.json").write_text(json.dumps({"step": step, "param_groups": optimizer.state_dict()["param_groups"],
                                                "record": record or {}}))
    swap_in(tmp, folder)


def swap_in(tmp: Path, folder: Path) -> None:
    """Replace ``folder`` (if any) by the finished ``tmp`` folder: a rename each, so a reader never sees half."""
    old = folder.with_name(folder.name + ".old")
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    if old.exists():
        for f in old.iterdir():
            f.unlink()
        old.rmdir()


def load_checkpoint(folder: Path, model: StyleNet, optimizer: torch.optim.Optimizer) -> int:
    """Restore model and optimizer from :func:`save_checkpoint`'s folder; returns the step to continue from."""
    model.load_state_dict(load_file(folder / WEIGHTS_FILE))
    return load_optimizer_state(folder, optimizer)


def checkpoint_record(folder: Path) -> dict[str, float]:
    """The ``record`` :func:`save_checkpoint` wrote (empty for older checkpoints)."""
    return dict(json.loads((folder / "state.json").read_text()).get("record", {}))


def optimizer_tensors(optimizer: torch.optim.Optimizer) -> dict[str, torch.Tensor]:
    """The optimizer's per-parameter state as flat safetensors-ready tensors, ``"<param index>.<slot>"``."""
    return {f"{idx}.{key}": value.detach().cpu().contiguous()
            for idx, slot in optimizer.state_dict()["state"].items() for key, value in slot.items()}


def load_optimizer_state(folder: Path, optimizer: torch.optim.Optimizer) -> int:
    """Restore the optimizer from ``folder``'s ``optimizer.safetensors`` and ``state.json``; returns the step saved."""
    meta = json.loads((folder / "state.json").read_text())
    flat = load_file(folder / "optimizer.safetensors")
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for key, value in flat.items():
        idx, name = key.split(".", 1)
        slots.setdefault(int(idx), {})[name] = value
    optimizer.load_state_dict({"state": slots, "param_groups": meta["param_groups"]})
    return int(meta["step"])


def truncate_log(path: Path, step: int) -> None:
    """Drop log records after ``step`` (written by an interrupted run past its last checkpoint)."""
    if path.is_file():
        kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
        path.write_text("".join(line + "\n" for line in kept))


# ----------------------------------------------------------------------------------------------- the loop


def setup_distributed(cfg: TrainConfig) -> tuple[torch.device, int, int]:
    """(device, rank, world size); initialises the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    if cfg.device == "auto":
        use_cuda = torch.cuda.is_available()
    else:
        use_cuda = cfg.device.startswith("cuda")
    if use_cuda:
        local = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local) if world > 1 else torch.device(cfg.device if cfg.device != "auto" else "cuda")
        if world > 1:
            torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return device, rank, world


def train(cfg: TrainConfig, *, progress: bool = True) -> Path:
    """Train one network as configured; returns ``runs/<name>/model`` (the final checkpoint folder)."""
    device, rank, world = setup_distributed(cfg)
    is_main = rank == 0
    torch.manual_seed(cfg.seed + rank)
    run_dir = cfg.run_dir
    if is_main:
        run_dir.mkdir(parents=True, exist_ok=True)
        (run_dir / "config.json").write_text(json.dumps(cfg.to_json(), indent=2))

    criterion = Criterion(cfg, device)
    model = build_model(cfg).to(device).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    step = 0
    record: dict[str, float] = {}
    checkpoint = run_dir / CHECKPOINT
    if (checkpoint / "state.json").is_file():
        step = load_checkpoint(checkpoint, model, optimizer)
        record = checkpoint_record(checkpoint)
        if is_main:
            log.info("resuming %s from step %d", cfg.name, step)
            truncate_log(run_dir / LOG_FILE, step)
    net: torch.nn.Module = DistributedDataParallel(model) if world > 1 else model

    dataset = FramePairDataset(cfg.data_dir, crop=cfg.crop, flip=True)
    flicker = None
    if cfg.temporal_target > 0 and not cfg.framewise:
        if criterion.teacher is None:
            raise ValueError("--temporal-target needs --teacher: the flicker it targets is relative to the teacher's")
        flicker = FlickerTarget(criterion.teacher, dataset, cfg.temporal_target, cfg.seed + 7919, device)
        criterion.temporal_weight = record.get("temporal_weight", cfg.temporal_weight)
    sampler = DistributedSampler(dataset, seed=cfg.seed) if world > 1 else None
    generator = torch.Generator().manual_seed(cfg.seed + step)
    loader = DataLoader(dataset, batch_size=cfg.batch_size, drop_last=True, num_workers=cfg.num_workers,
                        sampler=sampler or RandomSampler(dataset, generator=generator))
    batches = infinite_batches(loader, sampler)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=cfg.amp and device.type == "cuda")

    bar = tqdm(total=cfg.steps, initial=step, unit="step", desc=cfg.name, disable=not (progress and is_main))
    log_file = (run_dir / LOG_FILE).open("a") if is_main else None
    started = time.perf_counter()
    while step < cfg.steps:
        batch = {k: v.to(device, non_blocking=True) for k, v in next(batches).items()}
        for group in optimizer.param_groups:
            group["lr"] = cfg.lr * lr_factor(step, cfg)
        with autocast:
            losses = criterion(net, batch)
        total = sum(losses.values())
        optimizer.zero_grad(set_to_none=True)
        total.backward()
        optimizer.step()
        step += 1
        bar.update(1)
        if flicker is not None and (step % cfg.temporal_adapt_every == 0 or step == cfg.steps):
            weight, ratio = flicker.update(model, criterion.temporal_weight, floor=cfg.temporal_weight)
            record = {"temporal_weight": weight if step < cfg.steps else criterion.temporal_weight,
                      "flicker_ratio": ratio}
            criterion.temporal_weight = record["temporal_weight"]
        if is_main and (step % cfg.log_every == 0 or step == cfg.steps):
            entry = {"step": step, "loss": total.item(), **{k: v.item() for k, v in losses.items()},
                     "lr": optimizer.param_groups[0]["lr"], "seconds": round(time.perf_counter() - started, 2), **record}
            assert log_file is not None
            log_file.write(json.dumps(entry) + "\n")
            log_file.flush()
            bar.set_postfix(loss=f"{entry['loss']:.3g}")
        if is_main and (step % cfg.checkpoint_every == 0 or step == cfg.steps):
            save_checkpoint(checkpoint, model, optimizer, step, cfg, record)
            plot_losses(run_dir / LOG_FILE, run_dir / "losses.png", title=cfg.name)
    bar.close()
    final = run_dir / FINAL
    if is_main:
        if log_file is not None:
            log_file.close()
        model.training_config = cfg.to_json() | {"step": step} | record
        model.eval().cpu().save_pretrained(final)
        plot_losses(run_dir / LOG_FILE, run_dir / "losses.png", title=cfg.name)
    if world > 1:
        dist.barrier()
        dist.destroy_process_group()
    return final

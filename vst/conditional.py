"""The any-painting network's checkpoint format: a :class:`vst.teacher.MagentaTransform` as ``model.safetensors`` +
``config.json``, never a pickle.

``config.json``::

    {"architecture": "magenta-conditional", "style_dim": 100, "frame_detail": 1.2, "num_residual_blocks": 1,
     "training_config": {...}}

``num_residual_blocks`` (optional, Magenta's 5 when absent) is 1..5: a lighter network keeps the first blocks
(:meth:`~vst.teacher.MagentaTransform.shortened`).
``frame_detail`` (optional, 0 when absent) is the strength of the frame's own detail that every network made from it
adds (:mod:`vst.detail`).

``training_config`` is free-form metadata (how the network was made, as in the style checkpoints' ``config.json``).
:func:`load_conditional` checks, before allocating anything, that the config is a small JSON object with exactly these
keys and values (see :mod:`vst.checkpoint_check`) and that the tensor file holds exactly
``MagentaTransform(num_residual_blocks).state_dict()``'s names and shapes; every problem is a one-line
:class:`~vst.errors.CheckpointError` naming the file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from .checkpoint_check import check_tensors, checked_frame_detail, list_names, read_json_object, read_tensors
from .errors import CheckpointError
from .model import CONDITIONAL_ARCHITECTURE
from .style_folder import CONFIG_FILE, WEIGHTS_FILE
from .teacher import MAGENTA_BLOCKS, STYLE_DIM, MagentaTransform

_KEYS = {"architecture", "style_dim", "frame_detail", "num_residual_blocks", "training_config"}


def save_conditional(net: MagentaTransform, folder: str | Path, **metadata: Any) -> Path:
    """Write ``net`` into ``folder`` (created if needed): ``model.safetensors`` (float32) and ``config.json`` with
    ``net.frame_detail`` (written when not 0), its residual blocks (written when not 5) and ``metadata``
    (JSON-serialisable) as its ``training_config``. Returns ``folder``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    config: dict[str, Any] = {"architecture": CONDITIONAL_ARCHITECTURE, "style_dim": STYLE_DIM,
                              "training_config": metadata or None}
    if net.frame_detail:
        config["frame_detail"] = net.frame_detail
    if net.num_residual_blocks != MAGENTA_BLOCKS:
        config["num_residual_blocks"] = net.num_residual_blocks
    text = json.dumps(config, indent=2, sort_keys=True) + "\n"  # fails here, before any file, if not serialisable
    tensors = {name: t.detach().to("cpu", torch.float32).contiguous() for name, t in net.state_dict().items()}
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata={"format": "pt"})
    (folder / CONFIG_FILE).write_text(text, encoding="utf-8")
    return folder


def read_conditional_config(folder: str | Path) -> dict[str, Any]:
    """``folder``'s ``config.json``, checked to describe the any-painting network; :class:`CheckpointError`
    otherwise."""
    path = Path(folder) / CONFIG_FILE
    config = read_json_object(path)
    architecture = config.get("architecture")
    if architecture != CONDITIONAL_ARCHITECTURE:
        raise CheckpointError(f"{path}: architecture {json.dumps(architecture)[:40]} is not the any-painting "
                              f"network's \"{CONDITIONAL_ARCHITECTURE}\"")
    unknown = set(config) - _KEYS
    if unknown:
        raise CheckpointError(f"{path}: unknown key(s) {list_names(unknown)} for the '{CONDITIONAL_ARCHITECTURE}' "
                              f"architecture")
    style_dim = config.get("style_dim")
    if style_dim != STYLE_DIM or isinstance(style_dim, bool):
        raise CheckpointError(f"{path}: 'style_dim' must be {STYLE_DIM} (the style predictor's vector), "
                              f"not {json.dumps(style_dim)[:40]}")
    checked_frame_detail(path, config)
    blocks = config.get("num_residual_blocks", MAGENTA_BLOCKS)
    if not isinstance(blocks, int) or isinstance(blocks, bool) or not 1 <= blocks <= MAGENTA_BLOCKS:
        raise CheckpointError(f"{path}: 'num_residual_blocks' must be a whole number from 1 to {MAGENTA_BLOCKS}, "
                              f"not {json.dumps(blocks)[:40]}")
    training = config.get("training_config")
    if training is not None and not isinstance(training, dict):
        raise CheckpointError(f"{path}: 'training_config' must be an object or null")
    return config


def load_conditional(folder: str | Path) -> MagentaTransform:
    """The checked any-painting network of ``folder``, eval mode, CPU, float32, every tensor loaded strictly; its
    ``training_config`` as the attribute of that name. :class:`CheckpointError` on any problem."""
    folder = Path(folder)
    config = read_conditional_config(folder)
    blocks = int(config.get("num_residual_blocks", MAGENTA_BLOCKS))
    with torch.device("meta"):
        expected = {name: tuple(t.shape) for name, t in MagentaTransform(blocks).state_dict().items()}
    check_tensors(folder / WEIGHTS_FILE, expected)
    net = MagentaTransform(blocks)
    net.load_state_dict(read_tensors(folder / WEIGHTS_FILE), strict=True)
    net.training_config = dict(config.get("training_config") or {})
    net.frame_detail = float(config.get("frame_detail", 0.0))
    return net.eval()

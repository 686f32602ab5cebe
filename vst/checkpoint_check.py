"""Checking a checkpoint folder before anything is built from it, and loading it strictly.

A checkpoint folder holds ``config.json`` (the network's sizes) and ``model.safetensors`` (its tensors). Both may come
from anywhere (``--style PATH``, a Hub download, a damaged disk), so :func:`load_network` — what the command line,
the Python API (:func:`vst.load_model`), the app, training and the benchmarks all load through — checks, in this order
and before allocating any tensor:

1. ``config.json`` is a JSON object of at most :data:`MAX_CONFIG_BYTES`, with known keys only, a known
   ``architecture`` and every size within :data:`BOUNDS` (a config cannot ask for a terabyte-sized network);
2. the network the config describes has at most :data:`MAX_PARAMETERS` parameters (counted on PyTorch's ``meta``
   device, which allocates nothing);
3. ``model.safetensors`` is a safetensors file (not a pickle, not empty, not truncated), read from its header only,
   whose tensor names, shapes and dtypes are exactly the network's: a missing or unexpected tensor is named.

Then the network is built and the tensors are loaded with ``strict=True``. Every problem is a
:class:`CheckpointError` whose one-line message names the file and what is wrong with it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file

from .errors import CheckpointError, first_line
from .model import ARCHITECTURES, CONDITIONAL_ARCHITECTURE, StyleNet, network_class
from .style_folder import CONFIG_FILE, WEIGHTS_FILE

#: A larger config.json is not a network description (ours are about 2 kB with the training record).
MAX_CONFIG_BYTES = 1_000_000
#: Inclusive bounds of each size a config may ask for; far above any useful style network, far below a crash.
BOUNDS: dict[str, tuple[int, int]] = {"channels": (1, 1024), "num_residual_blocks": (0, 64), "outer_kernel": (1, 15)}
#: Largest network accepted: 50 M parameters (200 MB of float32; Johnson et al.'s reference has 1.7 M).
MAX_PARAMETERS = 50_000_000
#: safetensors dtypes a weight may be stored in (converted to float32 on loading).
FLOAT_DTYPES = ("F16", "BF16", "F32", "F64")
_KEYS = {"johnson": {"architecture", "channels", "num_residual_blocks", "outer_kernel", "antialias", "frame_detail",
                     "training_config"},
         "fast": {"architecture", "channels", "num_residual_blocks", "frame_detail", "training_config"},
         "magenta": {"architecture", "channels", "num_residual_blocks", "outer_kernel", "antialias", "frame_detail",
                     "training_config"}}
#: Largest ``frame_detail`` accepted (:mod:`vst.detail`; the bundled styles use 0 to about 2).
MAX_FRAME_DETAIL = 8.0
_STAGES = {"johnson": 3, "fast": 2, "magenta": 3}


def list_names(names: set[str] | list[str], limit: int = 4) -> str:
    ordered = sorted(names)
    shown = ", ".join(ordered[:limit])
    return shown + (f" and {len(ordered) - limit} more" if len(ordered) > limit else "")


def _int_in_bounds(path: Path, key: str, value: object) -> int:
    low, high = BOUNDS[key.split("[")[0]]
    if isinstance(value, bool) or not isinstance(value, int):
        raise CheckpointError(f"{path}: '{key}' must be a whole number, not {json.dumps(value)[:40]}")
    if not low <= value <= high:
        raise CheckpointError(f"{path}: '{key}' is {value}, outside the accepted range {low}..{high}")
    return value


def checked_frame_detail(path: Path, config: dict[str, Any]) -> float:
    """``config``'s ``frame_detail`` (:mod:`vst.detail`; 0 when absent), a number from 0 to
    :data:`MAX_FRAME_DETAIL`; :class:`CheckpointError` naming ``path`` otherwise."""
    detail = config.get("frame_detail", 0.0)
    if isinstance(detail, bool) or not isinstance(detail, (int, float)) or not 0.0 <= detail <= MAX_FRAME_DETAIL:
        raise CheckpointError(f"{path}: 'frame_detail' must be a number from 0 to {MAX_FRAME_DETAIL:g}, "
                              f"not {json.dumps(detail)[:40]}")
    return float(detail)


def read_json_object(path: Path) -> dict[str, Any]:
    """A checkpoint's ``config.json`` as a dict: present, at most :data:`MAX_CONFIG_BYTES`, valid JSON, an object.
    :class:`CheckpointError` otherwise."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing (a checkpoint folder needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    if path.stat().st_size > MAX_CONFIG_BYTES:
        raise CheckpointError(f"{path} is {path.stat().st_size} bytes, too large for a network config")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path} is not valid JSON ({first_line(err)})") from None
    if not isinstance(config, dict):
        raise CheckpointError(f"{path} must hold a JSON object, not a {type(config).__name__}")
    return config


def read_config(folder: str | Path) -> dict[str, Any]:
    """``config.json`` of ``folder`` checked against :data:`BOUNDS`: the keyword arguments of
    :func:`vst.model.build_network` (``architecture`` always set). :class:`CheckpointError` otherwise."""
    path = Path(folder) / CONFIG_FILE
    config = read_json_object(path)
    architecture = config.get("architecture", "johnson")
    if architecture == CONDITIONAL_ARCHITECTURE:
        raise CheckpointError(f"{path} is the any-painting network, not a style's: it renders a picture given with "
                              f"--style-image (vst.any_painting)")
    if architecture not in ARCHITECTURES:
        raise CheckpointError(f"{path}: unknown architecture {json.dumps(architecture)[:40]}; "
                              f"known: {', '.join(ARCHITECTURES)}")
    unknown = set(config) - _KEYS[architecture]
    if unknown:
        raise CheckpointError(f"{path}: unknown key(s) {list_names(unknown)} for the '{architecture}' architecture")
    channels = config.get("channels")
    stages = _STAGES[architecture]
    if not isinstance(channels, list) or len(channels) != stages:
        raise CheckpointError(f"{path}: 'channels' must be a list of {stages} whole numbers, "
                              f"not {json.dumps(channels)[:40]}")
    checked: dict[str, Any] = {
        "architecture": architecture,
        "channels": [_int_in_bounds(path, f"channels[{i}]", c) for i, c in enumerate(channels)],
        "num_residual_blocks": _int_in_bounds(path, "num_residual_blocks", config.get("num_residual_blocks")),
    }
    if architecture in ("johnson", "magenta"):
        kernel = _int_in_bounds(path, "outer_kernel", config.get("outer_kernel", 9))
        if kernel % 2 == 0:
            raise CheckpointError(f"{path}: 'outer_kernel' must be odd, not {kernel}")
        checked["outer_kernel"] = kernel
        antialias = config.get("antialias", False)
        if not isinstance(antialias, bool):
            raise CheckpointError(f"{path}: 'antialias' must be true or false, not {json.dumps(antialias)[:40]}")
        if antialias:
            checked["antialias"] = True
    detail = checked_frame_detail(path, config)
    if detail:
        checked["frame_detail"] = detail
    training = config.get("training_config")
    if training is not None and not isinstance(training, dict):
        raise CheckpointError(f"{path}: 'training_config' must be an object or null")
    checked["training_config"] = training
    return checked


def _skeleton(config: dict[str, Any]) -> StyleNet:
    """The network ``config`` describes, on the ``meta`` device: shapes only, no memory."""
    kwargs = dict(config)
    cls = network_class(kwargs.pop("architecture"))
    with torch.device("meta"):
        return cls(**kwargs)


def check_checkpoint(folder: str | Path) -> dict[str, Any]:
    """Check ``folder`` (see the module docstring) without loading any tensor; returns its :func:`read_config`."""
    folder = Path(folder)
    config = read_config(folder)
    skeleton = _skeleton(config)
    parameters = skeleton.num_parameters()
    if parameters > MAX_PARAMETERS:
        raise CheckpointError(f"{folder / CONFIG_FILE} describes a network of {parameters:,} parameters; "
                              f"at most {MAX_PARAMETERS:,} are accepted")
    check_tensors(folder / WEIGHTS_FILE, {name: tuple(t.shape) for name, t in skeleton.state_dict().items()})
    return config


def check_tensors(path: Path, expected: dict[str, tuple[int, ...]]) -> None:
    """Check that ``path`` is a safetensors file holding exactly the tensors ``expected`` (name → shape), each of a
    floating-point dtype, reading its header only. :class:`CheckpointError` naming what is wrong otherwise."""
    if not path.is_file():
        raise CheckpointError(f"{path} is missing (a checkpoint folder needs {CONFIG_FILE} and {WEIGHTS_FILE})")
    if path.stat().st_size == 0:
        raise CheckpointError(f"{path} is empty")
    try:
        with safe_open(str(path), framework="pt") as f:
            stored = {name: (tuple(f.get_slice(name).get_shape()), f.get_slice(name).get_dtype()) for name in f.keys()}
    except SafetensorError as err:
        raise CheckpointError(f"{path} is not a valid safetensors file ({first_line(err)})") from None
    missing, unexpected = set(expected) - set(stored), set(stored) - set(expected)
    if missing or unexpected:
        parts = [f"missing {len(missing)} tensor(s): {list_names(missing)}"] if missing else []
        parts += [f"unexpected {len(unexpected)} tensor(s): {list_names(unexpected)}"] if unexpected else []
        raise CheckpointError(f"{path} does not match {CONFIG_FILE}: {'; '.join(parts)}")
    for name, shape in expected.items():
        got, dtype = stored[name]
        if got != shape:
            raise CheckpointError(f"{path}: tensor {name} has shape {list(got)}, but {CONFIG_FILE} needs {list(shape)}")
        if dtype not in FLOAT_DTYPES:
            raise CheckpointError(f"{path}: tensor {name} is {dtype}, not a floating-point type")


def load_network(folder: str | Path) -> StyleNet:
    """The network of checkpoint folder ``folder`` (``model.safetensors`` + ``config.json``) as the class its config
    names, checked (see the module docstring), on the CPU, float32, every tensor loaded (``strict``).
    :class:`CheckpointError` naming the file and what is wrong with it on any problem."""
    folder = Path(folder)
    config = check_checkpoint(folder)
    kwargs = dict(config)
    model = network_class(kwargs.pop("architecture"))(**kwargs)
    model.load_state_dict(read_tensors(folder / WEIGHTS_FILE), strict=True)
    return model


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    """Every tensor of a checked safetensors file (:func:`check_tensors`), on the CPU, float32."""
    try:
        tensors = load_file(str(path), device="cpu")
    except (SafetensorError, OSError) as err:
        raise CheckpointError(f"{path} cannot be read ({first_line(err)})") from None
    return {name: t.float() for name, t in tensors.items()}

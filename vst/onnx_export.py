"""ONNX export of the style networks, for in-browser inference (onnxruntime-web) and any other ONNX runtime.

The exported graph (``model.onnx`` next to ``model.safetensors`` and ``config.json``, the same Hub layout):

- input ``image``: float32 ``(N, 3, H, W)``, RGB in [0, 1] (not 0–255), NCHW; N, H and W are dynamic, H and W must be
  multiples of the network's ``size_multiple`` (4): pad other sizes first (the app reflection-pads the bottom rows and
  right columns and crops the output back, as :class:`vst.pipeline.Stylizer` does);
- output ``stylized``: float32 ``(N, 3, H, W)``, RGB in [0, 1] (a sigmoid bounds it, or the frame detail's clamp);
  multiply by 255 and round;
- opset :data:`OPSET` (``Conv``, ``InstanceNormalization``, reflect and edge ``Pad``, ``DepthToSpace``, ``Reshape``,
  ``Transpose``, ``Relu``, ``Sigmoid`` …; an antialiased network's upsampling stays a nearest ``Resize`` and a
  convolution; a network with ``frame_detail`` adds ``Einsum``, ``AveragePool``, ``CumSum``, bilinear ``Resize``,
  ``TopK`` (the noise level's median) and ``Clip``, :mod:`vst.detail`), exported by PyTorch's
  TorchScript-based exporter from the textbook layers with the exact rewrites that plain operators can express
  (:mod:`vst.onnx_layers`: few-channel convolutions space-to-depth, upsampling as four-phase convolutions; the rest of
  :mod:`vst.rewrites` writes into preallocated tensors, which ONNX cannot express).

The file's metadata (``metadata_props``) repeats this contract and records the SHA-256 of the ``model.safetensors`` it
was exported from (``source_sha256``: the ``weights`` of :func:`vst.fingerprint.checkpoint_fingerprint`), the
network's settings (``config``), with a detail its coring (``detail_coring``), and the graph's rewrites
(``graph_rewrites``), so a stale export is detectable (:func:`is_current`).
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import warnings
from pathlib import Path

import onnx
import torch

from .checkpoint_check import load_network
from .detail import CORING
from .fingerprint import checkpoint_fingerprint
from .model import StyleNet, with_inference
from .onnx_layers import export_layers
from .style_folder import CONFIG_FILE

#: ONNX opset of the exports (onnxruntime ≥ 1.14 and onnxruntime-web run it).
OPSET = 18
ONNX_FILE = "model.onnx"
INPUT_NAME = "image"
OUTPUT_NAME = "stylized"
LAYOUT = "NCHW float32 RGB in [0, 1]; H and W multiples of 4"
#: The graph's rewrites (:mod:`vst.onnx_layers`); an export without them is stale and redone.
GRAPH_REWRITES = "space-to-depth, phase upsampling"


def export_onnx(model: StyleNet, path: Path, *, source_sha256: str = "") -> Path:
    """Write ``model`` as ONNX to ``path`` (atomically: a temporary file renamed when complete); returns ``path``.
    ``source_sha256``: the ``weights`` fingerprint of the checkpoint folder ``model`` was loaded from."""
    # the textbook layers trace to plain ONNX operators; the rewrites that plain operators express swapped in
    model = export_layers(with_inference(model.eval(), rewrites=False))
    multiple = model.size_multiple
    example = torch.rand(1, 3, 9 * multiple, 16 * multiple)
    buffer = io.BytesIO()
    with torch.no_grad(), warnings.catch_warnings():
        # The TorchScript exporter warns that it is deprecated in favour of dynamo=True, which needs onnxscript (not
        # a dependency) and gave no better graph here; and about instance norm's training-mode flag (unused at eval).
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model, (example,), buffer, input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=OPSET,
            dynamo=False, do_constant_folding=True,
            dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                          OUTPUT_NAME: {0: "batch", 2: "height", 3: "width"}},
        )
    proto = onnx.load_from_string(buffer.getvalue())
    proto.producer_name = "vst"
    proto.doc_string = (f"vst {model.architecture} style network. Input '{INPUT_NAME}', output '{OUTPUT_NAME}': "
                        f"{LAYOUT}.")
    meta = {"layout": LAYOUT, "size_multiple": str(multiple), "architecture": model.architecture,
            "config": json.dumps({k: v for k, v in model.config.items() if k != "training_config"}),
            "source_sha256": source_sha256, "graph_rewrites": GRAPH_REWRITES}
    if model.frame_detail:  # the detail's graph changed with its coring: an export from before it is stale
        meta["detail_coring"] = f"{CORING:g}"
    onnx.helper.set_model_props(proto, meta)
    onnx.checker.check_model(proto)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".partial.onnx")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(proto.SerializeToString())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def export_checkpoint(folder: Path, out: Path | None = None) -> Path:
    """Export the checkpoint folder ``folder`` to ``out`` (default ``folder/model.onnx``); returns the path."""
    folder = Path(folder)
    return export_onnx(load_network(folder), out or folder / ONNX_FILE,
                       source_sha256=checkpoint_fingerprint(folder).weights)


def exported_from(onnx_path: Path, folder: Path) -> bool:
    """``onnx_path`` exists and was exported from the ``model.safetensors`` now in checkpoint folder ``folder``, with
    the network settings of its ``config.json`` (e.g. ``frame_detail``, which changes the graph but not the
    weights), where it has a detail the detail's coring (:data:`vst.detail.CORING`), and the graph's rewrites
    (:data:`GRAPH_REWRITES`)."""
    if not Path(onnx_path).is_file():
        return False
    props = {p.key: p.value for p in onnx.load(str(onnx_path), load_external_data=False).metadata_props}
    settings = json.loads((Path(folder) / CONFIG_FILE).read_text(encoding="utf-8"))
    settings.pop("training_config", None)
    coring = f"{CORING:g}" if settings.get("frame_detail") else None
    return (props.get("source_sha256") == checkpoint_fingerprint(Path(folder)).weights
            and json.loads(props.get("config", "null")) == settings and props.get("detail_coring") == coring
            and props.get("graph_rewrites") == GRAPH_REWRITES)


def is_current(folder: Path) -> bool:
    """``folder/model.onnx`` exists and was exported from the checkpoint now in ``folder`` (:func:`exported_from`)."""
    return exported_from(Path(folder) / ONNX_FILE, folder)

"""The exact rewrites as plain operators (:mod:`vst.onnx_layers`): the ONNX graph computes the textbook function with
space-to-depth convolutions and four-phase upsampling, and an export without them counts as stale."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

from vst.model import build_network, with_inference
from vst.onnx_export import INPUT_NAME, ONNX_FILE, OUTPUT_NAME, export_checkpoint, exported_from, is_current
from vst.onnx_layers import PhaseUpsampleConv, SpaceToDepthConv, export_layers

#: (config, space-to-depth layers, phase upsamplings) expected: the Magenta networks' first and last convolutions
#: (3 → 8, 8 → 3); Johnson's first only when it is narrow (3 → 4 here), its last always; bilinear upsampling
#: (antialias) keeps its layers; the fast network has no full-resolution convolution layer.
CASES = {
    "magenta": ({"architecture": "magenta", "channels": [8, 8, 8], "num_residual_blocks": 1}, 2, 2),
    "johnson": ({"architecture": "johnson", "channels": [4, 8, 8], "num_residual_blocks": 1}, 2, 2),
    "johnson-wide": ({"architecture": "johnson", "channels": [16, 8, 8], "num_residual_blocks": 1}, 1, 2),
    "antialias": ({"architecture": "johnson", "channels": [4, 8, 8], "num_residual_blocks": 1, "antialias": True},
                  2, 0),
    "fast": ({"architecture": "fast", "channels": [4, 8], "num_residual_blocks": 1}, 0, 1),
}


def _network(config: dict[str, object], frame_detail: float = 0.0) -> torch.nn.Module:
    torch.manual_seed(0)
    net = build_network({**config, "frame_detail": frame_detail}).eval()
    for p in net.parameters():  # norms and biases off their defaults
        p.data.add_(0.2 * torch.randn_like(p))
    return net


@pytest.mark.parametrize("case", CASES)
def test_export_layers_compute_the_textbook_function(case: str) -> None:
    config, s2d, phases = CASES[case]
    plain = with_inference(_network(config), rewrites=False)
    swapped = export_layers(plain)
    kinds = Counter(type(m) for m in swapped.modules())
    assert (kinds[SpaceToDepthConv], kinds[PhaseUpsampleConv]) == (s2d, phases)
    x = torch.rand(2, 3, 36, 44)
    with torch.no_grad():
        torch.testing.assert_close(swapped(x), plain(x), atol=1e-5, rtol=1e-4)
    assert Counter(type(m) for m in plain.modules())[SpaceToDepthConv] == 0  # a copy: the network is unchanged


def test_the_graph_has_no_full_size_upsampling_and_matches_pytorch(tmp_path: Path) -> None:
    net = _network(CASES["magenta"][0])
    net.save_pretrained(tmp_path)
    path = export_checkpoint(tmp_path)
    ops = Counter(node.op_type for node in onnx.load(str(path)).graph.node)
    assert ops["Resize"] == 0 and ops["DepthToSpace"] == 4  # two upsamplings, two space-to-depth convolutions
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    x = torch.rand(1, 3, 48, 80)
    (y,) = session.run([OUTPUT_NAME], {INPUT_NAME: x.numpy()})
    with torch.no_grad():
        expected = with_inference(net, rewrites=False)(x).numpy()
    assert np.abs(y - expected).max() < 1e-4

    # An export from before these rewrites (no ``graph_rewrites`` in its metadata) is stale.
    assert is_current(tmp_path)
    proto = onnx.load(str(path))
    kept = [p for p in proto.metadata_props if p.key != "graph_rewrites"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    onnx.save(proto, str(tmp_path / "old.onnx"))
    assert not exported_from(tmp_path / "old.onnx", tmp_path)
    assert exported_from(tmp_path / ONNX_FILE, tmp_path)


def test_narrow_layers_at_a_quarter_keep_their_textbook_form() -> None:
    """Residual blocks of at most four channels would run space-to-depth at inference when even; at a quarter of an
    export's size they need not be, so only the full-resolution first and last layers are swapped."""
    config = {"architecture": "magenta", "channels": [4, 4, 4], "num_residual_blocks": 1}
    swapped = export_layers(with_inference(_network(config), rewrites=False))
    assert Counter(type(m) for m in swapped.modules())[SpaceToDepthConv] == 2
    x = torch.rand(1, 3, 36, 44)  # 9×11 at a quarter
    with torch.no_grad():
        torch.testing.assert_close(swapped(x), with_inference(_network(config), rewrites=False)(x), atol=1e-5,
                                   rtol=1e-4)

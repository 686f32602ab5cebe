"""The frame's own detail on a stylized frame (vst.detail), the networks' ``frame_detail`` option and its calibration
against the teacher (training.detail_calibration)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
import torch.nn.functional as F

from tests.vst.test_onnx import example_frames, onnx_stylize
from training.detail_calibration import MAX_STRENGTH, calibrate_folder, matching_strength, training_frames
from vst.checkpoint_check import CheckpointError, load_network
from vst.detail import CORING, SUBSAMPLE, add_frame_detail, core, detail_energy, fine_detail, noise_level
from vst.model import MagentaStyleNet, build_network
from vst.onnx_export import export_checkpoint, exported_from, is_current
from vst.pipeline import Stylizer


def soft_edge_frame() -> tuple[torch.Tensor, torch.Tensor]:
    """A frame with a sharp vertical edge, and a stylization that follows its brightness but blurred (as a network
    made soft by the temporal term paints it), in another colour."""
    frame = torch.zeros(1, 3, 64, 64)
    frame[..., 33:] = 0.8
    soft = F.avg_pool2d(F.pad(frame, (3, 3, 3, 3), mode="replicate"), 7, stride=1)
    stylized = 0.1 + 0.8 * soft * torch.tensor([1.0, 0.6, 0.2]).view(1, 3, 1, 1)
    return frame, stylized


def test_strength_zero_is_the_stylized_frame_itself() -> None:
    frame, stylized = soft_edge_frame()
    assert add_frame_detail(stylized, frame, 0.0) is stylized


def test_the_frames_edge_comes_back_in_the_stylizations_colours() -> None:
    frame, stylized = soft_edge_frame()
    out = add_frame_detail(stylized, frame, 1.0)
    sharp = 0.1 + 0.8 * frame * torch.tensor([1.0, 0.6, 0.2]).view(1, 3, 1, 1)  # what the stylization would be, crisp
    assert float((out - sharp).abs().mean()) < 0.75 * float((stylized - sharp).abs().mean())
    assert detail_energy(out) > 1.5 * detail_energy(stylized)
    assert float(out.min()) >= 0.0 and float(out.max()) <= 1.0 and out.shape == stylized.shape


def test_a_flat_stylization_gets_no_detail() -> None:
    """Where the stylized colours do not follow the frame's brightness (a flat painted area), nothing is added."""
    frame = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(0))
    flat = torch.full((1, 3, 48, 48), 0.3)
    torch.testing.assert_close(add_frame_detail(flat, frame, 2.0), flat, atol=1e-4, rtol=0)  # running sums round


def test_detail_moves_with_the_frame() -> None:
    """The frame's detail is tied to the scene, not to the pixel grid: moving frame and stylization by the fit's
    subsampling step moves the result with them exactly (away from the border; uncored, as the noise level is
    estimated on the whole frame); by 1–3 pixels, and cored, within a fraction of one 8-bit level on average (the
    slopes vary slowly). The property that makes it steady."""
    g = torch.Generator().manual_seed(1)
    frame = F.avg_pool2d(torch.rand(1, 3, 72, 72, generator=g), 3, stride=1, padding=1)
    stylized = F.avg_pool2d(frame.flip(1), 5, stride=1, padding=2).sigmoid()
    for coring in (0.0, CORING):
        out = add_frame_detail(stylized, frame, 1.0, coring=coring)
        for shift in (1, 2, 3, SUBSAMPLE):
            moved = add_frame_detail(stylized[..., shift:], frame[..., shift:], 1.0, coring=coring)[..., 12:-12, 12:-12]
            expected = out[..., shift:][..., 12:-12, 12:-12]
            if shift == SUBSAMPLE and not coring:
                torch.testing.assert_close(moved, expected, atol=1e-5, rtol=0)
            else:
                assert float((moved - expected).abs().mean()) < 0.25 / 255


def test_fine_detail_of_a_constant_or_linear_ramp_is_zero() -> None:
    ramp = torch.linspace(0, 1, 40).view(1, 1, 1, 40).expand(1, 1, 30, 40)
    torch.testing.assert_close(fine_detail(ramp)[..., 2:-2], torch.zeros(1, 1, 30, 36), atol=1e-6, rtol=0)


def noisy(image: torch.Tensor, sigma: float, seed: int = 0) -> torch.Tensor:
    """``image`` plus Gaussian noise of standard deviation ``sigma`` (the same on every channel: grain on the
    brightness)."""
    noise = torch.randn(image.shape[0], 1, *image.shape[2:], generator=torch.Generator().manual_seed(seed)) * sigma
    return image + noise


def test_the_noise_level_is_the_detail_bands_sigma_and_edges_barely_move_it() -> None:
    """On pure noise the estimate is the detail band's standard deviation (within 5%); a frame of few strong edges
    under the same noise gives nearly the same, because the median ignores the edges."""
    grain = fine_detail(noisy(torch.full((2, 1, 180, 320), 0.5), 4 / 255))
    sigma = noise_level(grain)
    assert sigma.shape == (2, 1, 1, 1)
    assert torch.allclose(sigma, grain.std(dim=(1, 2, 3), keepdim=True), rtol=0.05)
    edges = torch.full((2, 1, 180, 320), 0.2)
    edges[..., 40:60, :] = edges[..., :, 100:110] = 0.9
    with_edges = noise_level(fine_detail(noisy(edges, 4 / 255)))
    assert torch.allclose(with_edges, sigma, rtol=0.1)
    assert float(noise_level(fine_detail(edges)).max()) == 0.0  # clean flat areas and edges: no noise at all


def test_coring_removes_grain_and_keeps_the_edges() -> None:
    """Under noise, nearly all of the flat area's detail is cored away while the edge's detail stays (less the
    threshold); a clean frame's detail is untouched (its noise level is 0)."""
    frame = torch.full((1, 1, 120, 160), 0.2)
    frame[..., 80:] = 0.8
    grainy = fine_detail(noisy(frame, 3 / 255))
    cored = core(grainy)
    flat = cored[..., 10:70, 10:70]
    assert float((flat != 0).float().mean()) < 0.01
    edge = grainy[..., 20:100, 78:82].abs().amax(dim=-1)  # the edge's strongest detail, row by row
    kept = cored[..., 20:100, 78:82].abs().amax(dim=-1)
    threshold = CORING * noise_level(grainy).item()
    assert float(kept.min()) > 0.1 and torch.all(kept >= edge - threshold - 1e-6)
    clean = fine_detail(frame)
    torch.testing.assert_close(core(clean), clean)


def test_grain_adds_far_less_detail_than_uncored() -> None:
    """A grainy frame's stylization: away from the edge the cored detail adds a small fraction of the uncored
    detail (the grain), at the edge nearly as much."""
    frame, stylized = soft_edge_frame()
    grainy = noisy(frame, 4 / 255, seed=3).clamp(0, 1)
    added = {coring: add_frame_detail(stylized, grainy, 1.0, coring=coring) - stylized for coring in (0.0, CORING)}
    flat = {coring: float(a[..., 4:24].square().mean()) for coring, a in added.items()}
    edge = {coring: float(a[..., 30:36].square().mean()) for coring, a in added.items()}
    assert flat[CORING] < 0.05 * flat[0.0]
    assert edge[CORING] > 0.5 * edge[0.0]


def tiny_magenta(seed: int, **config: object) -> MagentaStyleNet:
    torch.manual_seed(seed)
    net = build_network({"architecture": "magenta", "channels": [4, 8, 8], "num_residual_blocks": 1,
                         "outer_kernel": 5, **config})
    assert isinstance(net, MagentaStyleNet)
    return net.eval()


def test_frame_detail_round_trips_through_a_checkpoint_and_is_absent_at_zero(tmp_path: Path) -> None:
    plain = tiny_magenta(0)
    plain.save_pretrained(tmp_path / "plain")
    assert "frame_detail" not in json.loads((tmp_path / "plain" / "config.json").read_text())
    detailed = tiny_magenta(0, frame_detail=1.25)
    detailed.save_pretrained(tmp_path / "detailed")
    loaded = load_network(tmp_path / "detailed")
    assert loaded.frame_detail == 1.25 and loaded.config["frame_detail"] == 1.25
    x = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), add_frame_detail(plain(x), x, 1.25))


@pytest.mark.parametrize("value", [-0.5, "1", True, 100.0])
def test_a_bad_frame_detail_is_refused(tmp_path: Path, value: object) -> None:
    tiny_magenta(0, frame_detail=1.0).save_pretrained(tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"frame_detail": value}))
    with pytest.raises(CheckpointError, match="'frame_detail' must be a number from 0 to"):
        load_network(tmp_path)


def test_the_onnx_export_carries_the_detail(tmp_path: Path) -> None:
    """The Live tab and other runtimes get the same frames: the detail is part of the exported graph."""
    torch.manual_seed(0)
    net = build_network({"architecture": "fast", "channels": [4, 8], "num_residual_blocks": 1, "frame_detail": 1.5})
    net.save_pretrained(tmp_path)
    session = ort.InferenceSession(str(export_checkpoint(tmp_path)), providers=["CPUExecutionProvider"])
    frames = example_frames(size=(160, 96))
    ours = Stylizer(load_network(tmp_path))(frames)
    plain = load_network(tmp_path)
    plain.frame_detail = 0.0  # the same weights, no detail
    without = Stylizer(plain)(frames)
    assert np.abs(onnx_stylize(session, frames).astype(int) - ours).max() <= 1
    added = np.abs(ours.astype(int) - without)
    assert added.max() >= 5 and (added >= 1).mean() > 0.02  # the detail is there, on the frames' edges

    # The coring is in the graph too: on grainy frames onnxruntime matches PyTorch, and both differ from the detail
    # added uncored.
    rng = np.random.default_rng(0)
    grainy = np.clip(frames + rng.normal(0.0, 6.0, frames.shape), 0, 255).astype(np.uint8)
    cored = Stylizer(load_network(tmp_path))(grainy)
    exported = onnx_stylize(session, grainy).astype(float)
    assert np.abs(exported - cored).max() <= 1
    x = torch.from_numpy(grainy).permute(0, 3, 1, 2).float() / 255
    with torch.no_grad():
        uncored = add_frame_detail(plain(x), x, 1.5, coring=0.0).mul(255).round().permute(0, 2, 3, 1).numpy()
    assert np.abs(exported - cored).mean() < 0.2 * np.abs(exported - uncored).mean()

    # An export from before the coring (no ``detail_coring`` in its metadata) is stale; so is one after another
    # strength in config.json (the weights unchanged).
    assert is_current(tmp_path)
    proto = onnx.load(str(tmp_path / "model.onnx"))
    kept = [p for p in proto.metadata_props if p.key != "detail_coring"]
    del proto.metadata_props[:]
    proto.metadata_props.extend(kept)
    onnx.save(proto, str(tmp_path / "old.onnx"))
    assert not exported_from(tmp_path / "old.onnx", tmp_path)
    config = json.loads((tmp_path / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps(config | {"frame_detail": 0.5}))
    assert not is_current(tmp_path)


def test_calibration_gives_a_soft_network_its_teachers_detail(tmp_path: Path) -> None:
    teacher = tiny_magenta(3)
    soft = tiny_magenta(3, antialias=True)  # the same weights, blurred inside: less fine detail
    frames = torch.rand(4, 3, 48, 48, generator=torch.Generator().manual_seed(2))
    frames = F.avg_pool2d(frames, 3, stride=1, padding=1)
    strength = matching_strength(soft, teacher, frames)
    with torch.no_grad():
        target, before = detail_energy(teacher(frames)), detail_energy(soft(frames))
        soft.frame_detail = strength
        after = detail_energy(soft(frames))
    assert before < target
    assert 0.0 < strength <= MAX_STRENGTH
    assert after == pytest.approx(target, rel=0.1) or strength == MAX_STRENGTH
    assert matching_strength(teacher, teacher, frames) == 0.0  # as detailed as itself already

    soft.frame_detail = 0.0
    soft.save_pretrained(tmp_path / "soft")
    teacher.save_pretrained(tmp_path / "teacher")
    weights = (tmp_path / "soft" / "model.safetensors").read_bytes()
    assert calibrate_folder(tmp_path / "soft", tmp_path / "teacher", frames) == round(strength, 3)
    assert load_network(tmp_path / "soft").frame_detail == round(strength, 3)
    assert (tmp_path / "soft" / "model.safetensors").read_bytes() == weights


def test_calibration_frames_come_from_the_training_pairs(tiny_data: Path) -> None:
    frames = training_frames(tiny_data, count=3, crop=32, seed=0)
    assert frames.shape == (3, 3, 32, 32) and 0.0 <= float(frames.min()) and float(frames.max()) <= 1.0
    torch.testing.assert_close(frames, training_frames(tiny_data, count=3, crop=32, seed=0))

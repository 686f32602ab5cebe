"""The training loop, resume, export with a model card, and push — on a tiny real data set and real VGG16."""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from huggingface_hub import HfApi, ModelCard
from PIL import Image

from training.config import TrainConfig
from training.data import FramePairDataset
from training.detail_calibration import matching_strength, training_frames
from training.export import distillation_phases, export_style
from training.push import files_to_push, push
from training.flicker_target import adapted_weight
from training.train import CHECKPOINT, FINAL, LOG_FILE, Criterion, train
from training.vgg import fetch_vgg16_weights
from vst.catalog import Style, get_style, read_style_file, write_style_file
from vst.errors import VSTError
from vst.checkpoint_check import load_network
from vst.model import FastStyleNet, MagentaStyleNet, StyleNet
from vst.onnx_export import is_current

REPO = Path(__file__).resolve().parents[2]


def tiny_config(data: Path, painting: Path, runs: Path, **overrides: object) -> TrainConfig:
    fetch_vgg16_weights(offline=True)
    base = TrainConfig(style_image=painting, name="tiny", data_dir=data, runs_dir=runs, channels=(8, 16, 16),
                       num_residual_blocks=1, outer_kernel=3, crop=32, batch_size=2, style_size=64, steps=6,
                       log_every=1, checkpoint_every=3, lr=5e-3, content_layer="relu2_2",
                       style_layers=("relu1_2", "relu2_2"))
    return dataclasses.replace(base, **overrides)


def tiny_distill_args(data: Path, painting: Path, runs: Path, channels: tuple[int, int]) -> list[str]:
    """``python -m training distill`` flags for a tiny two-phase run (two steps, then one with the style loss)."""
    return ["--style-image", str(painting), "--data-dir", str(data), "--runs-dir", str(runs),
            "--channels", *map(str, channels), "--num-residual-blocks", "1", "--crop", "32", "--batch-size", "2",
            "--steps", "2", "--finetune-steps", "1", "--finetune-crop", "32", "--style-size", "64",
            "--content-layer", "relu2_2", "--style-layers", "relu1_2", "relu2_2", "--log-every", "1", "--no-amp"]


def read_log(run: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in (run / LOG_FILE).read_text().splitlines()]


def test_total_loss_falls_when_overfitting_a_fixed_pair(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_data, painting, tmp_path)
    torch.manual_seed(0)
    batch = next(iter(torch.utils.data.DataLoader(FramePairDataset(tiny_data, crop=32), batch_size=2)))
    criterion = Criterion(cfg)
    net = StyleNet(channels=cfg.channels, num_residual_blocks=1, outer_kernel=3)
    optimizer = torch.optim.Adam(net.parameters(), lr=1e-2)
    history = []
    for _ in range(40):
        losses = criterion(net, batch)
        assert set(losses) == {"content", "style", "tv", "temporal"}
        total = sum(losses.values())
        optimizer.zero_grad()
        total.backward()
        optimizer.step()
        history.append(total.item())
    assert history[-1] < 0.6 * history[0]


def test_training_run_logs_and_plots(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_data, painting, tmp_path, steps=4, checkpoint_every=4)
    train(cfg, progress=False)
    log = read_log(cfg.run_dir)
    assert [r["step"] for r in log] == [1, 2, 3, 4] and all(np.isfinite(r["loss"]) for r in log)
    assert {"content", "style", "tv", "temporal", "lr", "seconds"} <= set(log[0])
    assert (cfg.run_dir / "losses.png").stat().st_size > 5000


def test_checkpoint_resume_and_recorded_config(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_data, painting, tmp_path, steps=3)
    train(cfg, progress=False)
    assert json.loads((cfg.run_dir / CHECKPOINT / "state.json").read_text())["step"] == 3
    with (cfg.run_dir / LOG_FILE).open("a") as log:  # an interrupted run logged a step past its last checkpoint
        log.write(json.dumps({"step": 4, "loss": 1.0}) + "\n")
    resumed = dataclasses.replace(cfg, steps=6)
    final = train(resumed, progress=False)
    steps = [r["step"] for r in read_log(cfg.run_dir)]
    assert steps == [1, 2, 3, 4, 5, 6]  # continued, not restarted
    model = StyleNet.from_pretrained(final)
    recorded = model.training_config
    assert recorded["steps"] == 6 and recorded["step"] == 6 and recorded["temporal_weight"] == cfg.temporal_weight
    assert recorded["channels"] == [8, 16, 16]
    assert not list(cfg.run_dir.rglob("*.pt")) and not list(cfg.run_dir.rglob("*.bin"))


def test_framewise_has_no_temporal_term(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    cfg = tiny_config(tiny_data, painting, tmp_path, steps=2, framewise=True, name="fw")
    train(cfg, progress=False)
    assert all("temporal" not in r for r in read_log(cfg.run_dir))


def test_export_writes_card_preview_and_both_variants(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    temporal = train(tiny_config(tiny_data, painting, tmp_path, name="t", steps=2), progress=False)
    framewise = train(tiny_config(tiny_data, painting, tmp_path, name="f", steps=2, framewise=True), progress=False)
    out = tmp_path / "export" / "starry-night"
    metrics = export_style(get_style("starry-night"), temporal, framewise, painting, out,
                           [tiny_data / "raw" / "carphone.mp4"], max_frames=6, max_side=64)
    assert set(metrics) == {"temporal", "framewise"}
    for variant in ("temporal", "framewise"):
        assert (out / variant / "model.safetensors").stat().st_size < 8_000_000
        assert StyleNet.from_pretrained(out / variant).channels == (8, 16, 16)
    card = (out / "README.md").read_text()
    assert card.startswith("---\nlibrary_name: vst\n")
    assert "pipeline_tag: image-to-image" in card and "The Starry Night" in card and "Vincent van Gogh" in card
    assert "commons.wikimedia.org" in card and "$" not in card.replace("$ ", "")
    assert f"{metrics['temporal'].warping_error:.5f}" in card
    assert Image.open(out / "preview.jpg").size[0] > 100
    assert read_style_file(out / "style.json") == get_style("starry-night")  # the metadata travels with the export
    assert ModelCard(card).data.to_dict()["vst_style"] == get_style("starry-night").metadata()  # the Hub's parser
    assert Image.open(out / "painting.jpg").size == (96, 96)  # the stand-in painting, smaller than the thumbnail size
    assert [str(p) for p in files_to_push(out)] == sorted(
        ["README.md", "metrics.json", "preview.jpg", "painting.jpg", "style.json", "framewise/config.json",
         "framewise/model.safetensors", "temporal/config.json", "temporal/model.safetensors"])


def test_distillation_trains_the_fast_network_towards_the_teacher(tiny_data: Path, painting: Path,
                                                                   tmp_path: Path) -> None:
    teacher = train(tiny_config(tiny_data, painting, tmp_path, name="teacher", steps=2), progress=False)
    cfg = tiny_config(tiny_data, painting, tmp_path, name="student", architecture="fast", channels=(4, 8),
                      teacher=teacher, distill_weight=10.0, content_weight=0.0, style_weight=0.0, tv_weight=0.0,
                      steps=40, checkpoint_every=40, lr=1e-2)
    criterion = Criterion(cfg)
    assert not criterion.uses_vgg  # pure distillation needs no loss network
    final = train(cfg, progress=False)
    log = read_log(cfg.run_dir)
    assert {"distill", "temporal", "tv"} <= set(log[0]) and "style" not in log[0] and "content" not in log[0]
    assert np.mean([r["distill"] for r in log[-5:]]) < 0.8 * np.mean([r["distill"] for r in log[:5]])
    student = load_network(final)
    assert isinstance(student, FastStyleNet) and student.training_config["teacher"] == str(teacher)
    with pytest.raises(ValueError, match="distill-weight"):
        Criterion(dataclasses.replace(cfg, distill_weight=0.0))
    with pytest.raises(ValueError, match="fast network"):  # --init-from must match the configured architecture
        train(dataclasses.replace(cfg, name="mismatch", architecture="johnson", channels=(8, 16, 16),
                                  init_from=final), progress=False)


def test_teacher_feature_and_gram_terms_vanish_at_the_teacher(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    """The distillation terms are distances to the teacher's frame: zero for the teacher itself, positive for
    another network; a Gram term needs no painting and no content target."""
    teacher = train(tiny_config(tiny_data, painting, tmp_path, name="teacher", steps=1), progress=False)
    cfg = tiny_config(tiny_data, painting, tmp_path, teacher=teacher, distill_weight=1.0, distill_feature_weight=1.0,
                      distill_gram_weight=1.0, distill_layers=("relu1_2", "relu2_2"), content_weight=0.0,
                      style_weight=0.0)
    criterion = Criterion(cfg)
    assert criterion.uses_vgg and not criterion.uses_painting
    batch = {k: v[None] for k, v in FramePairDataset(tiny_data, crop=32)[0].items()}
    same = criterion(load_network(teacher).eval(), batch)
    torch.manual_seed(5)
    other = criterion(StyleNet(channels=(8, 16, 16), num_residual_blocks=1, outer_kernel=3).eval(), batch)
    for term in ("distill", "distill_feature", "distill_gram"):
        assert same[term].item() < 1e-6 < other[term].item()
    with pytest.raises(ValueError, match="need --teacher"):
        Criterion(dataclasses.replace(cfg, teacher=None, distill_weight=0.0))


def test_antialias_run_starts_from_a_checkpoint_without_it(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    """``--antialias --init-from`` a network trained without it: the same weights, now blurred and bilinear, and the
    exported checkpoint says so."""
    start = train(tiny_config(tiny_data, painting, tmp_path, name="start", steps=1), progress=False)
    cfg = tiny_config(tiny_data, painting, tmp_path, name="smooth", steps=1, antialias=True, init_from=start, lr=0.0)
    final = train(cfg, progress=False)
    before, after = load_network(start), load_network(final)
    assert not before.antialias and after.antialias and after.config["antialias"] is True
    for name, tensor in before.state_dict().items():
        torch.testing.assert_close(after.state_dict()[name], tensor)  # learning rate 0: the weights carried over
    with pytest.raises(ValueError, match="johnson and magenta architectures only"):
        train(dataclasses.replace(cfg, name="fast-aa", architecture="fast", channels=(4, 8), init_from=None),
              progress=False)


def test_outer_kernel_with_init_from_keeps_the_central_taps(tmp_path: Path) -> None:
    """``--outer-kernel 5 --init-from`` a 9×9 network: its first and last convolutions cropped to their central 5×5
    taps, every other weight as it was; a size that is not odd and smaller is refused."""
    from training.train import build_model

    torch.manual_seed(0)
    start = MagentaStyleNet(channels=(4, 8, 8), num_residual_blocks=2)
    start.save_pretrained(tmp_path / "start")
    cfg = TrainConfig(architecture="magenta", channels=(4, 8, 8), num_residual_blocks=2, outer_kernel=5,
                      init_from=tmp_path / "start")
    cheaper = build_model(cfg)
    assert cheaper.outer_kernel == 5 and cheaper.config["outer_kernel"] == 5
    for name, tensor in start.state_dict().items():
        kept = cheaper.state_dict()[name]
        if name in ("encoder.0.1.weight", "decoder.2.1.weight"):
            assert kept.shape[-2:] == (5, 5) and torch.equal(kept, tensor[..., 2:7, 2:7])
        else:
            assert torch.equal(kept, tensor)
    assert cheaper(torch.rand(1, 3, 32, 32)).shape == (1, 3, 32, 32)
    assert build_model(dataclasses.replace(cfg, outer_kernel=9)).outer_kernel == 9  # its own size: nothing cropped
    for kernel in (4, 11):
        with pytest.raises(ValueError, match="odd size below"):
            build_model(dataclasses.replace(cfg, outer_kernel=kernel))


def test_distill_framewise_installs_the_fast_networks_framewise_twin(tiny_data: Path, painting: Path,
                                                                      tmp_path: Path) -> None:
    """``python -m training distill --framewise``: the fast recipe without the temporal term, taught by the framewise
    model, lands in ``<style dir>/fast-framewise/``; the style's other variants are left alone."""
    from training.__main__ import main

    fetch_vgg16_weights(offline=True)
    style_dir = tmp_path / "great-wave"
    for variant, seed in (("temporal", 1), ("framewise", 2)):
        torch.manual_seed(seed)
        StyleNet(channels=(4, 8, 8), num_residual_blocks=1, outer_kernel=3).save_pretrained(style_dir / variant)
    before = {p: p.read_bytes() for p in style_dir.rglob("*") if p.is_file()}
    code = main(["distill", "--slug", "great-wave", "--style-dir", str(style_dir), "--framewise",
                 *tiny_distill_args(tiny_data, painting, tmp_path / "runs", channels=(4, 8))])
    assert code == 0
    twin = load_network(style_dir / "fast-framewise")
    assert isinstance(twin, FastStyleNet) and twin.channels == (4, 8)
    config = twin.training_config
    assert config["framewise"] is True and config["teacher"] == str(style_dir / "framewise")
    for phase in (tmp_path / "runs" / "great-wave-fast-framewise",
                  tmp_path / "runs" / "great-wave-fast-framewise-style"):
        log = read_log(phase)
        assert "distill" in log[0] and not any("temporal" in r for r in log)  # no temporal term in any phase
    assert sorted(p.name for p in (style_dir / "fast-framewise").iterdir()) == ["config.json", "model.safetensors"]
    assert {p: p.read_bytes() for p in before} == before  # temporal/ and framewise/ untouched, no fast/ written
    assert not (style_dir / "fast").exists()


def test_export_with_a_fast_variant(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    temporal = train(tiny_config(tiny_data, painting, tmp_path, name="t", steps=1), progress=False)
    framewise = train(tiny_config(tiny_data, painting, tmp_path, name="f", steps=1, framewise=True), progress=False)
    fast = train(tiny_config(tiny_data, painting, tmp_path, name="q", steps=1, architecture="fast", channels=(4, 8),
                             teacher=temporal, distill_weight=1.0, content_weight=0.0, style_weight=0.0),
                 progress=False)
    out = tmp_path / "export" / "great-wave"
    metrics = export_style(get_style("great-wave"), temporal, framewise, painting, out, [tiny_data / "raw" / "carphone.mp4"],
                           max_frames=4, max_side=64, fast=fast)
    assert set(metrics) == {"temporal", "framewise", "fast"}
    assert isinstance(load_network(out / "fast"), FastStyleNet)
    assert is_current(out / "fast")  # model.onnx for the browser, exported from these very weights
    card = (out / "README.md").read_text()
    assert "| `fast/` |" in card and "## The real-time variant (`fast/`)" in card and "$" not in card.replace("$ ", "")
    assert f"{metrics['fast'].warping_error:.5f}" in card
    assert "fast" in json.loads((out / "metrics.json").read_text())


def test_distillation_history_of_a_network_finetuned_in_place_ends(tmp_path: Path) -> None:
    """A fast network finetuned in its own folder names that folder as ``init_from``: the card's history walk lists
    each phase once and stops (it looped forever on the bundled Great Wave network)."""
    first, bundled = tmp_path / "runs" / "q", tmp_path / "bundled" / "fast"
    phase = {"step": 300, "crop": 192, "batch_size": 2, "distill_weight": 10.0, "temporal_weight": 600.0}
    FastStyleNet(channels=(4, 8), num_residual_blocks=1, training_config=phase).save_pretrained(first)
    finetuned = {**phase, "step": 200, "style_weight": 4.0, "init_from": str(bundled)}
    FastStyleNet(channels=(4, 8), num_residual_blocks=1, training_config=finetuned).save_pretrained(bundled)
    assert distillation_phases(load_network(bundled)) == [
        "200 steps on 192 px crops, 2 pairs per step, loss mean absolute error to the teacher's output ×10.0 + "
        "style ×4.0 + temporal ×600.0"]
    (bundled / "config.json").write_text((bundled / "config.json").read_text().replace(str(bundled), str(first)))
    assert [p.split(" steps")[0] for p in distillation_phases(load_network(bundled))] == ["300", "200"]


def test_distill_live_measures_the_live_network_into_card_and_metrics(tiny_data: Path, painting: Path,
                                                                      tmp_path: Path) -> None:
    """``python -m training distill --live``: the fast network, as teacher, distilled into ``live/`` with its
    ``model.onnx``; its figures join the card and metrics.json (once, also when run again) and the other variants are
    left alone; a later export of the folder keeps it."""
    from training.__main__ import main
    from training.export import LIVE_HEADING, LIVE_ROW, add_live_network

    temporal = train(tiny_config(tiny_data, painting, tmp_path, name="t", steps=1), progress=False)
    framewise = train(tiny_config(tiny_data, painting, tmp_path, name="f", steps=1, framewise=True), progress=False)
    fast = train(tiny_config(tiny_data, painting, tmp_path, name="q", steps=1, architecture="fast", channels=(4, 8),
                             teacher=temporal, distill_weight=1.0, content_weight=0.0, style_weight=0.0),
                 progress=False)
    held_out = [tiny_data / "raw" / "carphone.mp4", tiny_data / "raw" / "bikes.mp4"]
    if not held_out[1].exists():  # `distill` measures on both held-out clips; the tiny data set has one
        held_out[1].write_bytes(held_out[0].read_bytes())
    out = tmp_path / "great-wave"
    export_style(get_style("great-wave"), temporal, framewise, painting, out, held_out, max_frames=4, max_side=64,
                 fast=fast)
    before = {p: p.read_bytes() for v in ("temporal", "framewise", "fast") for p in (out / v).iterdir()}
    code = main(["distill", "--live", "--slug", "great-wave", "--style-dir", str(out),
                 *tiny_distill_args(tiny_data, painting, tmp_path / "runs", channels=(4, 4))])
    assert code == 0
    live = load_network(out / "live")
    assert isinstance(live, FastStyleNet) and live.channels == (4, 4) and len(live.residuals) == 1
    assert live.training_config["teacher"] == str(out / "fast") and live.training_config["temporal_weight"] > 0
    assert is_current(out / "live")  # model.onnx for the browser, exported from these very weights
    assert {p: p.read_bytes() for p in before} == before
    recorded = json.loads((out / "metrics.json").read_text())
    assert {"temporal", "framewise", "fast", "live"} <= set(recorded)
    card = (out / "README.md").read_text()
    assert card.count(LIVE_ROW) == 1 and card.count(LIVE_HEADING) == 1
    assert f"| `live` | {recorded['live']['warping_error']:.5f} |" in card
    assert card.index("| `fast` |") < card.index("| `live` |") < card.index(LIVE_HEADING) < card.index("## Training")

    add_live_network(out, out / "live", painting, held_out, max_frames=4, max_side=64)  # again: replaced, not added
    card = (out / "README.md").read_text()
    assert card.count(LIVE_ROW) == 1 and card.count(LIVE_HEADING) == 1 and card.count("| `live` |") == 1
    live_bytes = (out / "live" / "model.safetensors").read_bytes()
    export_style(get_style("great-wave"), temporal, framewise, painting, out, held_out, max_frames=4, max_side=64,
                 fast=fast)  # exported again (e.g. a new fast network): live/ stays, in the new card too
    assert (out / "live" / "model.safetensors").read_bytes() == live_bytes and is_current(out / "live")
    assert (out / "README.md").read_text().count(LIVE_HEADING) == 1
    assert "live" in json.loads((out / "metrics.json").read_text())


def test_bundle_from_the_teacher_trains_and_exports_all_five_networks(tiny_data: Path, painting: Path,
                                                                      tmp_path: Path) -> None:
    """``python -m training bundle --teacher magenta``: the teacher (Magenta's network with the painting's style
    vector), the temporal model fine-tuned from it, the framewise baseline that is the teacher, and the fast, twin and
    live networks distilled in two phases, exported with a card that names the teacher and its license."""
    from training.__main__ import main
    from vst.teacher import TEACHER_LICENSE

    fetch_vgg16_weights(offline=True)
    bikes = tiny_data / "raw" / "bikes.mp4"
    if not bikes.exists():  # the bundle measures on both held-out clips; the tiny data set has one
        bikes.write_bytes((tiny_data / "raw" / "carphone.mp4").read_bytes())
    out, runs = tmp_path / "my-style", tmp_path / "runs"
    code = main(["bundle", "--slug", "my-style", "--title", "My Style", "--teacher", "magenta",
                 "--style-image", str(painting), "--data-dir", str(tiny_data), "--runs-dir", str(runs),
                 "--out", str(out), "--crop", "32", "--steps", "2", "--fast-steps", "1", "--log-every", "1"])
    assert code == 0
    teacher, temporal, framewise = (load_network(p) for p in (runs / "my-style-teacher", out / "temporal",
                                                              out / "framewise"))
    assert temporal.architecture == framewise.architecture == "magenta"
    assert temporal.training_config["teacher"] == str(runs / "my-style-teacher")
    assert temporal.training_config["step"] == 2 and framewise.training_config["step"] == 0
    for name, tensor in teacher.state_dict().items():  # the framewise baseline is the teacher itself
        assert torch.equal(framewise.state_dict()[name], tensor)
    assert any(not torch.equal(temporal.state_dict()[n], t) for n, t in teacher.state_dict().items())
    log = read_log(runs / "my-style-temporal")
    assert {"distill", "distill_feature", "temporal"} <= set(log[0]) and "style" not in log[0]
    for variant, blocks in (("fast", 2), ("fast-framewise", 2), ("live", 1)):  # the student's network, shortened
        net = load_network(out / variant)
        assert net.architecture == "magenta" and len(net.residuals) == blocks
        assert net.training_config["distill_feature_weight"] > 0 and net.training_config["step"] == 1
    fast, twin = load_network(out / "fast"), load_network(out / "fast-framewise")
    for net in (fast, twin):  # both learn the teacher itself, from its first blocks, with its Gram matrices too
        assert net.training_config["teacher"] == net.training_config["init_from"] == str(runs / "my-style-teacher")
        assert net.training_config["distill_gram_weight"] > 0
        for name, tensor in net.state_dict().items():  # one step away from the teacher's first blocks
            assert name in teacher.state_dict() and tensor.shape == teacher.state_dict()[name].shape
    assert fast.training_config["framewise"] is False and twin.training_config["framewise"] is True
    live = load_network(out / "live")  # learns the fast network as the fast network learns the teacher
    assert live.training_config["teacher"] == live.training_config["init_from"] == str(runs / "my-style-fast" / "model")
    assert live.training_config["distill_gram_weight"] == fast.training_config["distill_gram_weight"]
    assert {"distill_gram", "temporal"} <= set(read_log(runs / "my-style-fast")[0])
    assert not any("temporal" in r for r in read_log(runs / "my-style-fast-framewise"))
    assert is_current(out / "fast") and is_current(out / "live")
    assert {"temporal", "framewise", "fast", "live"} <= set(json.loads((out / "metrics.json").read_text()))
    card = (out / "README.md").read_text()
    assert "## The teacher" in card and TEACHER_LICENSE in card and "$" not in card.replace("$ ", "")
    assert "The teacher's network with only its first 2 residual blocks" in card and "Gram matrices ×" in card
    times = json.loads((runs / "my-style-times.json").read_text())
    assert set(times) == {"teacher", "temporal", "framewise", "fast", "fast-framewise", "live", "detail", "export",
                          "total"}
    # The frame's detail: each calibrated network carries the strength that matches the teacher's fine detail on
    # training frames (0: not written), the card says so, and `training detail` on the exported folder finds the same.
    frames = training_frames(tiny_data)
    for variant in ("temporal", "fast", "fast-framewise"):
        net = load_network(out / variant)
        net.frame_detail = 0.0
        assert load_network(out / variant).frame_detail == round(matching_strength(net, teacher, frames), 3)
    assert ("frame's own fine detail" in card) == (load_network(out / "temporal").frame_detail > 0)
    assert load_network(out / "live").frame_detail == 0.0  # the Live tab's network is left as it is
    before = {v: load_network(out / v).frame_detail for v in ("temporal", "fast", "fast-framewise")}
    assert main(["detail", "--style-dir", str(out), "--style-image", str(painting), "--data-dir", str(tiny_data)]) == 0
    assert {v: load_network(out / v).frame_detail for v in before} == before
    assert is_current(out / "fast") and (out / "metrics.json").is_file()


class RecordingHfApi(HfApi):
    """A real HfApi whose network calls are replaced by recording (the Hub is not reachable from tests)."""

    def __init__(self) -> None:
        super().__init__(token="hf_test_token")
        self.calls: list[tuple[str, dict[str, object]]] = []

    def create_repo(self, repo_id: str, **kwargs: object) -> str:  # type: ignore[override]
        self.calls.append(("create_repo", {"repo_id": repo_id, **kwargs}))
        return f"https://huggingface.co/{repo_id}"

    def upload_folder(self, **kwargs: object):  # type: ignore[override]
        self.calls.append(("upload_folder", kwargs))
        return type("CommitInfo", (), {"commit_url": f"https://huggingface.co/{kwargs['repo_id']}/commit/abc"})()


def test_push_dry_run_real_call_and_missing_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "style"
    StyleNet(channels=(4, 8, 8), num_residual_blocks=1).save_pretrained(folder / "temporal")
    (folder / "README.md").write_text("card")
    with pytest.raises(VSTError, match="has no style.json"):
        push(folder, "me/vst-x", dry_run=True)
    write_style_file(Style("x", "X"), folder)
    listing = push(folder, "me/vst-x", dry_run=True)
    assert "would upload me/vst-x/temporal/model.safetensors" in listing

    api = RecordingHfApi()
    url = push(folder, "me/vst-x", api=api)
    assert url.endswith("/commit/abc")
    assert [name for name, _ in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[1][1]["folder_path"] == folder

    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "empty-hf-home"))
    code = ("from pathlib import Path; from training.push import push; "
            f"push(Path({str(folder)!r}), 'me/vst-x')")
    proc = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != "HF_TOKEN"} | {"HF_HOME": str(tmp_path / "h")})
    assert proc.returncode != 0 and "no Hugging Face token" in proc.stderr
    with pytest.raises(VSTError, match="not an exported style folder"):
        push(tmp_path, "me/vst-x", dry_run=True)


@pytest.mark.slow
def test_torchrun_data_parallel_on_cpu(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    """Two processes with DDP over gloo train the same network; rank 0 writes the result."""
    env = dict(os.environ, PYTHONPATH=str(REPO), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2", "--master_port=29517", "-m", "training",
           "train", "--style-image", str(painting), "--name", "ddp", "--data-dir", str(tiny_data), "--runs-dir",
           str(tmp_path), "--channels", "8", "16", "16", "--num-residual-blocks", "1", "--outer-kernel", "3",
           "--crop", "32", "--style-size", "64", "--steps", "3", "--log-every", "1", "--content-layer", "relu2_2",
           "--style-layers", "relu1_2", "relu2_2", "--no-amp"]
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert StyleNet.from_pretrained(tmp_path / "ddp" / FINAL).channels == (8, 16, 16)
    assert [r["step"] for r in read_log(tmp_path / "ddp")] == [1, 2, 3]
    torch.testing.assert_close(  # DDP keeps the replicas identical: the saved model is finite and trained
        torch.isfinite(next(StyleNet.from_pretrained(tmp_path / "ddp" / FINAL).parameters())).all(), torch.tensor(True))


def test_adapted_weight_follows_the_ratio_within_a_factor_of_two() -> None:
    assert adapted_weight(100.0, 0.6, 0.3) == 200.0  # twice the target: twice the weight
    assert adapted_weight(100.0, 0.9, 0.3) == 200.0  # clamped
    assert adapted_weight(100.0, 0.24, 0.3) == pytest.approx(80.0)
    assert adapted_weight(100.0, 0.01, 0.3) == 50.0
    assert adapted_weight(100.0, 0.24, 0.3, floor=100.0) == 100.0  # steadier than the target: the run's weight stays
    assert adapted_weight(100.0, 0.6, 0.3, floor=100.0) == 200.0


def test_temporal_target_adapts_the_weight_against_the_teachers_flicker(tiny_data: Path, painting: Path,
                                                                       tmp_path: Path) -> None:
    """With --temporal-target the weight moves every few steps by the probe's flicker ratio, is logged, kept in the
    checkpoint for a resumed run, and recorded in the final network's config; without --teacher it is refused."""
    teacher = train(tiny_config(tiny_data, painting, tmp_path, name="teacher", steps=2), progress=False)
    cfg = tiny_config(tiny_data, painting, tmp_path, name="targeted", teacher=teacher, init_from=teacher,
                      distill_weight=1.0, temporal_weight=300.0, temporal_target=0.5, temporal_adapt_every=2, steps=4)
    final = train(cfg, progress=False)
    log = read_log(tmp_path / "targeted")
    assert "flicker_ratio" not in log[0]  # measured at steps 2 and 4, then logged with each step
    ratio, weight = log[1]["flicker_ratio"], log[1]["temporal_weight"]
    assert ratio > 0 and weight == pytest.approx(adapted_weight(300.0, ratio, 0.5, floor=300.0)) and weight != 300.0
    assert log[3]["flicker_ratio"] != ratio and log[3]["temporal_weight"] == weight  # the last step keeps the weight
    config = load_network(final).training_config
    assert config["temporal_target"] == 0.5 and config["flicker_ratio"] == log[3]["flicker_ratio"]
    assert config["temporal_weight"] == weight
    resumed = train(dataclasses.replace(cfg, steps=5), progress=False)
    log = read_log(tmp_path / "targeted")
    assert [r["step"] for r in log] == [1, 2, 3, 4, 5] and "flicker_ratio" in log[4]
    assert load_network(resumed).training_config["step"] == 5
    with pytest.raises(ValueError, match="needs --teacher"):
        train(dataclasses.replace(cfg, name="no-teacher", teacher=None, init_from=None, distill_weight=0.0),
              progress=False)


def test_push_takes_the_any_painting_folder_with_both_variants_checked(tmp_path: Path) -> None:
    """The any-painting network's folder pushes as it is (no style.json); a variant in another format is refused."""
    import shutil

    from vst.catalog import ANY_PAINTING, PACKAGE_CHECKPOINT_DIR
    from vst.errors import CheckpointError

    folder = tmp_path / ANY_PAINTING
    shutil.copytree(PACKAGE_CHECKPOINT_DIR / ANY_PAINTING, folder)
    listing = push(folder, "me/vst-any-painting", dry_run=True)
    assert "would upload me/vst-any-painting/temporal/model.safetensors" in listing
    assert "would upload me/vst-any-painting/framewise/config.json" in listing
    StyleNet(channels=(4, 8, 8), num_residual_blocks=1).save_pretrained(folder / "framewise")
    with pytest.raises(CheckpointError, match="any-painting network"):
        push(folder, "me/vst-any-painting", dry_run=True)


def test_cards_name_the_input_noise_when_a_run_used_it() -> None:
    """A run with ``--input-noise`` says so where the card describes its training; a run without it says nothing."""
    from training.export import _fast_phase

    tc = {"step": 150, "crop": 192, "batch_size": 2, "distill_weight": 10.0, "temporal_weight": 200.0}
    assert "noise" not in _fast_phase(tc) and "noise" not in _fast_phase(tc | {"input_noise": 0.0})
    assert "pairs per step; inputs with Gaussian noise of σ up to 0.04, targets from the clean frames, loss" in \
        _fast_phase(tc | {"input_noise": 0.04})

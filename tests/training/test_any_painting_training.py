"""The any-painting network's training: the conditional forward pass, the style bank, and a tiny real run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from training.any_painting import (
    ConditionalNetwork,
    bank_pictures,
    sample_styles,
    style_bank,
    train_any_painting,
)
from training.config import AnyPaintingConfig
from training.train import Criterion
from training.vgg import fetch_vgg16_weights
from vst.teacher import load_teacher


@pytest.fixture(scope="module")
def teacher() -> torch.nn.Module:
    return load_teacher()


def test_conditional_pass_renders_each_frame_with_its_own_painting(teacher: torch.nn.Module) -> None:
    """A batch with one style vector per frame gives, frame by frame, what the teacher fixed to that vector gives."""
    torch.manual_seed(0)
    frames, styles = torch.rand(3, 3, 32, 48), torch.randn(3, 100)
    conditional = ConditionalNetwork(load_teacher())
    with torch.no_grad():
        batched = conditional(frames, styles)
        one_by_one = torch.cat([teacher.fixed(styles[i])(frames[i:i + 1]) for i in range(3)])
    assert batched.shape == (3, 3, 32, 48)
    assert torch.allclose(batched, one_by_one, atol=1e-4)
    assert not torch.allclose(batched[0], conditional(frames[:1], styles[1:2])[0].detach(), atol=1e-3)
    restored = conditional.restore()
    with torch.no_grad():
        assert torch.allclose(restored.fixed(styles[0])(frames[:1]), one_by_one[:1], atol=1e-5)


def test_gradients_reach_the_trunk_and_the_style_heads() -> None:
    conditional = ConditionalNetwork(load_teacher())
    conditional(torch.rand(2, 3, 16, 16), torch.randn(2, 100)).mean().backward()
    t = conditional.transform
    assert t.scale_heads[0].weight.grad is not None and t.scale_heads[0].weight.grad.abs().sum() > 0
    assert t.trunk.encoder[0][1].weight.grad is not None


def test_sampled_styles_are_bank_vectors_or_blends_of_two() -> None:
    bank = torch.tensor([[0.0, 0.0], [1.0, 2.0], [3.0, -1.0]])
    plain = sample_styles(bank, 50, 0.0, torch.Generator().manual_seed(0))
    assert all(any(torch.equal(row, b) for b in bank) for row in plain)
    mixed = sample_styles(bank, 200, 1.0, torch.Generator().manual_seed(0))
    assert (mixed >= bank.min(0).values - 1e-6).all() and (mixed <= bank.max(0).values + 1e-6).all()
    assert sum(not any(torch.equal(row, b) for b in bank) for row in mixed) > 100


def test_style_bank_keeps_holdout_paintings_out_and_caches_vectors(tiny_data: Path, painting: Path,
                                                                   tmp_path: Path) -> None:
    cfg = AnyPaintingConfig(data_dir=tiny_data, paintings=(painting,), holdout=(painting.stem,))
    with pytest.raises(ValueError, match="style bank is empty"):
        bank_pictures(cfg)
    pictures = bank_pictures(AnyPaintingConfig(data_dir=tiny_data, paintings=(painting,)))
    assert pictures == [painting]
    cache = tmp_path / "bank.safetensors"
    first = style_bank(pictures, cache)
    assert first.shape == (1, 100) and cache.is_file()
    assert torch.equal(style_bank(pictures, cache), first)


def test_per_step_teacher_is_given_exactly_when_asked_for() -> None:
    criterion = Criterion(AnyPaintingConfig().criterion_config(), teacher_per_step=True)
    batch = {"frame_t": torch.rand(1, 3, 16, 16), "frame_t1": torch.rand(1, 3, 16, 16),
             "flow_back": torch.zeros(1, 2, 16, 16), "weights": torch.ones(1, 1, 16, 16)}
    with pytest.raises(ValueError, match="teacher is given with each call"):
        criterion(lambda x: x, batch)


def test_tiny_run_starts_at_the_teacher_trains_and_resumes(tiny_data: Path, painting: Path, tmp_path: Path) -> None:
    """Step 1 starts at the teacher (the distillation terms are zero); the run moves the weights, logs, checkpoints,
    and a longer rerun resumes where it stopped."""
    fetch_vgg16_weights(offline=True)
    cfg = AnyPaintingConfig(data_dir=tiny_data, runs_dir=tmp_path, paintings=(painting,), crop=32, steps=2,
                            log_every=1, checkpoint_every=1, lr=1e-3)
    trained = train_any_painting(cfg, progress=False)
    log = [json.loads(line) for line in (cfg.run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    assert log[0]["distill"] < 1e-5 and log[0]["distill_feature"] < 1e-5 and log[0]["temporal"] > 0
    assert log[1]["distill"] > 0
    start = load_teacher().state_dict()
    assert any(not torch.equal(v, start[k]) for k, v in trained.state_dict().items())
    assert (cfg.run_dir / "losses.png").is_file()
    longer = train_any_painting(AnyPaintingConfig(**{**cfg.__dict__, "steps": 3}), progress=False)
    log = [json.loads(line) for line in (cfg.run_dir / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log] == [1, 2, 3]
    assert any(not torch.equal(v, trained.state_dict()[k]) for k, v in longer.state_dict().items())


def test_command_trains_and_writes_the_temporal_variant_with_its_card(tiny_data: Path, painting: Path,
                                                                      tmp_path: Path) -> None:
    """``python -m training any-painting``: the network in vst.conditional's format, loadable, with its recipe and
    a model card; a missing painting is one line before any work."""
    from training.__main__ import main
    from vst.conditional import load_conditional

    fetch_vgg16_weights(offline=True)
    out = tmp_path / "temporal"
    assert main(["any-painting", "--data-dir", str(tiny_data), "--runs-dir", str(tmp_path / "runs"), "--paintings",
                 str(painting), "--steps", "1", "--crop", "32", "--out", str(out)]) == 0
    net = load_conditional(out)
    assert net.training_config["variant"] == "temporal" and net.training_config["steps"] == 1
    assert net.training_config["bank_size"] == 1
    assert "Any painting — temporal" in (out / "README.md").read_text()
    assert main(["any-painting", "--data-dir", str(tiny_data), "--paintings", str(tmp_path / "none.jpg")]) == 2


def test_the_lighter_variant_starts_shortened_and_learns_the_whole_network(tiny_data: Path, painting: Path,
                                                                             tmp_path: Path) -> None:
    """``--from … --blocks 1 --variant live``: one residual block, started from the trained network's first one, its
    recipe and card recorded; ``--blocks`` without ``--from`` is one line before any work."""
    from training.__main__ import main
    from vst.conditional import load_conditional, save_conditional
    from vst.teacher import MagentaTransform

    fetch_vgg16_weights(offline=True)
    torch.manual_seed(0)
    whole = save_conditional(MagentaTransform(), tmp_path / "whole", note="test")
    out = tmp_path / "live"
    assert main(["any-painting", "--data-dir", str(tiny_data), "--runs-dir", str(tmp_path / "runs"), "--paintings",
                 str(painting), "--steps", "1", "--crop", "32", "--from", str(whole), "--blocks", "1",
                 "--variant", "live", "--name", "live-test", "--out", str(out)]) == 0
    net = load_conditional(out)
    assert net.num_residual_blocks == 1
    record = net.training_config
    assert record["variant"] == "live" and record["residual_blocks"] == 1 and record["start_from"] == str(whole)
    assert record["lr"] == 1e-4 and record["temporal_weight"] == 20.0 and record["distill_feature_weight"] == 5.0
    log = [json.loads(line) for line in (tmp_path / "runs" / "live-test" / "log.jsonl").read_text().splitlines()]
    assert log[0]["distill"] > 0  # one block is not the whole network: there is something to learn
    card = (out / "README.md").read_text()
    assert "Any painting — live" in card and "first 1 residual block(s)" in card
    assert main(["any-painting", "--data-dir", str(tiny_data), "--paintings", str(painting), "--blocks", "1"]) == 2

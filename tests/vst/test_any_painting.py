"""The any-painting network: its checkpoint format, the bundled framewise variant, variant resolution and a picture's
network, with real forward passes of the teacher's network."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from PIL import Image
from safetensors.torch import load_file, save_file

from tests.support.clips import make_painting
from vst.any_painting import (
    RECORD_KEY,
    any_painting_folder,
    network_for_picture,
    output_metadata,
    read_picture_record,
)
from vst.catalog import ANY_PAINTING, PACKAGE_CHECKPOINT_DIR, bundled_styles
from vst.checkpoint_check import load_network
from vst.conditional import load_conditional, save_conditional
from vst.detail import add_frame_detail
from vst.errors import CheckpointError, StyleNotFoundError, VSTError
from vst.model import MagentaStyleNet
from vst.mp4_checks import is_browser_playable
from vst.pipeline import stylize_video
from vst.style_picture import open_style_picture
from vst.teacher import STYLE_DIM, MagentaTransform, load_teacher, style_predictor, teacher_for_painting

pytest.importorskip("onnxruntime")
BUNDLED_FRAMEWISE = PACKAGE_CHECKPOINT_DIR / ANY_PAINTING / "framewise"


def one_line_error(kind: type[VSTError], call: object, *needles: str) -> str:
    with pytest.raises(kind) as info:
        call()  # type: ignore[operator]
    message = str(info.value)
    assert message and "\n" not in message, message
    for needle in needles:
        assert needle in message, message
    return message


@pytest.fixture
def saved(tmp_path: Path) -> Path:
    """A randomly initialised any-painting network saved in ``tmp_path/net``."""
    torch.manual_seed(0)
    return save_conditional(MagentaTransform(), tmp_path / "net", note="test")


# -- the format ------------------------------------------------------------------------------------------------------


def test_save_and_load_round_trip(saved: Path) -> None:
    assert sorted(p.name for p in saved.iterdir()) == ["config.json", "model.safetensors"]
    config = json.loads((saved / "config.json").read_text())
    assert config == {"architecture": "magenta-conditional", "style_dim": STYLE_DIM,
                      "training_config": {"note": "test"}}
    torch.manual_seed(0)
    original = MagentaTransform().eval()
    loaded = load_conditional(saved)
    assert isinstance(loaded, MagentaTransform) and not loaded.training
    assert loaded.training_config == {"note": "test"}
    for (name, a), (other, b) in zip(original.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert name == other and torch.equal(a, b), name
    x, style = torch.rand(1, 3, 24, 32), torch.randn(STYLE_DIM)
    with torch.no_grad():
        assert torch.equal(original(x, style), loaded(x, style))


def test_the_frame_detail_reaches_every_network_made_from_it(saved: Path) -> None:
    """A strength in config.json (vst.detail) is kept through save and load and given to each painting's network."""
    net = load_conditional(saved)
    assert net.frame_detail == 0.0 and net.fixed(torch.randn(STYLE_DIM)).frame_detail == 0.0
    net.frame_detail = 1.25
    save_conditional(net, saved, **net.training_config)
    assert json.loads((saved / "config.json").read_text())["frame_detail"] == 1.25
    loaded = load_conditional(saved)
    style = torch.randn(STYLE_DIM)
    fixed = loaded.fixed(style)
    assert fixed.frame_detail == 1.25
    x = torch.rand(1, 3, 24, 32)
    with torch.no_grad():
        detailed = fixed(x)
        loaded.frame_detail = 0.0
        assert torch.allclose(detailed, add_frame_detail(loaded(x, style), x, 1.25), atol=1e-6)


@pytest.mark.parametrize("config, needle", [
    ("{not json", "not valid JSON"),
    ("[1, 2]", "must hold a JSON object"),
    ('{"architecture": "magenta", "style_dim": 100}', "not the any-painting network's"),
    ('{"architecture": "magenta-conditional", "style_dim": 50}', "'style_dim' must be 100"),
    ('{"architecture": "magenta-conditional", "style_dim": true}', "'style_dim' must be 100"),
    ('{"architecture": "magenta-conditional", "style_dim": 100, "channels": [8]}', "unknown key(s) channels"),
    ('{"architecture": "magenta-conditional", "style_dim": 100, "training_config": "x"}', "'training_config'"),
    ('{"architecture": "magenta-conditional", "style_dim": 100, "frame_detail": -1}', "'frame_detail' must be"),
    ('{"architecture": "magenta-conditional", "style_dim": 100, "num_residual_blocks": 0}', "from 1 to 5"),
    ('{"architecture": "magenta-conditional", "style_dim": 100, "num_residual_blocks": 6}', "from 1 to 5"),
    ('{"architecture": "magenta-conditional", "style_dim": 100, "num_residual_blocks": 1.5}', "from 1 to 5"),
    ('{"architecture": "magenta-conditional", "style_dim": 100, "num_residual_blocks": true}', "from 1 to 5"),
])
def test_a_damaged_config_is_one_line(saved: Path, config: str, needle: str) -> None:
    (saved / "config.json").write_text(config)
    one_line_error(CheckpointError, lambda: load_conditional(saved), str(saved / "config.json"), needle)


def test_missing_files_and_damaged_weights_are_one_line(saved: Path) -> None:
    weights = saved / "model.safetensors"
    tensors = load_file(str(weights))
    name = "scale_heads.0.weight"
    save_file({k: v for k, v in tensors.items() if k != name}, str(weights))
    one_line_error(CheckpointError, lambda: load_conditional(saved), "missing 1 tensor(s): scale_heads.0.weight")
    save_file(tensors | {name: torch.zeros(3, 3)}, str(weights))
    one_line_error(CheckpointError, lambda: load_conditional(saved), "scale_heads.0.weight has shape [3, 3]")
    torch.save(tensors, weights)  # a pickle is never loaded
    one_line_error(CheckpointError, lambda: load_conditional(saved), "not a valid safetensors file")
    weights.unlink()
    one_line_error(CheckpointError, lambda: load_conditional(saved), "model.safetensors is missing")
    (saved / "config.json").unlink()
    one_line_error(CheckpointError, lambda: load_conditional(saved), "config.json is missing")


def test_a_shortened_network_keeps_its_first_blocks_and_their_style_heads(tmp_path: Path) -> None:
    """``shortened(k)``: the trunk less blocks k.., the heads of the kept norms (two a block, then the decoder's
    three), its own size in ``config.json``; kept whole, it renders as the original does."""
    torch.manual_seed(0)
    whole = MagentaTransform()
    whole.frame_detail = 0.5
    short = whole.shortened(1)
    assert short.num_residual_blocks == 1 and len(short.scale_heads) == 5 and short.frame_detail == 0.5
    for k, i in enumerate([0, 1, 10, 11, 12]):
        assert torch.equal(short.scale_heads[k].weight, whole.scale_heads[i].weight)
        assert torch.equal(short.offset_heads[k].bias, whole.offset_heads[i].bias)
    assert torch.equal(short.trunk.residuals[0].body[2].weight, whole.trunk.residuals[0].body[2].weight)
    style, frames = torch.randn(100), torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        assert torch.allclose(whole.shortened(5).fixed(style)(frames), whole.fixed(style)(frames))
        assert not torch.allclose(short.fixed(style)(frames), whole.fixed(style)(frames), atol=1e-3)
    with pytest.raises(ValueError, match="1..5"):
        whole.shortened(0)
    folder = save_conditional(short, tmp_path / "short", note="test")
    assert json.loads((folder / "config.json").read_text())["num_residual_blocks"] == 1
    loaded = load_conditional(folder)
    assert loaded.num_residual_blocks == 1
    with torch.no_grad():
        assert torch.equal(loaded.fixed(style)(frames), short.fixed(style)(frames))
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "num_residual_blocks": 2}))
    one_line_error(CheckpointError, lambda: load_conditional(folder), "does not match config.json", "missing")


def test_a_style_loader_refuses_the_any_painting_folder_by_name() -> None:
    one_line_error(CheckpointError, lambda: load_network(BUNDLED_FRAMEWISE), "any-painting network", "--style-image")


# -- the bundled framewise variant -------------------------------------------------------------------------------


def test_bundled_framewise_is_the_teacher_small_and_without_pickles() -> None:
    files = {p.name: p.stat().st_size for p in BUNDLED_FRAMEWISE.iterdir()}
    assert set(files) == {"config.json", "model.safetensors", "README.md"}
    assert files["model.safetensors"] < 2_000_000
    loaded, teacher = load_conditional(BUNDLED_FRAMEWISE), load_teacher()
    assert loaded.training_config["variant"] == "framewise" and loaded.training_config["steps"] == 0
    for (name, a), b in zip(loaded.state_dict().items(), teacher.state_dict().values(), strict=True):
        assert torch.equal(a, b), name


def test_the_any_painting_folder_is_not_a_style(tmp_path: Path) -> None:
    shutil.copytree(BUNDLED_FRAMEWISE, tmp_path / ANY_PAINTING / "framewise")
    styles, problems = bundled_styles(tmp_path)
    assert styles == [] and problems == []


# -- resolving a variant ---------------------------------------------------------------------------------------------


def test_a_missing_temporal_variant_names_its_folder_and_suggests_framewise(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(BUNDLED_FRAMEWISE, tmp_path / ANY_PAINTING / "framewise")
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(tmp_path))
    assert any_painting_folder("framewise") == tmp_path / ANY_PAINTING / "framewise"
    one_line_error(StyleNotFoundError, lambda: any_painting_folder("temporal"),
                   str(tmp_path / ANY_PAINTING / "temporal"), "not installed", "--variant framewise")
    one_line_error(StyleNotFoundError, lambda: network_for_picture(tmp_path / "unread.png", variant="temporal"),
                   "--variant framewise")  # before the picture is even opened


def test_no_variant_installed_says_how_to_write_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(tmp_path))
    one_line_error(StyleNotFoundError, lambda: any_painting_folder("framewise"), "any-painting-teacher")


def test_other_variants_are_refused() -> None:
    one_line_error(StyleNotFoundError, lambda: any_painting_folder("fast"), "temporal, framewise, live, not 'fast'")


def test_a_missing_live_variant_says_how_to_train_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    shutil.copytree(BUNDLED_FRAMEWISE, tmp_path / ANY_PAINTING / "framewise")
    monkeypatch.setenv("VST_CHECKPOINT_DIR", str(tmp_path))
    monkeypatch.setenv("VST_ANY_PAINTING_REPO", "")
    one_line_error(StyleNotFoundError, lambda: any_painting_folder("live"), str(tmp_path / ANY_PAINTING / "live"),
                   "--blocks 2 --variant live")


# -- a picture's network --------------------------------------------------------------------------------------------


def test_framewise_network_for_a_picture_is_the_teacher_for_it(tmp_path: Path) -> None:
    path = make_painting(tmp_path / "painting.png")
    picture = open_style_picture(path)
    net = network_for_picture(picture, variant="framewise")
    assert isinstance(net, MagentaStyleNet) and not net.training
    x = torch.rand(1, 3, 32, 48)
    with torch.no_grad():
        assert torch.allclose(net(x), teacher_for_painting(picture.image)(x), atol=1e-6)
    record = net.training_config[RECORD_KEY]
    assert record["sha256"] == picture.sha256 and record["variant"] == "framewise" and record["strength"] == 1.0
    assert "content_vector" not in record
    vector = style_predictor()(picture.image)
    assert torch.equal(torch.tensor(record["style_vector"], dtype=torch.float32), vector)  # exact float32 values
    comment = json.loads(output_metadata(net)["comment"])
    assert comment == {RECORD_KEY: record}


def test_strength_mixes_in_the_content_vector(tmp_path: Path) -> None:
    picture = open_style_picture(make_painting(tmp_path / "painting.png"))
    content = Image.open(make_painting(tmp_path / "photo.png", seed=5))
    one_line_error(VSTError, lambda: network_for_picture(picture, strength=0.5, variant="framewise"),
                   "content picture")
    one_line_error(VSTError, lambda: network_for_picture(picture, strength=1.5, variant="framewise"),
                   "between 0 and 1")
    net = network_for_picture(picture, strength=0.25, variant="framewise", content=content)
    record = net.training_config[RECORD_KEY]
    painting, mixed_in = (torch.tensor(record[k]) for k in ("style_vector", "content_vector"))
    expected = load_teacher().fixed(0.25 * painting + 0.75 * mixed_in)
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        assert torch.allclose(net(x), expected(x), atol=1e-5)
    assert record["strength"] == 0.25


def test_stylize_video_takes_a_picture_and_records_it(clip_mp4: Path, tmp_path: Path) -> None:
    path = make_painting(tmp_path / "painting.webp")
    out = tmp_path / "out.mp4"
    picture = open_style_picture(path)
    result = stylize_video(clip_mp4, out, style=picture, variant="framewise", strength=0.8, max_side=32, device="cpu")
    assert result.frames == 24 and (result.width, result.height) == (32, 24) and is_browser_playable(out)
    record = read_picture_record(out)
    assert record is not None and record["sha256"] == picture.sha256 and record["strength"] == 0.8
    assert len(record["style_vector"]) == len(record["content_vector"]) == STYLE_DIM
    one_line_error(VSTError, lambda: stylize_video(clip_mp4, tmp_path / "x.mp4", style="starry-night", strength=0.5),
                   "style picture only")
    assert read_picture_record(clip_mp4) is None


def test_the_bundled_temporal_network_steadies_a_painting_it_never_saw(clip_mp4: Path, tmp_path: Path) -> None:
    """A generated picture (in no style bank) through the bundled temporal any-painting network flickers less than
    through the teacher (the framewise variant) on the same real clip, measured by the pipeline's warping error."""
    painting = make_painting(tmp_path / "unseen.png", seed=11, size=(128, 96))
    errors = {}
    for variant in ("temporal", "framewise"):
        result = stylize_video(clip_mp4, tmp_path / f"{variant}.mp4", style=open_style_picture(painting),
                               variant=variant, max_side=64, device="cpu", measure_flicker=True)
        errors[variant] = result.mean_warping_error()[variant]
    assert errors["temporal"] < errors["framewise"], errors

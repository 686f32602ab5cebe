"""benchmarks/look_test.py end to end on real tiny clips and tiny checkpoints: blind sheets, a key apart, scoring."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
from PIL import Image

from benchmarks.look_sheets import CAPTION_HEIGHT, PAD, assign_sides, panel_box, pick_frames, sheet_size
from tests.support.clips import make_clip
from tests.support.model_fixtures import make_tiny_checkpoint
from vst.checkpoint_check import load_network
from vst.pipeline import Stylizer
from vst.video import VideoReader

ROOT = Path(__file__).resolve().parents[2]
CLIP_SIZES = {"c1.mp4": (64, 48, 24), "c2.mp4": (80, 48, 30)}  # width, height, frames
SYSTEMS = ("ours-v2", "baseline-x")


def _load_script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("look_test", ROOT / "benchmarks" / "look_test.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["look_test"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


lt = _load_script()


@pytest.fixture(scope="module")
def inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A portrait painting, two clips of different sizes, two tiny checkpoints (different seeds)."""
    root = tmp_path_factory.mktemp("look")
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (50, 30, 3), dtype=np.uint8)).save(root / "painting.png")
    for i, (name, (w, h, n)) in enumerate(CLIP_SIZES.items()):
        make_clip(root / name, width=w, height=h, num_frames=n, seed=i)
    make_tiny_checkpoint(root / "ours", seed=1)
    make_tiny_checkpoint(root / "base", seed=2)
    return {"root": root, "painting": root / "painting.png", "ours": root / "ours", "base": root / "base"}


def _make(inputs: dict[str, Path], name: str, trials: int, seed: int = 0, **over: str) -> tuple[int, Path, Path]:
    root = inputs["root"]
    out, key = over.get("out", root / name / "sheets"), over.get("key", root / name / "key")
    argv = ["make", "--style-image", str(inputs["painting"]), "--title", "Test Painting",
            "--a", over.get("a", f"{SYSTEMS[0]}={inputs['ours']}"),
            "--b", over.get("b", f"{SYSTEMS[1]}={inputs['base']}"),
            "--clips", str(root / "c1.mp4"), str(root / "c2.mp4"), "--trials", str(trials), "--seed", str(seed),
            "--max-side", "360", "--out", str(out), "--key", str(key)]
    return lt.main(argv), Path(out), Path(key)


def _frames(clip: str) -> list[np.ndarray]:
    """Every frame of ``clip`` as the script decodes it: ``(H, W, 3)`` uint8."""
    with VideoReader(clip, max_side=360) as reader:
        return [image for image, _, _ in reader.frames()]


def _mae(x: np.ndarray, y: np.ndarray) -> float:
    return float(np.abs(x.astype(np.float64) - y).mean())


@pytest.fixture(scope="module")
def eight(inputs: dict[str, Path]) -> tuple[Path, Path]:
    code, out, key = _make(inputs, "eight", 8, seed=0)
    assert code == 0
    return out, key


def test_make_writes_blind_sheets_and_a_key_apart(inputs: dict[str, Path]) -> None:
    code, out, key_dir = _make(inputs, "three", 3)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["QUESTIONS.md", "trial_01.png", "trial_02.png", "trial_03.png"]
    assert [p.name for p in key_dir.iterdir()] == ["key.json"]
    key = json.loads((key_dir / "key.json").read_text())
    assert key["title"] == "Test Painting"
    assert [s["name"] for s in key["systems"]] == list(SYSTEMS)
    assert [t["id"] for t in key["trials"]] == ["trial_01", "trial_02", "trial_03"]
    stylizers = {name: Stylizer(load_network(inputs[folder]), "cpu")
                 for name, folder in zip(SYSTEMS, ("ours", "base"), strict=True)}
    for trial in key["trials"]:
        assert {trial["A"], trial["B"]} == set(SYSTEMS)
        w, h, n = CLIP_SIZES[Path(trial["clip"]).name]
        assert 0 <= trial["frame"] < n
        sheet_path = out / trial["sheet"]
        data = sheet_path.read_bytes()
        assert not any(name.encode() in data for name in SYSTEMS)
        with Image.open(sheet_path) as sheet:
            assert sheet.format == "PNG" and not sheet.getexif() and not sheet.info.get("comment")
            assert sheet.size == sheet_size(w, h) == (PAD + 2 * (w + PAD), 2 * (CAPTION_HEIGHT + h) + PAD)
            panels = [np.asarray(sheet.crop(panel_box(j, w, h))) for j in range(4)]
        assert trial["sheet_sha256"] == hashlib.sha256(data).hexdigest()
        frames = _frames(trial["clip"])
        photo = frames[trial["frame"]]
        errors = [_mae(panels[1], f) for f in frames]  # the photo panel is the keyed frame (lossless)
        assert errors[trial["frame"]] < 4 and int(np.argmin(errors)) == trial["frame"]
        renders = {name: s(photo[None])[0] for name, s in stylizers.items()}
        for side, panel in zip("AB", panels[2:], strict=True):
            shown, other = trial[side], next(s for s in SYSTEMS if s != trial[side])
            assert _mae(panel, renders[shown]) < 6 < _mae(panel, renders[other]), (trial, side)
    questions = (out / "QUESTIONS.md").read_text()
    assert "which would a visitor prefer as this photo painted in this style: A or B?" in questions
    assert '{"trial_01": "A", "trial_02": "B", ...}' in questions and '"reasons"' in questions
    assert not any(name in questions for name in SYSTEMS)


def test_frames_are_spread_and_sides_balanced(inputs: dict[str, Path], eight: tuple[Path, Path]) -> None:
    out, key_dir = eight
    trials = json.loads((key_dir / "key.json").read_text())["trials"]
    assert len(trials) == 8 and len(list(out.glob("trial_*.png"))) == 8
    assert sum(t["A"] == SYSTEMS[0] for t in trials) == 4  # not all on one side: each system is A half the time
    by_clip: dict[str, list[int]] = {}
    for t in trials:
        by_clip.setdefault(Path(t["clip"]).name, []).append(t["frame"])
    assert sorted(len(v) for v in by_clip.values()) == [4, 4]
    for frames in by_clip.values():
        frames.sort()
        assert min(np.diff(frames)) >= 2  # spread in time, never adjacent
    # the same seed gives the same trials; another seed other ones
    code, _, again = _make(inputs, "eight-again", 8, seed=0)
    assert code == 0
    strip = [{k: t[k] for k in ("A", "B", "clip", "frame")} for t in trials]
    assert [{k: t[k] for k in ("A", "B", "clip", "frame")} for t in json.loads((again / "key.json").read_text())
            ["trials"]] == strip
    assert assign_sides(8, 1) != assign_sides(8, 0) or pick_frames([24, 30], 8, 1) != pick_frames(
        [24, 30], 8, 0)


def test_score_counts_what_was_answered(inputs: dict[str, Path], eight: tuple[Path, Path],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, key_dir = eight
    trials = json.loads((key_dir / "key.json").read_text())["trials"]
    side_of = {t["id"]: ("A" if t["A"] == SYSTEMS[0] else "B") for t in trials}
    flip = {"A": "B", "B": "A"}
    answers: dict[str, object] = {tid: side_of[tid] for tid in [t["id"] for t in trials][:5]}  # ours wins 5
    answers[trials[5]["id"]] = flip[side_of[trials[5]["id"]]]  # the baseline wins 1
    answers[trials[7]["id"]] = "C"  # not A or B; trials[6] left unanswered
    answers["trial_99"] = "A"
    answers["reasons"] = {trials[0]["id"]: "crisper strokes"}
    answers_path = inputs["root"] / "answers.json"
    answers_path.write_text(json.dumps(answers))
    picked_a = sum(v == "A" for k, v in answers.items() if k in side_of and k != trials[7]["id"])
    out_json = inputs["root"] / "scores.json"
    assert lt.main(["score", "--key", str(key_dir), "--answers", str(answers_path), "--json", str(out_json)]) == 0
    printed = capsys.readouterr().out
    assert "ours-v2" in printed and "missing answer: trial_07" in printed and "trial_99" in printed
    result = json.loads(out_json.read_text())
    (tally,) = result["tallies"]
    assert tally["systems"] == list(SYSTEMS) and tally["style"] == "Test Painting"
    assert tally["trials"] == 6 and tally["wins"] == {SYSTEMS[0]: 5, SYSTEMS[1]: 1}
    assert tally["win_rate"] == pytest.approx(5 / 6) and tally["picked_a"] == picked_a
    assert tally["p_value"] == pytest.approx(2 * 7 / 64)
    assert [m["trial"] for m in result["missing"]] == [trials[6]["id"]]
    assert sorted(u["trial"] for u in result["unknown"]) == sorted([trials[7]["id"], "trial_99"])
    # two keys scored together (same pair and style): the totals add up
    assert lt.main(["score", "--key", str(key_dir), str(key_dir), "--answers", str(answers_path), str(answers_path),
                    "--json", str(out_json)]) == 0
    (total,) = json.loads(out_json.read_text())["totals"]
    assert total["trials"] == 12 and total["wins"] == {SYSTEMS[0]: 10, SYSTEMS[1]: 2}


def test_classic_spec_runs_through_the_stylizer(inputs: dict[str, Path]) -> None:
    from tests.training.test_classic import write_random_network

    folder = write_random_network(inputs["root"] / "classic-net")
    code, out, key_dir = _make(inputs, "classic", 2, b=f"classic=classic:{folder}")
    assert code == 0 and len(list(out.glob("trial_*.png"))) == 2
    assert json.loads((key_dir / "key.json").read_text())["systems"][1]["spec"] == f"classic:{folder}"


def _one_line_error(capsys: pytest.CaptureFixture[str], fragment: str) -> None:
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err, err


def test_user_errors_exit_2_with_one_line(inputs: dict[str, Path], eight: tuple[Path, Path],
                                          capsys: pytest.CaptureFixture[str]) -> None:
    root = inputs["root"]
    code, out, _ = _make(inputs, "refused", 3, key=str(root / "refused" / "sheets" / "key"))
    assert code == 2 and not out.exists()
    _one_line_error(capsys, "inside --out")
    assert _make(inputs, "same", 3, key=str(root / "same" / "sheets"))[0] == 2
    _one_line_error(capsys, "inside --out")
    assert _make(inputs, "bad-spec", 3, a="x=" + str(root / "no-such-folder"))[0] == 2
    _one_line_error(capsys, "not a checkpoint folder")
    assert _make(inputs, "no-slug", 3, b=f"c=classic:{root}")[0] == 2
    _one_line_error(capsys, "SLUG")
    assert _make(inputs, "no-name", 3, a=str(inputs["ours"]))[0] == 2
    _one_line_error(capsys, "NAME=SPEC")
    _, key_dir = eight
    assert lt.main(["score", "--key", str(key_dir), "--answers", str(root / "missing.json")]) == 2
    _one_line_error(capsys, "no such file")
    (root / "bad.json").write_text("{not json")
    assert lt.main(["score", "--key", str(key_dir), "--answers", str(root / "bad.json")]) == 2
    _one_line_error(capsys, "not valid JSON")
    assert lt.main(["score", "--key", str(key_dir), str(key_dir), "--answers", str(root / "bad.json")]) == 2
    _one_line_error(capsys, "one answers file per key")
    assert lt.main(["score", "--key", str(root), "--answers", str(root / "bad.json")]) == 2
    _one_line_error(capsys, "key.json")

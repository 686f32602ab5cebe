"""Export a style as a Hub-ready folder (also the layout of the bundled checkpoints in ``vst/checkpoints/<slug>/``):

    style.json           the painting's metadata (vst.catalog.Style): what the catalog, app and CLI show
    painting.jpg         the painting, long side 512 px (the gallery's thumbnail)
    README.md            model card rendered from model_cards/style_model.md (metadata in its front matter)
    preview.jpg          the temporal model's output on a sample photo
    metrics.json         the numbers in the card
    temporal/            model.safetensors + config.json
    framewise/           model.safetensors + config.json
    fast/                the real-time network distilled from temporal/ (optional), also as model.onnx for the
                         browser (see vst.onnx_export)
    fast-framewise/      the fast network's framewise twin (optional; kept when the folder is exported again)
    live/                the Live tab's network distilled from fast/ (optional), with its model.onnx (kept when the
                         folder is exported again; :func:`add_live_network` adds it to the card and metrics)
"""

from __future__ import annotations

import json
import os
import shutil
import string
from pathlib import Path

from vst.catalog import Style, Variant, write_style_file
from vst.checkpoint_check import load_network
from vst.fingerprint import checkpoint_fingerprint
from vst.model import StyleNet
from vst.onnx_export import ONNX_FILE, export_onnx
from vst.preview import render_preview
from vst.style_folder import CONFIG_FILE, WEIGHTS_FILE

from .data import license_table
from .evaluate import StyleMetrics, evaluate, measure_fps
from .metadata import write_thumbnail
from .train import FINAL as FINAL_FOLDER

CARD_TEMPLATE = Path(__file__).resolve().parent.parent / "model_cards" / "style_model.md"
FAST_ROW = ("| `fast/` | the real-time network (use it on a CPU); also as `model.onnx` (input "
            "`image` float32 NCHW RGB in [0, 1], H and W multiples of 4; output `stylized`, same layout) |\n")
LIVE_ROW = ("| `live/` | the Live tab's in-browser network, a lighter version of `fast/` (fewer residual blocks or "
            "channels); also as `model.onnx` (same contract) |\n")
#: The model card's heading of the live network's section (:func:`live_section`).
LIVE_HEADING = "## The Live tab's network (`live/`)"


def metrics_rows(metrics: dict[str, StyleMetrics]) -> str:
    return "\n".join(
        f"| `{name}` | {m.warping_error:.5f} | {m.style_distance:.4g} | {m.content_distance:.4g} | {m.fps_640x360:.1f} |"
        for name, m in metrics.items()
    )


def painting_credit(style: Style) -> str:
    """E.g. ``**The Starry Night** by **Vincent van Gogh** (1889) ([the painting](url); public domain)``."""
    credit = f"**{style.title}**"
    if style.artist:
        credit += f" by **{style.artist}**"
    if style.year:
        credit += f" ({style.year})"
    notes = [f"[the painting]({style.source_url})" if style.source_url else "",
             f"painting: {style.painting_license}" if style.painting_license else ""]
    if any(notes):
        credit += f" ({'; '.join(n for n in notes if n)})"
    return credit


def render_card(style: Style, model: StyleNet, metrics: dict[str, StyleMetrics], eval_info: dict[str, object],
                weights_size: int, fast: StyleNet | None = None) -> str:
    """The model card. Its front matter carries ``style.json``'s content as ``vst_style`` (a JSON object, valid YAML)."""
    tc = model.training_config
    steps = tc.get("step", tc.get("steps", "?"))
    schedule = f"{steps} steps per variant"
    init_from = tc.get("init_from")
    if model.architecture == "magenta":
        schedule = f"{steps} steps from the teacher (`framewise/`: 0, see *The teacher*)"
    elif init_from and Path(init_from, CONFIG_FILE).is_file():  # a shared warm-up both variants started from
        warmup = load_network(init_from).training_config.get("step", "?")
        schedule = f"a shared framewise warm-up of {warmup} steps, then {steps} steps per variant"
    schedule += noise_words(tc)
    temporal, framewise = metrics[Variant.TEMPORAL], metrics[Variant.FRAMEWISE]
    return string.Template(CARD_TEMPLATE.read_text(encoding="utf-8")).substitute(
        vst_style=json.dumps(style.metadata(), ensure_ascii=False), title=style.title,
        painting_credit=painting_credit(style), thumbnail=style.thumbnail, preview=style.preview,
        slug=style.slug,
        repo_id=style.repo_id, metrics_rows=metrics_rows(metrics),
        flicker_ratio=f"{temporal.warping_error / framewise.warping_error:.2f}",
        style_ratio=f"{temporal.style_distance / framewise.style_distance:.2f}",
        channels="/".join(map(str, model.channels)), num_residual_blocks=len(model.residuals),
        antialias="; antialiased (Zhang 2019): a binomial blur before each stride-2 convolution, bilinear upsampling"
        if model.antialias else "",
        parameters=f"{model.num_parameters():,}", size_mb=f"{weights_size / 1e6:.1f}",
        crop=tc.get("crop", "?"), batch_size=tc.get("batch_size", "?"), schedule=schedule,
        content_weight=tc.get("content_weight", "?"), content_layer=tc.get("content_layer", "?"),
        style_weight=tc.get("style_weight", "?"), tv_weight=tc.get("tv_weight", "?"),
        temporal_weight=tc.get("temporal_weight", "?"), fast_section=fast_section(metrics, fast, model),
        teacher_section=teacher_section(model),
        data_table=license_table(),
        fast_row=FAST_ROW if fast else "",
        **{k: str(v) for k, v in eval_info.items()},
    )


def teacher_section(model: StyleNet) -> str:
    """The model card's paragraph on the teacher (empty for a network not distilled from Magenta's)."""
    from vst.teacher import TEACHER_LICENSE, TEACHER_NAME

    tc = model.training_config
    if model.architecture != "magenta":
        return ""
    layers = ", ".join(map(str, tc.get("distill_layers", ()) or ()))  # type: ignore[call-overload]
    temporal = f"×{tc.get('temporal_weight', '?')}"
    if float(tc.get("temporal_target", 0) or 0) > 0:  # type: ignore[arg-type]
        temporal = (f"with its weight adapted during training to hold the flicker at {tc['temporal_target']}× the "
                    f"teacher's on a probe of training pairs (`training/flicker_target.py`; it ended at "
                    f"×{float(tc.get('temporal_weight', 0)):.0f}, the probe at "  # type: ignore[arg-type]
                    f"{float(tc.get('flicker_ratio', float('nan'))):.2f}×)")  # type: ignore[arg-type]
    return (
        f"## The teacher\n\n"
        f"The look is learnt from a pretrained arbitrary-style network: {TEACHER_NAME} (license: {TEACHER_LICENSE}). "
        f"Its style network turns the painting into a 100-number style vector; its transform network, ported to "
        f"PyTorch (`vst/teacher.py`) with that vector folded into its instance norms, is the teacher. `temporal/` is "
        f"that network, started from the teacher and fine-tuned on frame pairs with the teacher's output as the "
        f"target — mean absolute error ×{tc.get('distill_weight', '?')} and VGG16 feature distance ({layers}) "
        f"×{tc.get('distill_feature_weight', '?')} — and the temporal term {temporal}. "
        f"`framewise/` is the same recipe without the temporal term: every term left is a distance to the teacher it "
        f"starts from, so it is the teacher itself (0 steps).{detail_sentence(model, '`temporal/`')}\n\n"
    )


def detail_sentence(model: StyleNet, name: str) -> str:
    """The card's words on a network's ``frame_detail`` (empty without it), with a leading space."""
    if not model.frame_detail:
        return ""
    return (f" {name} adds the frame's own fine detail to its output at strength {model.frame_detail:g} "
            f"(`vst/detail.py`): the temporal term fades the teacher's fine strokes, and the frame's detail, which "
            f"moves with the scene, gives the edges back without flicker; detail within three noise levels of zero "
            f"(the frame's grain, estimated on each frame) is cored away first. The strength is the one that brought "
            f"its fine-detail energy back to the teacher's on training frames (`training/detail_calibration.py`).")


def noise_words(tc: dict[str, object]) -> str:
    """The card's words on ``TrainConfig.input_noise`` (empty when off), with a leading separator."""
    sigma = float(tc.get("input_noise", 0) or 0)  # type: ignore[arg-type]
    return f"; inputs with Gaussian noise of σ up to {sigma:g}, targets from the clean frames" if sigma > 0 else ""


def _fast_phase(tc: dict[str, object]) -> str:
    terms = [f"mean absolute error to the teacher's output ×{tc.get('distill_weight', '?')}"]
    if float(tc.get("distill_feature_weight", 0) or 0) > 0:  # type: ignore[arg-type]
        terms.append(f"its VGG16 features ×{tc.get('distill_feature_weight')}")
    if float(tc.get("distill_gram_weight", 0) or 0) > 0:  # type: ignore[arg-type]
        terms.append(f"their Gram matrices ×{tc.get('distill_gram_weight')}")
    if float(tc.get("style_weight", 0) or 0) > 0:  # type: ignore[arg-type]
        terms.append(f"style ×{tc.get('style_weight')}")
    terms.append("no temporal term" if tc.get("framewise") else f"temporal ×{tc.get('temporal_weight', '?')}")
    return (f"{tc.get('step', '?')} steps on {tc.get('crop', '?')} px crops, {tc.get('batch_size', '?')} pairs per "
            f"step{noise_words(tc)}, loss {' + '.join(terms)}")


def distillation_phases(model: StyleNet) -> list[str]:
    """One line per training phase of a distilled network, first to last: its own, preceded by those of the
    checkpoints it was finetuned from (``init_from``, as far as they are on this machine). The walk ends at a
    checkpoint already listed: a network finetuned in place names its own folder as ``init_from``."""
    tc = model.training_config
    phases, listed = [_fast_phase(tc)], [tc]
    earlier = tc.get("init_from")
    while earlier and Path(earlier, CONFIG_FILE).is_file():
        earlier_tc = load_network(earlier).training_config
        if earlier_tc in listed:
            break
        listed.append(earlier_tc)
        phases.insert(0, _fast_phase(earlier_tc))
        earlier = earlier_tc.get("init_from")
    return phases


def fast_section(metrics: dict[str, StyleMetrics], fast: StyleNet | None, temporal_model: StyleNet | None = None) -> str:
    """The model card's paragraph on the real-time variant (empty without one); ``temporal_model`` tells whether the
    fast network learnt from the same teacher as ``temporal/`` or from ``temporal/`` itself."""
    if fast is None:
        return ""
    m, temporal, framewise = metrics[Variant.FAST], metrics[Variant.TEMPORAL], metrics[Variant.FRAMEWISE]
    if fast.architecture == "magenta":  # bundle --teacher: a shortened network
        fast_teacher = fast.training_config.get("teacher")
        from_teacher = temporal_model is not None and fast_teacher is not None and \
            fast_teacher == temporal_model.training_config.get("teacher")
        origin = (f"The teacher's network with only its first {len(fast.residuals)} residual blocks "
                  f"({fast.num_parameters():,} parameters), fine-tuned to render like the teacher, as `temporal/` "
                  f"is, with the Gram matrices of the teacher's VGG16 features as a target too (its colours and "
                  f"strokes wherever they lie: a network this short, matching pixels and features alone, paints their "
                  f"average, a brown)" if from_teacher else
                  f"`temporal/`'s own network with only its first {len(fast.residuals)} residual blocks "
                  f"({fast.num_parameters():,} parameters), fine-tuned to render like it")
        return (
            f"## The real-time variant (`fast/`)\n\n"
            f"{origin}: {_fast_phase(fast.training_config)}."
            f"{detail_sentence(fast, 'It')}\n\nAgainst `framewise/`: warping error ×{m.warping_error / framewise.warping_error:.2f}. Against "
            f"`temporal/`: style distance ×{m.style_distance / temporal.style_distance:.2f}, network speed "
            f"×{m.fps_640x360 / temporal.fps_640x360:.1f}.\n"
        )
    phases = distillation_phases(fast)
    return (
        f"## The real-time variant (`fast/`)\n\n"
        f"A {fast.architecture} network ({'/'.join(map(str, fast.channels))} channels at half and quarter resolution, "
        f"{len(fast.residuals)} residual blocks, {fast.num_parameters():,} parameters; nothing runs at full resolution) "
        f"distilled from `temporal/`: {'; then '.join(phases)}.\n\n"
        f"Against `framewise/`: warping error ×{m.warping_error / framewise.warping_error:.2f}. Against `temporal/`: "
        f"style distance ×{m.style_distance / temporal.style_distance:.2f}, network speed "
        f"×{m.fps_640x360 / temporal.fps_640x360:.1f}.\n"
    )


def run_folder(tc: dict[str, object]) -> str:
    """The checkpoint folder a training run wrote (``runs_dir/name/model``), as a later run's ``teacher`` names it."""
    return str(Path(str(tc.get("runs_dir", "runs")), str(tc.get("name", "?")), FINAL_FOLDER))


def live_section(metrics: dict[str, StyleMetrics], live: StyleNet, speed_vs_fast: float,
                 fast_model: StyleNet | None = None) -> str:
    """The model card's paragraph on the Live tab's network; ``speed_vs_fast``: its frames per second ÷ the fast
    network's, measured one after the other; ``fast_model``: the fast network now in the folder (the card says when
    the live network learnt from an earlier one)."""
    m, fast, framewise = metrics[Variant.LIVE], metrics[Variant.FAST], metrics[Variant.FRAMEWISE]
    source = "`fast/`"
    if fast_model is not None and live.training_config.get("teacher") not in (None, run_folder(
            fast_model.training_config)):
        source = f"an earlier version of `fast/` (`{live.training_config.get('teacher')}`)"
    phases = [_fast_phase(live.training_config)] if live.architecture == "magenta" else distillation_phases(live)
    blocks = f"{len(live.residuals)} residual block{'' if len(live.residuals) == 1 else 's'}"
    return (
        f"{LIVE_HEADING}\n\n"
        f"What the Live tab runs in the visitor's browser (onnxruntime-web): the same kind of network as `fast/`, "
        f"smaller ({'/'.join(map(str, live.channels))} channels, {blocks}, "
        f"{live.num_parameters():,} parameters), distilled from {source} with the temporal term: "
        f"{'; then '.join(phases)}.\n\n"
        f"Against `framewise/`: warping error ×{m.warping_error / framewise.warping_error:.2f}. Against `fast/`: "
        f"style distance ×{m.style_distance / fast.style_distance:.2f}, content distance "
        f"×{m.content_distance / fast.content_distance:.2f}, network speed ×{speed_vs_fast:.1f} (PyTorch, CPU).\n"
    )


def add_live_network(style_dir: Path, live_dir: Path, style_image: Path, clips: list[Path], *,
                     max_frames: int = 60, max_side: int = 360) -> StyleMetrics:
    """Measure the live network in ``live_dir`` on the held-out clips (as :func:`export_style` measures the others)
    and add it to ``style_dir``'s ``metrics.json`` and model card (its row in the folder and metrics tables and its
    section, each replacing an earlier one), leaving the rest of the card as it is."""
    live = load_network(live_dir).eval()
    metrics_path, card_path = style_dir / "metrics.json", style_dir / "README.md"
    recorded = json.loads(metrics_path.read_text())
    card = card_path.read_text(encoding="utf-8")
    if Variant.FAST not in recorded or "\n| `fast/` |" not in card:
        raise ValueError(f"{style_dir} has no fast network in its card and metrics: the live network is measured "
                         f"against it (python -m training distill first)")
    measured = evaluate({Variant.LIVE: live}, clips, style_image, max_side=max_side, max_frames=max_frames)
    recorded[Variant.LIVE] = measured[Variant.LIVE].as_dict()
    metrics = {name: StyleMetrics(**recorded[name]) for name in (Variant.FRAMEWISE, Variant.FAST, Variant.LIVE)}
    if LIVE_HEADING in card:  # an earlier live section, up to the next heading
        start = card.index(LIVE_HEADING)
        card = card[:start] + card[card.index("\n## ", start + 1) + 1:]
    lines = [line for line in card.split("\n") if not line.startswith(("| `live/` |", "| `live` |"))]
    folder_row = next(i for i, line in enumerate(lines) if line.startswith("| `fast/` |"))
    lines.insert(folder_row + 1, LIVE_ROW.rstrip("\n"))
    metrics_row = next(i for i, line in enumerate(lines) if line.startswith("| `fast` |"))
    lines.insert(metrics_row + 1, metrics_rows({Variant.LIVE: metrics[Variant.LIVE]}))
    card = "\n".join(lines)
    fast_model = load_network(style_dir / Variant.FAST).eval()
    speed_vs_fast = metrics[Variant.LIVE].fps_640x360 / measure_fps(fast_model)
    card = card.replace("\n## Training\n", "\n" + live_section(metrics, live, speed_vs_fast, fast_model)
                        + "\n## Training\n", 1)
    metrics_path.write_text(json.dumps(recorded, indent=2))
    card_path.write_text(card, encoding="utf-8")
    return metrics[Variant.LIVE]


def export_style(
    style: Style,
    temporal: Path,
    framewise: Path,
    style_image: Path,
    out_dir: Path,
    clips: list[Path],
    *,
    max_frames: int = 60,
    max_side: int = 360,
    fast: Path | None = None,
) -> dict[str, StyleMetrics]:
    """Write ``out_dir`` (see module doc) from the trained checkpoint folders; returns the measured metrics.

    ``style`` is the painting's metadata (see :func:`training.metadata.resolve_metadata`); ``style_image`` the
    painting, also the source of the thumbnail. ``out_dir`` may be the folder the checkpoints are read from (they are
    loaded before anything is written). The optional ``fast-framewise/`` and ``live/`` folders already in ``out_dir``
    are kept; the live network is measured again and added to the new card (:func:`add_live_network`)."""
    models = {Variant.TEMPORAL: load_network(temporal).eval(), Variant.FRAMEWISE: load_network(framewise).eval()}
    if fast is not None:
        models[Variant.FAST] = load_network(fast).eval()
    metrics = evaluate(models, clips, style_image, max_side=max_side, max_frames=max_frames)
    tmp = out_dir.with_name(out_dir.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    for variant in (Variant.FAST_FRAMEWISE, Variant.LIVE):  # trained apart from this export: carried over
        if (out_dir / variant / CONFIG_FILE).is_file():
            shutil.copytree(out_dir / variant, tmp / variant)
    for variant, model in models.items():
        model.save_pretrained(tmp / variant)
        (tmp / variant / "README.md").unlink(missing_ok=True)  # the repo-level card describes both variants
        if variant == Variant.FAST:  # the Live tab runs it in the browser (onnxruntime-web)
            export_onnx(model, tmp / variant / ONNX_FILE, source_sha256=checkpoint_fingerprint(tmp / variant).weights)
    render_preview(models[Variant.TEMPORAL]).save(tmp / style.preview, quality=90)
    write_thumbnail(style_image, tmp / style.thumbnail)
    write_style_file(style, tmp)
    eval_info = {"eval_clips": ", ".join(c.name for c in clips), "eval_frames": max_frames, "eval_side": max_side}
    (tmp / "metrics.json").write_text(json.dumps({k: m.as_dict() for k, m in metrics.items()} | {"eval": eval_info},
                                                 indent=2))
    size = (tmp / Variant.TEMPORAL / WEIGHTS_FILE).stat().st_size
    (tmp / "README.md").write_text(render_card(style, models[Variant.TEMPORAL], metrics, eval_info, size,
                                               models.get(Variant.FAST)), encoding="utf-8")
    shutil.rmtree(out_dir, ignore_errors=True)
    tmp.rename(out_dir)
    if (out_dir / Variant.LIVE / CONFIG_FILE).is_file() and fast is not None:
        metrics[Variant.LIVE] = add_live_network(out_dir, out_dir / Variant.LIVE, style_image, clips,
                                                 max_frames=max_frames, max_side=max_side)
    return metrics


def install_checkpoint(checkpoint: Path, dest: Path) -> Path:
    """Copy a checkpoint folder's ``model.safetensors`` and ``config.json`` to ``dest`` (replacing what was there)."""
    staging = dest.with_name(f".{dest.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    for name in (WEIGHTS_FILE, CONFIG_FILE):
        shutil.copy2(checkpoint / name, staging / name)
    if dest.exists():
        shutil.rmtree(dest)
    os.replace(staging, dest)
    return dest

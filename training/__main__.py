"""``python -m training {prepare,fetch-vgg,teacher,any-painting-teacher,train,bundle,distill,export,detail,push}`` — see
docs/training.md."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from vst.any_painting import ANY_PAINTING_VARIANTS
from vst.catalog import REPO_ID_PATTERN, Style, Variant
from vst.errors import VSTError
from vst.model import LIVE_CONFIG
from vst.style_folder import CONFIG_FILE, STYLE_FILE, WEIGHTS_FILE, read_style_file

from .config import (
    DISTILL_DEFAULTS,
    LIGHT_ANY_PAINTING,
    AnyPaintingConfig,
    TrainConfig,
    add_arguments,
    config_from_args,
)
from .metadata import add_metadata_arguments, resolve_metadata, slug_argument

HELD_OUT_CLIPS = ("bikes.mp4", "carphone.mp4")


def held_out_clips(data_dir: Path) -> list[Path]:
    clips = [data_dir / "raw" / name for name in HELD_OUT_CLIPS]
    missing = [str(c) for c in clips if not c.is_file()]
    if missing:
        raise VSTError(f"held-out clips missing ({', '.join(missing)}): run `python -m training prepare` first")
    return clips


def repo_id_argument(value: str) -> str:
    if not REPO_ID_PATTERN.fullmatch(value):
        raise argparse.ArgumentTypeError(f"invalid repo id {value!r}: use owner/name, e.g. your-name/vst-my-style")
    return value


def add_style_arguments(parser: argparse.ArgumentParser) -> None:
    """``--slug`` (any new slug: lowercase words joined by hyphens), ``--repo-id`` and the metadata flags."""
    parser.add_argument("--slug", required=True, type=slug_argument,
                        help="the style's slug, e.g. woman-with-a-hat (lowercase letters, digits, hyphens)")
    parser.add_argument("--repo-id", type=repo_id_argument,
                        help="the Hub repo the model card names (default: vst-video/vst-<slug>, the namespace from "
                             "VST_HUB_NAMESPACE); push to the same one")
    add_metadata_arguments(parser)


def style_for(args: argparse.Namespace, folder: Path | None) -> Style:
    style = resolve_metadata(args.slug, args, folder=folder)
    if args.repo_id:
        style = dataclasses.replace(style, repo_id=args.repo_id)
    return style


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description="Train, export and publish vst styles.")
    commands = parser.add_subparsers(dest="command", required=True)

    prep = commands.add_parser("prepare", help="fetch footage and build the cached training pairs (resumable)")
    prep.add_argument("--data-dir", type=Path, default=Path("data"))

    commands.add_parser("fetch-vgg", help="fetch the ImageNet VGG16 loss network and the Live tab's in-browser "
                                        "runtime (once each, into the cache)")

    teacher = commands.add_parser("teacher", help="write the teacher (Magenta's arbitrary-style network, ported) for "
                                                  "one painting as a checkpoint folder, to distil from (--teacher) "
                                                  "and start from (--init-from)")
    teacher.add_argument("--style-image", type=Path, required=True, help="the painting")
    teacher.add_argument("--out", type=Path, required=True, help="the checkpoint folder to write")

    any_painting = commands.add_parser(
        "any-painting-teacher", help="write the teacher's transform network (Magenta's arbitrary-style network, "
                                     "ported) as the any-painting network's framewise variant, with a model card")
    any_painting.add_argument("--out", type=Path, help="the folder to write (default: "
                                                        "vst/checkpoints/any-painting/framewise)")

    conditional = commands.add_parser(
        "any-painting", help="fine-tune the teacher's transform network with the temporal term over many style "
                             "vectors (registry photos, --paintings, blends) into the any-painting network's "
                             "temporal variant (training/any_painting.py)")
    conditional.add_argument("--paintings", type=Path, nargs="*", default=[], help="paintings for the style bank")
    conditional.add_argument("--holdout", nargs="*", default=[],
                             help="file stems kept out of the bank (the paintings the benchmark judges it on)")
    conditional.add_argument("--steps", type=int, default=AnyPaintingConfig.steps)
    conditional.add_argument("--crop", type=int, default=AnyPaintingConfig.crop)
    conditional.add_argument("--temporal-weight", type=float,
                             help=f"(default: {AnyPaintingConfig.temporal_weight:g}; with --from "
                                  f"{LIGHT_ANY_PAINTING['temporal_weight']:g})")
    conditional.add_argument("--lr", type=float, help=f"(default: {AnyPaintingConfig.lr:g}; with --from "
                                                      f"{LIGHT_ANY_PAINTING['lr']:g})")
    conditional.add_argument("--from", dest="start_from", type=Path,
                             help="a trained any-painting folder (e.g. vst/checkpoints/any-painting/temporal): the "
                                  "lighter variant starts from it, shortened to --blocks, and learns its rendering")
    conditional.add_argument("--blocks", type=int, default=AnyPaintingConfig.residual_blocks,
                             help="residual blocks (5: Magenta's; 2 with --from: the live variant)")
    conditional.add_argument("--variant", default=AnyPaintingConfig.variant,
                             choices=[v.value for v in ANY_PAINTING_VARIANTS],
                             help="the variant it becomes (default: temporal)")
    conditional.add_argument("--name", default=AnyPaintingConfig.name, help="run name: runs/<name>/ (resumable)")
    conditional.add_argument("--data-dir", type=Path, default=Path("data"))
    conditional.add_argument("--runs-dir", type=Path, default=Path("runs"))
    conditional.add_argument("--out", type=Path, help="the folder to write (default: "
                                                      "vst/checkpoints/any-painting/<variant>)")

    train = commands.add_parser("train", help="train one network (torchrun-able for DDP)")
    add_arguments(train)

    bundle = commands.add_parser("bundle", help="shared framewise warm-up, then temporal and framewise branches, "
                                                "then export into vst/checkpoints/<slug>; with --teacher magenta all "
                                                "five networks learn Magenta's arbitrary-style network's rendering "
                                                "of the painting (training/teacher_bundle.py)")
    add_style_arguments(bundle)
    bundle.add_argument("--warmup-steps", type=int, default=600,
                        help="framewise warm-up steps both branches start from; 0: they start from --init-from")
    bundle.add_argument("--out", type=Path, help="export folder (default: vst/checkpoints/<slug>)")
    bundle.add_argument("--fast-steps", type=int, default=150,
                        help="--teacher magenta: fine-tuning steps of each lighter network (fast, its framewise twin, "
                             "live) (default: 150)")
    add_arguments(bundle)

    distill = commands.add_parser(
        "distill", help="distil a bundled style's temporal model into the real-time network (FastStyleNet), then "
                        "re-export the style folder with the fast/ variant and its metrics; with --framewise, its "
                        "framewise twin (same recipe without the temporal term, from the framewise model) into "
                        "fast-framewise/; with --live, the Live tab's smaller network (distilled from fast/) into "
                        "live/ with its model.onnx")
    add_style_arguments(distill)
    distill.add_argument("--live", action="store_true",
                         help="distil the fast network into the Live tab's in-browser network into live/, measure it "
                              "and add it to the card and metrics.json; its size is vst.model.LIVE_CONFIG unless "
                              "--channels or --num-residual-blocks differ from the fast network's defaults")
    distill.add_argument("--style-dir", type=Path,
                         help="the exported style folder holding temporal/ and framewise/ (default: vst/checkpoints/<slug>)")
    distill.add_argument("--finetune-steps", type=int, default=300,
                         help="second phase: these steps add the style loss, which restores the strokes and contrast "
                              "that matching the teacher's pixels alone blurs away (default: 300; 0 skips it)")
    distill.add_argument("--finetune-style-weight", type=float, default=2.0, help="(default: 2.0)")
    distill.add_argument("--finetune-temporal-weight", type=float, default=600.0,
                         help="the style loss brings flicker back; a stronger temporal term holds it (default: 600.0)")
    distill.add_argument("--finetune-lr", type=float, default=1e-3, help="(default: 0.001)")
    distill.add_argument("--finetune-crop", type=int, default=192, help="(default: 192)")
    distill.add_argument("--finetune-batch-size", type=int, default=2, help="(default: 2)")
    add_arguments(distill, DISTILL_DEFAULTS)

    export = commands.add_parser("export", help="write the Hub-ready folder with model card, preview and metrics")
    add_style_arguments(export)
    export.add_argument("--temporal", type=Path, required=True, help="checkpoint folder of the temporal model")
    export.add_argument("--framewise", type=Path, required=True, help="checkpoint folder of the framewise model")
    export.add_argument("--fast", type=Path, help="checkpoint folder of the real-time model (optional)")
    export.add_argument("--style-image", type=Path, required=True)
    export.add_argument("--data-dir", type=Path, default=Path("data"))
    export.add_argument("--out", type=Path, required=True)

    detail = commands.add_parser(
        "detail", help="give a style folder's temporal, fast and fast-framewise networks the frame's own fine detail, "
                       "as much as brings each one's fine detail to the teacher's (framewise/) on training frames "
                       "(training/detail_calibration.py), then export the folder again (metrics, card, preview, ONNX)")
    detail.add_argument("--style-dir", type=Path, required=True,
                        help="e.g. vst/checkpoints/udnie; or the any-painting network's folder (its temporal/ gets "
                             "the median strength of --paintings, its training paintings; nothing is re-exported)")
    detail.add_argument("--style-image", type=Path, help="the painting (for the metrics); not for the any-painting "
                                                         "network")
    detail.add_argument("--paintings", type=Path, nargs="+", default=[],
                        help="the any-painting network: its training paintings")
    detail.add_argument("--data-dir", type=Path, default=Path("data"))

    push = commands.add_parser("push", help="upload an exported folder to the Hugging Face Hub")
    push.add_argument("folder", type=Path)
    push.add_argument("--repo-id", required=True, help="e.g. your-name/vst-starry-night")
    push.add_argument("--private", action="store_true")
    push.add_argument("--dry-run", action="store_true", help="list what would be uploaded, send nothing")
    return parser


def run_bundle(args: argparse.Namespace) -> None:
    out = args.out or Path("vst/checkpoints") / args.slug
    style = style_for(args, out)  # a new style without --title fails here, not after the training
    from .export import export_style
    from .train import train

    base = config_from_args(args)
    if base.teacher is not None and str(base.teacher) == "magenta":
        from .teacher_bundle import bundle_from_teacher

        if not Path(base.style_image).is_file():
            raise VSTError(f"--style-image {base.style_image} not found")
        times = bundle_from_teacher(base, args.slug, style, out, held_out_clips(base.data_dir),
                                    fast_steps=args.fast_steps)
        print("\n".join(f"{args.slug} {what}: {seconds / 60:.1f} min" for what, seconds in times.items()))
        print(f"exported {out}")
        return
    if args.warmup_steps > 0:
        warm = dataclasses.replace(base, name=f"{args.slug}-warmup", framewise=True, steps=args.warmup_steps)
        warm_model = train(warm)
    elif base.init_from is not None:  # both branches continue from one trained checkpoint (e.g. a bundled model)
        warm_model = base.init_from
    else:
        raise VSTError("--warmup-steps 0 needs --init-from: the checkpoint both branches start from")
    branches = {}
    for variant, framewise in ((Variant.TEMPORAL, False), (Variant.FRAMEWISE, True)):
        cfg = dataclasses.replace(base, name=f"{args.slug}-{variant}", framewise=framewise, init_from=warm_model)
        branches[variant] = train(cfg)
    metrics = export_style(style, branches[Variant.TEMPORAL], branches[Variant.FRAMEWISE], base.style_image, out,
                           held_out_clips(base.data_dir))
    for variant, m in metrics.items():
        print(f"{args.slug} {variant}: {m.as_dict()}")
    print(f"exported {out}")


def run_distill(args: argparse.Namespace) -> None:
    """Distil the real-time network into ``<style dir>/fast/`` (re-exporting the style folder), or with
    ``--framewise`` its framewise twin into ``<style dir>/fast-framewise/``: the same network and recipe without the
    temporal term, distilled from the framewise model, so the app compares the fast network with a network of its
    own size, like with like."""
    from .export import export_style
    from .train import train

    style_dir = args.style_dir or Path("vst/checkpoints") / args.slug
    for variant in (Variant.TEMPORAL, Variant.FRAMEWISE):
        if not (style_dir / variant / CONFIG_FILE).is_file():
            raise VSTError(f"{style_dir / variant} is not a checkpoint: bundle the style first "
                           f"(python -m training bundle)")
    if not Path(args.style_image).is_file():
        raise VSTError(f"--style-image {args.style_image} not found (the painting is needed for the style distance)")
    base = config_from_args(args)
    if args.live:
        if base.framewise:
            raise VSTError("--live and --framewise do not go together: the live network learns the fast one")
        run_distill_live(args, base, style_dir)
        return
    # the export's metadata, checked before training (the framewise twin is installed without re-exporting)
    style = None if base.framewise else style_for(args, style_dir)
    variant = Variant.FAST_FRAMEWISE if base.framewise else Variant.FAST
    teacher = style_dir / (Variant.FRAMEWISE if base.framewise else Variant.TEMPORAL)
    cfg = dataclasses.replace(base, name=f"{args.slug}-{variant}", teacher=teacher)
    fast = train(cfg)
    if args.finetune_steps > 0:
        cfg = dataclasses.replace(cfg, name=f"{args.slug}-{variant}-style", init_from=fast, steps=args.finetune_steps,
                                  style_weight=args.finetune_style_weight, lr=args.finetune_lr,
                                  temporal_weight=args.finetune_temporal_weight,
                                  crop=args.finetune_crop, batch_size=args.finetune_batch_size)
        fast = train(cfg)  # --framewise carries over: the temporal term stays 0 in this phase too
    if style is None:
        from .export import install_checkpoint

        out = install_checkpoint(fast, style_dir / Variant.FAST_FRAMEWISE)
        print(f"{args.slug}: the fast network's framewise twin is in {out}")
        return
    metrics = export_style(style, style_dir / Variant.TEMPORAL, style_dir / Variant.FRAMEWISE, cfg.style_image,
                           style_dir, held_out_clips(cfg.data_dir), fast=fast)
    for name, m in metrics.items():
        print(f"{args.slug} {name}: {m.as_dict()}")
    print(f"exported {style_dir}")


def run_distill_live(args: argparse.Namespace, base: TrainConfig, style_dir: Path) -> None:
    """Distil ``<style dir>/fast/`` into the Live tab's network (:data:`vst.model.LIVE_CONFIG`) in
    ``<style dir>/live/``, with its ``model.onnx``: the same two phases as the fast network (learn the teacher's
    output with the temporal term, then add the style loss), the teacher's output term kept in the second phase."""
    from vst.onnx_export import export_checkpoint

    from .export import add_live_network, install_checkpoint
    from .train import train

    teacher = style_dir / Variant.FAST
    if not (teacher / CONFIG_FILE).is_file():
        raise VSTError(f"{teacher} is not a checkpoint: distil the fast network first (python -m training distill)")
    cfg = dataclasses.replace(base, name=f"{args.slug}-{Variant.LIVE}", teacher=teacher)
    if (cfg.channels, cfg.num_residual_blocks) == (DISTILL_DEFAULTS.channels, DISTILL_DEFAULTS.num_residual_blocks):
        cfg = dataclasses.replace(cfg, channels=tuple(LIVE_CONFIG["channels"]),  # type: ignore[arg-type]
                                  num_residual_blocks=int(LIVE_CONFIG["num_residual_blocks"]))  # type: ignore[call-overload]
    live = train(cfg)
    if args.finetune_steps > 0:
        cfg = dataclasses.replace(cfg, name=f"{args.slug}-{Variant.LIVE}-style", init_from=live,
                                  steps=args.finetune_steps, style_weight=args.finetune_style_weight,
                                  lr=args.finetune_lr, temporal_weight=args.finetune_temporal_weight,
                                  crop=args.finetune_crop, batch_size=args.finetune_batch_size)
        live = train(cfg)
    out = install_checkpoint(live, style_dir / Variant.LIVE)
    export_checkpoint(out)
    metrics = add_live_network(style_dir, out, cfg.style_image, held_out_clips(cfg.data_dir))
    print(f"{args.slug} live: {metrics.as_dict()}")
    print(f"{args.slug}: the Live tab's network is in {out} (with {out / 'model.onnx'}), in the card and metrics")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # huggingface_hub's HTTP client: one line per request
    try:
        if args.command == "prepare":
            from .data import prepare, summary

            index_path = prepare(args.data_dir)
            print(summary(index_path))
            print(f"training pairs ready: {index_path}")
        elif args.command == "fetch-vgg":
            from vst.web_runtime import fetch_web_runtime

            from .vgg import fetch_vgg16_weights

            print(f"VGG16 weights: {fetch_vgg16_weights()}")
            # The test command's one fetch step also fetches the Live tab's in-browser runtime (its browser tests use it).
            print(f"onnxruntime-web (Live tab): {fetch_web_runtime()}")
        elif args.command == "teacher":
            from .teacher_bundle import write_teacher

            if not Path(args.style_image).is_file():
                raise VSTError(f"--style-image {args.style_image} not found")
            print(f"teacher: {write_teacher(args.style_image, args.out)}")
        elif args.command == "any-painting-teacher":
            from .any_painting_teacher import DEFAULT_OUT, write_any_painting_teacher

            out = write_any_painting_teacher(args.out or DEFAULT_OUT)
            size = (out / WEIGHTS_FILE).stat().st_size
            print(f"any-painting framewise (the teacher): {out} ({size / 1e6:.1f} MB)")
        elif args.command == "any-painting":
            from .any_painting import export_any_painting, train_any_painting

            missing = [str(p) for p in args.paintings if not p.is_file()]
            if missing:
                raise VSTError(f"--paintings: no such file: {', '.join(missing)}")
            lighter = args.start_from is not None
            if lighter and not (args.start_from / "config.json").is_file():
                raise VSTError(f"--from {args.start_from}: not an any-painting network's folder (no config.json)")
            if not lighter and args.blocks != AnyPaintingConfig.residual_blocks:
                raise VSTError("--blocks needs --from: a lighter network starts from a trained any-painting network")
            recipe = LIGHT_ANY_PAINTING if lighter else {
                "lr": AnyPaintingConfig.lr, "temporal_weight": AnyPaintingConfig.temporal_weight,
                "distill_feature_weight": AnyPaintingConfig.distill_feature_weight}
            cfg = AnyPaintingConfig(name=args.name, data_dir=args.data_dir, runs_dir=args.runs_dir,
                                    paintings=tuple(args.paintings),
                                    holdout=tuple(args.holdout), steps=args.steps, crop=args.crop,
                                    temporal_weight=(args.temporal_weight if args.temporal_weight is not None
                                                     else recipe["temporal_weight"]),
                                    lr=args.lr if args.lr is not None else recipe["lr"],
                                    distill_feature_weight=recipe["distill_feature_weight"],
                                    variant=args.variant, start_from=args.start_from, residual_blocks=args.blocks)
            out = export_any_painting(train_any_painting(cfg), cfg, args.out)
            print(f"any-painting {cfg.variant}: {out}")
        elif args.command == "train":
            from .train import train

            print(f"trained: {train(config_from_args(args))}")
        elif args.command == "bundle":
            run_bundle(args)
        elif args.command == "distill":
            run_distill(args)
        elif args.command == "export":
            from .export import export_style

            metrics = export_style(style_for(args, args.out), args.temporal, args.framewise, args.style_image, args.out,
                                   held_out_clips(args.data_dir), fast=args.fast)
            for variant, m in metrics.items():
                print(f"{variant}: {m.as_dict()}")
        elif args.command == "detail":
            from .detail_calibration import calibrate_networks
            from .export import export_style

            style_dir = args.style_dir
            if args.paintings:
                from .detail_calibration import calibrate_any_painting

                missing = [str(p) for p in args.paintings if not p.is_file()]
                if missing:
                    raise VSTError(f"--paintings: no such file: {', '.join(missing)}")
                strength = calibrate_any_painting(style_dir / Variant.TEMPORAL, style_dir / Variant.FRAMEWISE,
                                                  args.paintings, args.data_dir)
                print(f"frame detail: any-painting temporal {strength:g}")
                return 0
            if args.style_image is None:
                raise VSTError("--style-image is needed for a style folder (its metrics are measured again)")
            for variant in (Variant.TEMPORAL, Variant.FRAMEWISE, Variant.FAST, Variant.FAST_FRAMEWISE):
                if not (style_dir / variant / CONFIG_FILE).is_file():
                    raise VSTError(f"{style_dir / variant} is not a checkpoint: the detail needs a bundled style's "
                                   f"four networks")
            if not args.style_image.is_file():
                raise VSTError(f"--style-image {args.style_image} not found")
            strengths = calibrate_networks({v: style_dir / v for v in (Variant.TEMPORAL, Variant.FAST,
                                                                       Variant.FAST_FRAMEWISE)},
                                           style_dir / Variant.FRAMEWISE, args.data_dir)
            print("frame detail: " + ", ".join(f"{k} {v:g}" for k, v in strengths.items()), flush=True)
            metrics = export_style(read_style_file(style_dir / STYLE_FILE), style_dir / Variant.TEMPORAL,
                                   style_dir / Variant.FRAMEWISE, args.style_image, style_dir,
                                   held_out_clips(args.data_dir), fast=style_dir / Variant.FAST)
            for variant, m in metrics.items():
                print(f"{variant}: {m.as_dict()}")
        elif args.command == "push":
            from .push import push

            print(push(args.folder, args.repo_id, dry_run=args.dry_run, private=args.private))
    except VSTError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())

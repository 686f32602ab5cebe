"""``python -m training {prepare,fetch-vgg,train,bundle,export,push}`` — see README's "Train a style"."""

from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from vst.catalog import STYLES
from vst.errors import VSTError

from .config import TrainConfig, add_arguments, config_from_args

HELD_OUT_CLIPS = ("bikes.mp4", "carphone.mp4")


def held_out_clips(data_dir: Path) -> list[Path]:
    clips = [data_dir / "raw" / name for name in HELD_OUT_CLIPS]
    missing = [str(c) for c in clips if not c.is_file()]
    if missing:
        raise VSTError(f"held-out clips missing ({', '.join(missing)}): run `python -m training prepare` first")
    return clips


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m training", description="Train, export and publish vst styles.")
    commands = parser.add_subparsers(dest="command", required=True)

    prep = commands.add_parser("prepare", help="fetch footage and build the cached training pairs (resumable)")
    prep.add_argument("--data-dir", type=Path, default=Path("data"))

    commands.add_parser("fetch-vgg", help="fetch the ImageNet VGG16 loss network (once, into the cache)")

    train = commands.add_parser("train", help="train one network (torchrun-able for DDP)")
    add_arguments(train)

    bundle = commands.add_parser("bundle", help="shared framewise warm-up, then temporal and framewise branches, "
                                                "then export into vst/checkpoints/<slug>")
    bundle.add_argument("--slug", required=True, choices=list(STYLES))
    bundle.add_argument("--warmup-steps", type=int, default=600)
    bundle.add_argument("--out", type=Path, help="export folder (default: vst/checkpoints/<slug>)")
    add_arguments(bundle)

    export = commands.add_parser("export", help="write the Hub-ready folder with model card, preview and metrics")
    export.add_argument("--slug", required=True, choices=list(STYLES))
    export.add_argument("--temporal", type=Path, required=True, help="checkpoint folder of the temporal model")
    export.add_argument("--framewise", type=Path, required=True, help="checkpoint folder of the framewise model")
    export.add_argument("--style-image", type=Path, required=True)
    export.add_argument("--data-dir", type=Path, default=Path("data"))
    export.add_argument("--out", type=Path, required=True)

    push = commands.add_parser("push", help="upload an exported folder to the Hugging Face Hub")
    push.add_argument("folder", type=Path)
    push.add_argument("--repo-id", required=True, help="e.g. your-name/vst-starry-night")
    push.add_argument("--private", action="store_true")
    push.add_argument("--dry-run", action="store_true", help="list what would be uploaded, send nothing")
    return parser


def run_bundle(args: argparse.Namespace) -> None:
    from .export import export_style
    from .train import train

    base = config_from_args(args)
    warm = dataclasses.replace(base, name=f"{args.slug}-warmup", framewise=True, steps=args.warmup_steps)
    warm_model = train(warm)
    branches = {}
    for variant, framewise in (("temporal", False), ("framewise", True)):
        cfg = dataclasses.replace(base, name=f"{args.slug}-{variant}", framewise=framewise, init_from=warm_model)
        branches[variant] = train(cfg)
    out = args.out or Path("vst/checkpoints") / args.slug
    metrics = export_style(args.slug, branches["temporal"], branches["framewise"], base.style_image, out,
                           held_out_clips(base.data_dir))
    for variant, m in metrics.items():
        print(f"{args.slug} {variant}: {m.as_dict()}")
    print(f"exported {out}")


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        if args.command == "prepare":
            from .data import prepare

            print(f"training pairs ready: {prepare(args.data_dir)}")
        elif args.command == "fetch-vgg":
            from .vgg import fetch_vgg16_weights

            print(f"VGG16 weights: {fetch_vgg16_weights()}")
        elif args.command == "train":
            from .train import train

            print(f"trained: {train(config_from_args(args))}")
        elif args.command == "bundle":
            run_bundle(args)
        elif args.command == "export":
            from .export import export_style

            metrics = export_style(args.slug, args.temporal, args.framewise, args.style_image, args.out,
                                   held_out_clips(args.data_dir))
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

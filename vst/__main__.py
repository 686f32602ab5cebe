"""Command line: ``python -m vst stylize clip.mp4 --style starry-night -o out.mp4`` (or ``--style-image
painting.jpg [--strength 0.8]``), ``python -m vst styles``, ``python -m vst export-onnx`` and
``python -m vst fetch-web-runtime``. The library's commands only: the app's A/B pairs are pre-rendered by
``python -m vst.app.showcase`` (``python -m vst prerender`` says so)."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from typing import NoReturn
from pathlib import Path

from tqdm import tqdm

from .any_painting import content_frame, network_for_picture
from .catalog import ALL_VARIANTS, DEFAULT_VARIANT, Variant, bundled_dir, is_bundled, load_catalog
from .denoise import DenoiseOptions
from .errors import VSTError
from .files import check_output_free
from .hub import installed_styles, load_model
from .memory import tune_malloc
from .pipeline import DEFAULT_MAX_SIDE, check_frame_size, select_device, stylize_video
from .realtime import choose_scale
from .signals import Terminated, sigterm_as_exception
from .smoothing import SmoothingOptions
from .style_folder import CONFIG_FILE, WEIGHTS_FILE, is_checkpoint_folder
from .style_picture import open_style_picture
from .video import probe

#: Where the app's pre-rendering command went (``python -m vst prerender`` says it, in one line).
PRERENDER_MOVED = "run `python -m vst.app.showcase` (same options) to pre-render the app's A/B pairs"


def _positive(text: str) -> int:
    """argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, not {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def _scale(text: str) -> float | None:
    """argparse type of ``--scale``: a number in (0, 1], or ``auto`` (None: chosen by :func:`vst.realtime.choose_scale`)."""
    if text == "auto":
        return None
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be auto or a number above 0 and at most 1, not {text!r}") from None
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be above 0 and at most 1, not {text}")
    return value


def _strength(text: str) -> float:
    """argparse type of ``--strength``: a number in [0, 1]."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number between 0 and 1, not {text!r}") from None
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, not {text}")
    return value


def _max_side(text: str) -> int | None:
    """argparse type of ``--max-side``: ``0`` means no limit (``None``), else a whole number of at least 16."""
    value = _positive(text) if text.strip() != "0" else 0
    if value and value < 16:
        raise argparse.ArgumentTypeError(f"must be 0 (no limit) or at least 16, not {value}")
    return value or None


class OneLineParser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose usage errors are one line, like every other error of the command (exit code 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"error: {message} (see `{self.prog} --help`)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="python -m vst", description="Flicker-free video neural style transfer.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens (checkpoint sources, ...)")
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("stylize", help="stylize a video into a browser-ready H.264 MP4 (audio kept)")
    run.add_argument("input", type=Path, help="any common video: mp4, mov, webm, mkv, avi, animated gif")
    run.add_argument("-o", "--output", type=Path, help="output .mp4 (default: <input>_<style>.mp4 in this folder)")
    style = run.add_mutually_exclusive_group()
    style.add_argument("-s", "--style", default="starry-night",
                       help="a style slug (see `python -m vst styles`) or a checkpoint folder (default: starry-night)")
    style.add_argument("--style-image", type=Path, metavar="PICTURE",
                       help="any picture (JPEG, PNG or WebP) as the style, rendered by the any-painting network")
    run.add_argument("--strength", type=_strength, metavar="S",
                     help="with --style-image: how much of the picture's style, 0 to 1 (default: 1; below 1 the "
                          "video's own look is mixed in)")
    run.add_argument("--variant", choices=[v.value for v in ALL_VARIANTS], default=DEFAULT_VARIANT,
                     help="temporal: trained to be steady (default); framewise: the flickery baseline")
    run.add_argument("--max-side", type=_max_side, metavar="N", default=DEFAULT_MAX_SIDE,
                     help=f"downscale so the long side is at most N pixels (default: {DEFAULT_MAX_SIDE}, which keeps "
                          f"memory under 1 GB; 0: never downscale, at about 190 MB per megapixel)")
    run.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: CUDA when present, else CPU)")
    run.add_argument("--batch-size", type=_positive, default=4, help="frames per forward pass (default: 4)")
    run.add_argument("--flicker", action="store_true", help="also measure and print the warping error (flicker)")
    run.add_argument("--overwrite", action="store_true", help="replace the output if it exists")
    run.add_argument("--compile", action="store_true",
                     help="torch.compile the network: about 1.2x faster on a CPU after a compilation of about half "
                          "a minute (worth it for long videos; needs a C++ compiler)")
    run.add_argument("--scale", type=_scale, metavar="F", default=1.0,
                     help="run the network at F times each side (0 < F <= 1) and upsample its output guided by the "
                          "frame: about F² of the network's time, larger strokes; auto: the largest that keeps up with "
                          "the clip's frame rate on this machine, measured (default: 1)")
    run.add_argument("--smooth", action="store_true",
                     help="flow-guided smoothing: hold each frame's broad colour to the previous output's where the "
                          "optical flow is reliable, fine strokes untouched (vst/smoothing.py; steadier, 3-5 ms a "
                          "640x360 frame)")
    run.add_argument("--denoise", action="store_true",
                     help="flow-guided denoising of the input: the network sees each frame with the grain that "
                          "changes from frame to frame held to the previous frame's, the frame's own detail kept "
                          "(vst/denoise.py; steadier on grainy footage)")
    run.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    commands.add_parser("styles", help="list the styles (bundled folder and VST_HUB_STYLES) and their variants")
    onnx = commands.add_parser(
        "export-onnx", help=f"export real-time networks to ONNX (model.onnx beside {WEIGHTS_FILE}) for the Live tab")
    onnx.add_argument("folders", nargs="*", type=Path,
                      help="checkpoint folders (default: every bundled style's fast/ and live/ networks)")
    onnx.add_argument("--check", action="store_true",
                      help=f"write nothing; exit 1 if an export is missing or older than its {WEIGHTS_FILE}")
    commands.add_parser("fetch-web-runtime",
                        help="fetch the pinned in-browser runtime (onnxruntime-web, from the npm registry) once")
    commands.add_parser("prerender", add_help=False, help=f"moved: {PRERENDER_MOVED}")
    return parser


def cmd_styles() -> int:
    """One line per catalog style: slug, caption, the variants available without network, and where it comes from."""
    catalog = load_catalog()
    installed = {s.slug: s for s in installed_styles(catalog=catalog)}
    width = max((len(slug) for slug in catalog), default=0)
    for slug, style in catalog.items():
        found = installed.get(slug)
        have = ", ".join(found.variants) if found else "not installed"
        source = "bundled" if is_bundled(style) else style.repo_id
        print(f"{slug:<{width}}  {style.caption}  [{have}]  ({source})")
    for problem in catalog.problems:
        print(f"warning: {problem}")
    if not installed:
        print(f"\nNo style is installed yet: train one with `python -m training bundle` into {bundled_dir()}, or list "
              "Hub repos in VST_HUB_STYLES (see README).")
    return 0


def cmd_export_onnx(args: argparse.Namespace) -> int:
    from .onnx_export import ONNX_FILE, export_checkpoint, is_current

    folders = args.folders or sorted(p for variant in (Variant.FAST, Variant.LIVE)
                                     for p in bundled_dir().glob(f"*/{variant}") if is_checkpoint_folder(p))
    if not folders:
        raise VSTError(f"no checkpoint folder given and no bundled {Variant.FAST}/ or {Variant.LIVE}/ network under "
                       f"{bundled_dir()}")
    stale = []
    for folder in folders:
        if not is_checkpoint_folder(folder):
            raise VSTError(f"{folder} is not a checkpoint folder (needs {WEIGHTS_FILE} and {CONFIG_FILE})")
        if args.check:
            current = is_current(folder)
            stale += [] if current else [folder]
            print(f"{folder / ONNX_FILE}: {'current' if current else 'missing or stale'}")
            continue
        path = export_checkpoint(folder)
        print(f"wrote {path} ({path.stat().st_size / 1024:.0f} KB)")
    return 1 if stale else 0


def cmd_fetch_web_runtime() -> int:
    from .web_runtime import fetch_web_runtime

    print(f"onnxruntime-web: {fetch_web_runtime()}")
    return 0


def cmd_stylize(args: argparse.Namespace) -> int:
    # Fail fast, before loading any network: a bad input, frames too small, an unwritable output, a bad device.
    info = probe(args.input)
    width, height = check_frame_size(args.input, info.width, info.height, args.max_side)
    if (width, height) != (info.width, info.height):
        print(f"note: downscaling {info.width}×{info.height} to {width}×{height} (--max-side {args.max_side}; "
              f"--max-side 0 keeps the full size, at about 190 MB of memory per megapixel)", file=sys.stderr)
    picture = open_style_picture(args.style_image) if args.style_image is not None else None
    if picture is not None and picture.note:
        print(f"note: {picture.note}", file=sys.stderr)
    name = args.style_image.stem if args.style_image is not None else Path(args.style).name
    output = args.output or Path(f"{args.input.stem}_{name}.mp4")
    check_output_free(output, overwrite=args.overwrite)
    device = select_device(args.device)
    # a missing or damaged style (or any-painting network) fails here, before any progress bar
    if picture is not None:
        strength = 1.0 if args.strength is None else args.strength
        content = content_frame(args.input) if strength < 1.0 else None
        model = network_for_picture(picture, strength=strength, variant=args.variant, content=content)
    else:
        model = load_model(args.style, args.variant)
    scale = args.scale
    if scale is None:
        choice = choose_scale(model, width, height, info.fps, device=str(device))
        scale = choice.scale
        print(f"note: {choice.describe(width, height)} ({1 / choice.seconds_per_frame:.1f} fps measured, the clip "
              f"plays at {info.fps:g} fps)", file=sys.stderr)
    bar = tqdm(total=info.num_frames, unit="frame", desc=f"{name} ({args.variant})", disable=args.quiet)

    def progress(done: int, total: int | None) -> None:
        bar.total = total
        bar.update(done - bar.n)

    with bar:
        result = stylize_video(args.input, output, style=model, variant=args.variant, max_side=args.max_side,
                               device=args.device, batch_size=args.batch_size, overwrite=args.overwrite,
                               measure_flicker=args.flicker, progress=progress, compile=args.compile,
                               scale=scale, smoothing=SmoothingOptions() if args.smooth else None,
                               denoise=DenoiseOptions() if args.denoise else None)
    summary = f"wrote {output} ({result.frames} frames, {result.width}×{result.height}, {result.fps:.1f} fps)"
    if args.flicker:
        summary += f", warping error {result.mean_warping_error()[args.variant]:.5f}"
    print(summary)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["prerender"]:  # the app's command, not the library's: the library never imports vst.app
        print(f"error: `python -m vst prerender` moved: {PRERENDER_MOVED}", file=sys.stderr)
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "stylize" and args.strength is not None and args.style_image is None:
        parser.error("argument --strength: goes with --style-image (a style's network has no strength)")
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        tune_malloc()  # memory must not creep up frame after frame, nor pages be faulted in again (see vst.memory)
        with sigterm_as_exception():
            if args.command == "styles":
                return cmd_styles()
            if args.command == "export-onnx":
                return cmd_export_onnx(args)
            if args.command == "fetch-web-runtime":
                return cmd_fetch_web_runtime()
            return cmd_stylize(args)
    except VSTError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; no output was written", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated (SIGTERM); no output was written", file=sys.stderr)
        return 143


if __name__ == "__main__":
    sys.exit(main())

"""Curated A/B pairs: the bundled example clips stylized by both variants of every installed style, rendered once.

Each pair is rendered with ONE shared decode (:func:`vst.pipeline.render_video`) from a prepared copy of the clip
(trimmed to ``max_seconds`` and downscaled to ``max_side``, encoded near-losslessly, audio dropped: the A/B players are
muted), so both videos have exactly the same frames and timestamps. Results are cached under
``<cache_dir>/<style>/<clip>-<key>/`` where ``key`` hashes the clip's bytes, both checkpoints' ``model.safetensors`` and
``config.json`` and the render settings: a retrained style renders again, an unchanged one never does. ``pair.json``
is written last, so a folder without it is an unfinished render and is ignored.

Command line: ``python -m vst.app.showcase`` renders every missing pair with a progress bar.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import math
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from tqdm import tqdm

from ..catalog import Catalog, load_catalog
from ..checkpoint_check import load_network
from ..errors import StyleNotFoundError, VideoError, VSTError
from ..fingerprint import checkpoint_digest, checkpoint_fingerprint, file_sha256
from ..hub import InstalledStyle, installed_styles
from ..pipeline import Stylizer, render_video, select_device
from ..settings import cache_root
from ..style_folder import VARIANTS, Variant
from ..video import VideoReader
from ..video_writer import VideoWriter
from .ab_pair import ABPair

log = logging.getLogger(__name__)

EXAMPLES_DIR = Path(__file__).resolve().parents[2] / "examples"
#: Clip name → bundled example; names become folder names (letters, digits, ``-`` and ``_``). Only clips of at least
#: :data:`MIN_LONG_SIDE` pixels on the long side, rendered at that size: a voter judges both networks at a fair
#: resolution, not a small clip stretched up (the 176×144 car-phone clip is no pair).
CURATED_CLIPS: dict[str, Path] = {
    "cockatoo": EXAMPLES_DIR / "cockatoo.mp4",
    "bikes": EXAMPLES_DIR / "bikes.mp4",
}
#: The smallest long side of a curated clip, and the size the pairs are rendered at (their ``max_side``).
MIN_LONG_SIDE = 640
#: Bumped when the way pairs are rendered changes, so that old caches are not reused.
CACHE_VERSION = 1
PAIR_FILE = "pair.json"
#: ``progress(fraction_done, description)``: the call signature of ``gradio.Progress`` too.
ShowcaseProgress = Callable[[float, str], None]

_CLIP_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_render_lock = threading.Lock()  # one prerender at a time in this process (the app may start one in a thread)


def default_cache_dir() -> Path:
    """``$VST_CACHE_DIR/showcase``, else ``~/.cache/vst/showcase``."""
    return cache_root() / "showcase"


def pair_key(style: InstalledStyle, clip: Path, *, max_side: int, max_seconds: float | None) -> str:
    """16 hex digits identifying a render: clip bytes, both checkpoints' fingerprints
    (:func:`vst.fingerprint.checkpoint_fingerprint`) and the settings."""
    if not clip.is_file():
        raise VideoError(f"showcase clip {clip} does not exist")
    parts = {
        "version": CACHE_VERSION,
        "clip": file_sha256(clip),
        "max_side": max_side,
        "max_seconds": max_seconds,
        "checkpoints": {variant: list(checkpoint_fingerprint(style.variants[variant])) for variant in VARIANTS},
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Job:
    style: InstalledStyle
    clip: str
    source: Path
    folder: Path


def _select_styles(styles: Sequence[str] | None, catalog: Catalog | None) -> list[InstalledStyle]:
    """Installed styles with both variants; a requested style that lacks one raises, an unrequested one is skipped."""
    installed = {s.slug: s for s in installed_styles(catalog=catalog)}
    if styles is None:
        chosen = []
        for style in installed.values():
            missing = [v for v in VARIANTS if v not in style.variants]
            if missing:
                log.warning("showcase skips '%s': its %s variant is not installed", style.slug, " and ".join(missing))
            else:
                chosen.append(style)
        return chosen
    chosen = []
    for slug in styles:
        found = installed.get(slug)
        missing = [v for v in VARIANTS if found is None or v not in found.variants]
        if found is None or missing:
            raise StyleNotFoundError(f"style '{slug}' cannot be shown as an A/B pair: its {' and '.join(missing)} "
                                     f"variant is not installed (see `python -m vst styles`)")
        chosen.append(found)
    return chosen


def _plan(cache_dir: Path | None, styles: Sequence[str] | None, clips: Mapping[str, Path] | None, max_side: int,
          max_seconds: float | None, catalog: Catalog | None) -> list[_Job]:
    if max_side < 16:
        raise ValueError(f"max_side must be at least 16, not {max_side}")
    if max_seconds is not None and not max_seconds > 0:
        raise ValueError(f"max_seconds must be positive, not {max_seconds}")
    root = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    clips = CURATED_CLIPS if clips is None else clips
    for name in clips:
        if not _CLIP_NAME.match(name):
            raise ValueError(f"clip name {name!r} must be letters, digits, '-' or '_' (it names a folder)")
    jobs = []
    for style in _select_styles(styles, catalog):
        for name, source in clips.items():
            key = pair_key(style, Path(source), max_side=max_side, max_seconds=max_seconds)
            jobs.append(_Job(style, name, Path(source), root / style.slug / f"{name}-{key}"))
    return jobs


def _read_pair(job: _Job) -> ABPair | None:
    """The finished pair in ``job.folder``, or None (not rendered yet, or unreadable: logged)."""
    meta_path = job.folder / PAIR_FILE
    if not meta_path.is_file():
        return None
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
        errors = meta.get("warping_error", {})
        pair = ABPair(job.style.slug, job.clip, job.folder / f"{Variant.TEMPORAL}.mp4",
                      job.folder / f"{Variant.FRAMEWISE}.mp4",
                      frames=int(meta["frames"]),
                      temporal_warping_error=_nan_if_none(errors.get(Variant.TEMPORAL)),
                      framewise_warping_error=_nan_if_none(errors.get(Variant.FRAMEWISE)),
                      checkpoints=checkpoint_digest(job.style.variants, VARIANTS))
    except (OSError, ValueError, KeyError, TypeError) as err:
        log.warning("ignoring the unreadable showcase entry %s (%s); it will be rendered again", job.folder, err)
        return None
    if not (pair.temporal.is_file() and pair.framewise.is_file()):
        log.warning("showcase entry %s lacks a video; it will be rendered again", job.folder)
        return None
    return pair


def _nan_if_none(value: float | None) -> float:
    return math.nan if value is None else float(value)


def load_pairs(cache_dir: Path | None = None, *, styles: Sequence[str] | None = None,
               clips: Mapping[str, Path] | None = None, max_side: int = MIN_LONG_SIDE,
               max_seconds: float | None = 4.0, catalog: Catalog | None = None) -> list[ABPair]:
    """The pairs already rendered for the installed styles' CURRENT checkpoints and these settings (no rendering).

    Same arguments as :func:`prerender_pairs`; pairs of a retrained style are left out until rendered again.
    """
    return [pair for job in _plan(cache_dir, styles, clips, max_side, max_seconds, catalog)
            if (pair := _read_pair(job)) is not None]


def _prepare_clip(source: Path, dest: Path, *, max_side: int, max_seconds: float | None) -> int:
    """Write the first ``max_seconds`` of ``source`` downscaled to ``max_side``, without audio; returns frames."""
    with VideoReader(source, max_side=max_side) as reader, VideoWriter(
            dest, reader.width, reader.height, time_base=reader.time_base, frame_rate=reader.frame_rate,
            crf=12) as writer:
        start: float | None = None
        for image, pts, time in reader.frames():
            start = time if start is None else start
            if max_seconds is not None and time - start >= max_seconds:
                break
            writer.write(image, pts)
    if writer.frames_written == 0:
        raise VideoError(f"{source} has no decodable video frames")
    return writer.frames_written


def _render(job: _Job, stylizers: Mapping[str, Stylizer], *, max_side: int, max_seconds: float | None,
            progress: Callable[[int, int | None], None]) -> ABPair:
    job.folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".prepare-", dir=job.folder) as tmp:
        prepared = Path(tmp) / "clip.mp4"
        _prepare_clip(job.source, prepared, max_side=max_side, max_seconds=max_seconds)
        result = render_video(prepared, {v: (stylizers[v], job.folder / f"{v}.mp4") for v in VARIANTS},
                              overwrite=True, measure_flicker=True, progress=progress)
    errors = result.mean_warping_error()
    meta = {
        "version": CACHE_VERSION, "style": job.style.slug, "clip": job.clip, "source": str(job.source),
        "frames": result.frames, "width": result.width, "height": result.height,
        "max_side": max_side, "max_seconds": max_seconds,
        "warping_error": {v: None if math.isnan(e) else e for v, e in errors.items()},
        "checkpoints": {v: str(job.style.variants[v]) for v in VARIANTS},
        "rendered_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    tmp_meta = job.folder / f".{PAIR_FILE}.partial"
    tmp_meta.write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp_meta, job.folder / PAIR_FILE)  # the entry counts as finished from here on
    outdated = re.compile(re.escape(job.clip) + r"-[0-9a-f]{16}")
    for stale in job.folder.parent.iterdir():
        if stale != job.folder and stale.is_dir() and outdated.fullmatch(stale.name):
            log.info("removing the outdated showcase render %s", stale)
            shutil.rmtree(stale)
    log.info("rendered %s / %s: %d frames at %.1f fps", job.style.slug, job.clip, result.frames, result.fps)
    return ABPair(job.style.slug, job.clip, result.outputs[Variant.TEMPORAL], result.outputs[Variant.FRAMEWISE],
                  frames=result.frames, temporal_warping_error=errors.get(Variant.TEMPORAL, math.nan),
                  framewise_warping_error=errors.get(Variant.FRAMEWISE, math.nan),
                  checkpoints=checkpoint_digest(job.style.variants, VARIANTS))


def prerender_pairs(cache_dir: Path | None = None, *, styles: Sequence[str] | None = None,
                    clips: Mapping[str, Path] | None = None, max_side: int = MIN_LONG_SIDE,
                    max_seconds: float | None = 4.0, device: str | None = None,
                    progress: ShowcaseProgress | None = None, catalog: Catalog | None = None) -> list[ABPair]:
    """Render every missing A/B pair (installed styles with both variants × ``clips``) and return all of them.

    ``styles``: slugs (default: every installed style with both variants; a requested style missing a variant raises
    :class:`StyleNotFoundError`). ``clips``: name → video (default :data:`CURATED_CLIPS`). Each clip is cut to its
    first ``max_seconds`` (``None``: whole clip) and downscaled so its long side is at most ``max_side``. ``device``:
    as in :func:`vst.pipeline.select_device`. ``progress(fraction, description)`` is called as frames are rendered (a
    ``gradio.Progress`` fits). ``catalog``: the styles (default: :func:`vst.catalog.load_catalog` now). Pairs already
    in the cache are not rendered again. Returns pairs in style, clip order.
    """
    with _render_lock:
        jobs = _plan(cache_dir, styles, clips, max_side, max_seconds, catalog)
        pairs = [_read_pair(job) for job in jobs]
        todo = [i for i, pair in enumerate(pairs) if pair is None]
        if todo:
            log.info("rendering %d showcase pair(s), %d already cached", len(todo), len(jobs) - len(todo))
            torch_device = select_device(device)
            stylizers: dict[str, Stylizer] = {}
            loaded_for: str | None = None
            for done, i in enumerate(todo):
                job = jobs[i]
                if loaded_for != job.style.slug:  # jobs come grouped by style: each network is loaded once
                    stylizers = {v: Stylizer(load_network(job.style.variants[v]), torch_device)
                                 for v in VARIANTS}
                    loaded_for = job.style.slug
                on_frames = _frame_progress(progress, done, len(todo), f"{job.style.slug} on {job.clip}")
                pairs[i] = _render(job, stylizers, max_side=max_side, max_seconds=max_seconds, progress=on_frames)
        if progress is not None:
            progress(1.0, "showcase ready")
        return [pair for pair in pairs if pair is not None]


def _frame_progress(progress: ShowcaseProgress | None, done: int, todo: int,
                    description: str) -> Callable[[int, int | None], None]:
    """A :func:`render_video` progress callback reporting the overall fraction of the ``todo`` renders."""
    def on_frames(frames: int, total: int | None) -> None:
        if progress is not None:
            within = min(1.0, frames / total) if total else 0.0
            progress((done + within) / todo, description)
    return on_frames


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m vst.app.showcase``: render the missing A/B pairs of every installed style, with a progress bar."""
    parser = argparse.ArgumentParser(prog="python -m vst.app.showcase",
                                     description="Pre-render the app's A/B pairs (both variants of every installed "
                                                 "style on the bundled clips) into the cache.")
    parser.add_argument("--styles", nargs="+", metavar="SLUG", help="only these styles (default: every installed one)")
    parser.add_argument("--cache-dir", type=Path, help=f"where the pairs go (default: {default_cache_dir()})")
    parser.add_argument("--max-side", type=int, default=MIN_LONG_SIDE,
                        help=f"long side of the videos in pixels at most (default: {MIN_LONG_SIDE})")
    parser.add_argument("--max-seconds", type=float, default=4.0, help="length of the clips (default: 4 seconds)")
    parser.add_argument("--device", help="cpu, cuda, cuda:1, ... (default: CUDA when present, else CPU)")
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what happens")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        catalog = load_catalog()
        before = len(load_pairs(args.cache_dir, styles=args.styles, max_side=args.max_side,
                                max_seconds=args.max_seconds, catalog=catalog))
        with tqdm(total=1.0, disable=args.quiet, bar_format="{desc}: {percentage:3.0f}%|{bar}| [{elapsed}]") as bar:
            def progress(fraction: float, description: str) -> None:
                bar.set_description_str(description, refresh=False)
                bar.update(fraction - bar.n)

            pairs = prerender_pairs(args.cache_dir, styles=args.styles, max_side=args.max_side,
                                    max_seconds=args.max_seconds, device=args.device, progress=progress,
                                    catalog=catalog)
    except (VSTError, ValueError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; finished pairs are kept", file=sys.stderr)
        return 130
    if not pairs:
        print("No style has both variants installed, so there is nothing to render (see `python -m vst styles`).",
              file=sys.stderr)
        return 1
    cache = args.cache_dir or default_cache_dir()
    print(f"{len(pairs)} A/B pair(s) ready in {cache} ({len(pairs) - before} rendered now)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

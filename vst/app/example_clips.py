"""The bundled example clips (``examples/`` beside ``app.py``): offered under the Stylize tab's upload and in the Live
tab's clip list, each with its name and length (:func:`example_clips`), written under its thumbnail by
:func:`example_css`."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from pathlib import Path

from ..video import probe
from .stylize_jobs import video_seconds

#: The repository's ``examples/`` folder.
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
#: The example clips offered under the upload (gr.Examples shows each as a small video thumbnail).
EXAMPLE_CLIPS = [EXAMPLES / "cockatoo.mp4", EXAMPLES / "bikes.mp4", EXAMPLES / "carphone.mp4"]
#: Their names, with their lengths (:func:`example_label`), under their thumbnails and in the Live tab's clip list.
EXAMPLE_NAMES = {"cockatoo.mp4": "Cockatoo", "bikes.mp4": "Bikes", "carphone.mp4": "Car phone"}


def example_label(path: Path) -> str:
    """``Cockatoo · 5 s``: an example clip's name and its length, as probed."""
    seconds = video_seconds(probe(path))
    return EXAMPLE_NAMES.get(path.name, path.stem) + (f" · {seconds:.0f} s" if seconds else "")


@functools.cache
def example_clips() -> tuple[tuple[Path, str], ...]:
    """The bundled example clips there are, each with its label (probed once)."""
    return tuple((path, example_label(path)) for path in EXAMPLE_CLIPS if path.is_file())


def example_css(labels: Sequence[str]) -> str:
    """CSS writing each example clip's label under its thumbnail in the Stylize tab (gr.Examples shows none)."""
    return "".join(f"#examples .gallery-item:nth-of-type({i})::after "
                   f"{{ content: {json.dumps(label, ensure_ascii=False)}; }}\n"
                   for i, label in enumerate(labels, start=1))

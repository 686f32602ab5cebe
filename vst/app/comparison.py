"""What the app shows to compare the two variants: the flicker slider (HTML/CSS/JS) and the per-frame flicker data.

The slider is a ``gr.HTML`` of our own: the framewise video underneath, the compared video (the temporal model's, or
the fast network's in real-time mode) on top clipped with CSS ``clip-path`` to the right of a draggable divider, both
playing in sync. Gradio sets a ``gr.HTML`` value with
``innerHTML`` (``<script>`` tags would not run), so the behaviour lives in :data:`SLIDER_JS`, meant for the
component's ``js_on_load``: it runs once when the component mounts and listens on the component's root element
(event delegation, capturing media events), so it keeps working when a new value replaces the videos.

The videos are files served by Gradio's ``/gradio_api/file=<absolute path>`` route, which only serves files inside
the ``allowed_paths`` given to ``launch()`` (or Gradio's own cache); :func:`file_url` builds that URL.
"""

from __future__ import annotations

import html
import math
import os
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import numpy as np
import pandas as pd

from ..pipeline import RenderResult
from ..style_folder import Variant

#: Series names of the flicker plot and labels of the slider.
TEMPORAL_LABEL = "temporal (ours)"
FRAMEWISE_LABEL = "framewise"
FAST_LABEL = "fast"
FAST_FRAMEWISE_LABEL = "fast, framewise"
VARIANT_LABELS: dict[str, str] = {Variant.TEMPORAL: TEMPORAL_LABEL, Variant.FRAMEWISE: FRAMEWISE_LABEL,
                                  Variant.FAST: FAST_LABEL, Variant.FAST_FRAMEWISE: FAST_FRAMEWISE_LABEL}
#: Columns of :func:`flicker_frame`.
FLICKER_COLUMNS: tuple[str, str, str] = ("frame", "warping_error", "variant")


def file_url(path: str | os.PathLike[str]) -> str:
    """The URL under which Gradio serves ``path`` (which must lie in ``allowed_paths`` or Gradio's cache)."""
    return "/gradio_api/file=" + quote(str(Path(path).resolve()), safe="/")


def placeholder_html(message: str = "Stylize a video to compare the steady temporal model with the framewise "
                                    "baseline here.") -> str:
    """The slider's empty state: one short paragraph."""
    return f'<div class="vst-compare-empty">{html.escape(message)}</div>'


def slider_html(temporal: str | os.PathLike[str], framewise: str | os.PathLike[str], *, width: int,
                height: int, position: float = 50.0, label: str = TEMPORAL_LABEL,
                baseline_label: str = FRAMEWISE_LABEL,
                url: Callable[[str | os.PathLike[str]], str] = file_url) -> str:
    """Two synchronised videos, framewise under temporal, split at ``position`` percent from the left.

    The left part shows the framewise baseline, the right part our temporal model (or whichever network rendered
    ``temporal``: ``label`` names it, e.g. :data:`FAST_LABEL`; ``baseline_label`` names ``framewise``, e.g.
    :data:`FAST_FRAMEWISE_LABEL`). The transparent range input on top moves the divider
    (see :data:`SLIDER_JS`); ``width``/``height`` fix the aspect ratio before the videos load. ``url`` turns a path
    into the URL the page loads it from (:func:`vst.app.media.media_url` for job files: no server path in the page).
    """
    pos = f"{min(max(position, 0.0), 100.0):g}"
    under, over = html.escape(url(framewise)), html.escape(url(temporal))
    name, base = html.escape(label), html.escape(baseline_label)
    video = 'muted loop playsinline autoplay preload="auto" disablepictureinpicture'
    return (
        f'<div class="vst-compare" style="aspect-ratio: {int(width)} / {int(height)}" data-position="{pos}">'
        f'<video class="vst-under" src="{under}" {video} aria-label="{base}"></video>'
        f'<video class="vst-over" src="{over}" {video} aria-label="{name}" '
        f'style="clip-path: inset(0 0 0 {pos}%)"></video>'
        f'<div class="vst-divider" style="left: {pos}%"><span class="vst-handle">&#x2194;</span></div>'
        f'<span class="vst-label vst-label-left">{base}</span>'
        f'<span class="vst-label vst-label-right">{name}</span>'
        f'<input class="vst-range" type="range" min="0" max="100" step="0.1" value="{pos}" '
        f'aria-label="Divider position: {base} on the left, {name} on the right">'
        f"</div>"
        f'<div class="vst-compare-bar"><button type="button" class="vst-toggle">Play / pause</button>'
        f'<button type="button" class="vst-restart">Restart</button>'
        f"<span>Drag across the video to move the divider.</span></div>"
    )


#: Static files of the app (the slider's script and style sheet, the page's CSS), read once at import.
STATIC_DIR = Path(__file__).resolve().parent / "static"

#: ``js_on_load`` of the slider's ``gr.HTML``: divider dragging and play/pause/seek kept in sync (temporal leads).
SLIDER_JS = (STATIC_DIR / "slider.js").read_text(encoding="utf-8")

#: ``css_template`` of the slider's ``gr.HTML`` (Gradio scopes it to the component). No backticks or ``${``: Gradio
#: evaluates the template as a JavaScript template string.
SLIDER_CSS = (STATIC_DIR / "slider.css").read_text(encoding="utf-8")


def flicker_frame(result: RenderResult) -> pd.DataFrame:
    """Long-format warping error per frame pair: columns ``frame`` (the pair's second frame, 1 … N−1),
    ``warping_error`` (NaN at scene cuts, drawn as a gap) and ``variant`` (:data:`VARIANT_LABELS`)."""
    rows: list[dict[str, object]] = []
    for name, errors in result.warping_errors.items():
        label = VARIANT_LABELS.get(name, str(name))
        rows.extend({"frame": i + 1, "warping_error": float(e), "variant": label} for i, e in enumerate(errors))
    frame = pd.DataFrame(rows, columns=list(FLICKER_COLUMNS))
    return frame.astype({"frame": "int64", "warping_error": "float64", "variant": "string"})


def flicker_change(result: RenderResult, variant: str = Variant.TEMPORAL,
                   baseline: str = Variant.FRAMEWISE) -> float | None:
    """Relative change of the mean warping error, ``variant`` (temporal or fast) vs ``baseline`` (−0.58 means 58 %
    less flicker); ``None`` when either variant is missing or not measurable (too few frames, only scene cuts)."""
    means = result.mean_warping_error()
    temporal, framewise = means.get(variant), means.get(baseline)
    if temporal is None or framewise is None or not (math.isfinite(temporal) and math.isfinite(framewise)):
        return None
    if framewise <= 0:
        return None
    return temporal / framewise - 1.0


def flicker_reading(result: RenderResult, variant: str = Variant.TEMPORAL, baseline: str = Variant.FRAMEWISE) -> str:
    """The plot's one-line reading, e.g. ``58% less flicker than framewise`` (or ``12% more …``, ``as much …``,
    ``flicker not measurable …``)."""
    change = flicker_change(result, variant, baseline)
    if change is None:
        return "flicker not measurable (too few frames or only scene cuts)"
    percent = round(change * 100)
    than = VARIANT_LABELS.get(baseline, str(baseline))
    if percent == 0:
        return f"as much flicker as {than}"
    return f"{abs(percent)}% {'less' if percent < 0 else 'more'} flicker than {than}"


def summary_line(result: RenderResult, variant: str = Variant.TEMPORAL) -> str:
    """One line for the UI, e.g. ``flicker −58% vs framewise · 14.2 fps · 120 frames · 640×272``: the flicker of
    ``variant`` (temporal or fast) relative to the framewise baseline, and the whole render's speed."""
    change = flicker_change(result, variant)
    if change is None:
        flicker = "flicker not measurable (too few frames or only scene cuts)"
    else:
        percent = round(change * 100)
        sign = "−" if percent < 0 else ("+" if percent > 0 else "±")
        flicker = f"flicker {sign}{abs(percent)}% vs framewise"
    fps = f"{result.fps:.1f} fps" if np.isfinite(result.fps) else "fps n/a"
    return f"{flicker} · {fps} · {result.frames} frames · {result.width}×{result.height}"

